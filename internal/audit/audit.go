// Package audit keeps the append-only, hash-chained log of every state change
// (and of reads of personal data). An entry is written in the same
// transaction as the change it records, so neither can exist without the
// other. Each entry's hash covers its fields and the previous entry's hash;
// Verify recomputes the chain and names the first entry that does not fit.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/web"
)

// Entry is one record of the log.
type Entry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	ActorID    int64     `json:"actor_id,omitempty"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	ObjectType string    `json:"object_type"`
	ObjectID   string    `json:"object_id"`
	SubjectID  int64     `json:"subject_id,omitempty"`
	Summary    string    `json:"summary"`
	RequestID  string    `json:"request_id"`
	IP         string    `json:"ip"`
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

// Event is what a caller records.
type Event struct {
	Action     string // verb.noun style, e.g. "grant.add", "person.read"
	ObjectType string
	ObjectID   string
	SubjectID  int64 // the person whose data this is, if any (feeds "my data access")
	Summary    any   // what changed; a string, or a value encoded as JSON
	// Actor overrides the actor taken from the request (for the CLI and jobs).
	Actor *Actor
}

// Actor is who did it.
type Actor struct {
	ID        int64
	Label     string
	RequestID string
	IP        string
}

// System is the actor of background jobs and migrations.
func System(label string) *Actor { return &Actor{Label: "system:" + label} }

// Log appends entries. Now is the clock (time.Now when nil).
type Log struct {
	Now func() time.Time
}

func (l *Log) now() time.Time {
	if l != nil && l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Querier is a transaction or connection that can append.
type Querier = db.Querier

// Append writes ev as the next entry of the chain inside tx.
func (l *Log) Append(ctx context.Context, tx Querier, ev Event) (Entry, error) {
	e := Entry{At: db.Time(l.now()), Action: ev.Action, ObjectType: ev.ObjectType, ObjectID: ev.ObjectID, SubjectID: ev.SubjectID}
	if e.Action == "" || e.ObjectType == "" {
		return e, errors.New("audit: action and object type are required")
	}
	a := ev.Actor
	if a == nil {
		a = ActorOf(ctx)
	}
	e.ActorID, e.Actor, e.RequestID, e.IP = a.ID, a.Label, a.RequestID, a.IP
	switch s := ev.Summary.(type) {
	case nil:
	case string:
		e.Summary = s
	default:
		b, err := json.Marshal(s)
		if err != nil {
			return e, fmt.Errorf("audit summary: %w", err)
		}
		e.Summary = string(b)
	}
	// Taking the head row serialises appenders (a row lock on PostgreSQL,
	// the write lock on SQLite), so the chain never forks.
	err := tx.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).Scan(&e.ID, &e.PrevHash)
	if err != nil {
		return e, fmt.Errorf("audit head: %w", err)
	}
	e.Hash = Hash(e)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log
		(id, at, actor_id, actor, action, object_type, object_id, subject_id, summary, request_id, ip, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.ID, e.At, nullID(e.ActorID), e.Actor, e.Action, e.ObjectType, e.ObjectID, nullID(e.SubjectID),
		e.Summary, e.RequestID, e.IP, e.PrevHash, e.Hash)
	if err != nil {
		return e, fmt.Errorf("audit insert: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, e.Hash); err != nil {
		return e, fmt.Errorf("audit head: %w", err)
	}
	return e, nil
}

// Read records that someone looked at personal data, in a transaction of its own.
func (l *Log) Read(ctx context.Context, d *db.DB, ev Event) error {
	return d.Tx(ctx, func(tx *db.Tx) error {
		_, err := l.Append(ctx, tx, ev)
		return err
	})
}

// ActorOf takes the actor from the request in ctx.
func ActorOf(ctx context.Context) *Actor {
	ri := web.Info(ctx)
	a := &Actor{RequestID: ri.ID, IP: ri.IP, Label: "anonymous"}
	if ri.User != nil {
		a.ID = ri.User.PersonID()
		a.Label = ri.User.DisplayName()
	} else if ri.APIKey != "" {
		a.Label = "apikey:" + ri.APIKey
	}
	return a
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Hash is the entry's chained hash: SHA-256 over its length-prefixed fields
// and the previous hash.
func Hash(e Entry) string {
	h := sha256.New()
	var buf []byte
	field := func(s string) {
		buf = strconv.AppendInt(buf[:0], int64(len(s)), 10)
		buf = append(buf, ':')
		buf = append(buf, s...)
		buf = append(buf, '|')
		h.Write(buf)
	}
	num := func(n int64) { field(strconv.FormatInt(n, 10)) }
	num(e.ID)
	num(e.At.UTC().UnixMicro())
	num(e.ActorID)
	field(e.Actor)
	field(e.Action)
	field(e.ObjectType)
	field(e.ObjectID)
	num(e.SubjectID)
	field(e.Summary)
	field(e.RequestID)
	field(e.IP)
	field(e.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyError names the first entry that breaks the chain.
type VerifyError struct {
	ID     int64
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("audit log entry %d: %s", e.ID, e.Reason)
}

// Verify walks the whole chain. It returns the number of entries checked and
// a *VerifyError for the first edited, missing, inserted or reordered entry.
// The log is read in ranges, one per CPU, checked side by side, and the
// ranges' ends are then checked against each other.
func Verify(ctx context.Context, d *db.DB) (int64, error) {
	return verifyIn(ctx, d, runtime.NumCPU(), 1000)
}

// verifyParts splits the chain into exactly parts ranges (for tests).
func verifyParts(ctx context.Context, d *db.DB, parts int) (int64, error) {
	return verifyIn(ctx, d, parts, 1)
}

func verifyIn(ctx context.Context, d *db.DB, cpus int, minRange int64) (int64, error) {
	var last sql.NullInt64
	if err := d.R().QueryRowContext(ctx, `SELECT MAX(id) FROM audit_log`).Scan(&last); err != nil {
		return 0, err
	}
	var seq int64
	var head string
	if err := d.R().QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &head); err != nil {
		return 0, err
	}
	top := max(last.Int64, seq)
	parts := int64(cpus)
	if top < minRange*parts {
		parts = max(1, top/minRange)
	}
	size := (top + parts - 1) / parts
	results := make([]rangeResult, parts)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo, hi := i*size, min((i+1)*size, top)
			results[i] = verifyRange(ctx, d, lo, hi)
			if results[i].n == 0 && results[i].err == nil && lo < hi {
				results[i].err = &VerifyError{ID: lo + 1, Reason: "missing"}
			}
		}()
	}
	wg.Wait()
	var n int64
	prev := ""
	for _, r := range results {
		if r.err != nil {
			return n + r.n, r.err
		}
		if r.n > 0 && r.firstPrev != prev {
			return n, &VerifyError{ID: r.firstID, Reason: "does not follow the entry before it (deleted, inserted or reordered)"}
		}
		if r.n > 0 {
			prev = r.lastHash
		}
		n += r.n
	}
	if seq != n || head != prev {
		return n, &VerifyError{ID: n + 1, Reason: fmt.Sprintf("missing: the log should end at entry %d", seq)}
	}
	return n, nil
}

type rangeResult struct {
	n         int64
	firstID   int64
	firstPrev string
	lastHash  string
	err       error
}

// verifyRange checks entries lo < id <= hi: consecutive ids, each hash
// right, each linked to the one before (within the range).
func verifyRange(ctx context.Context, d *db.DB, lo, hi int64) rangeResult {
	var r rangeResult
	rows, err := d.R().QueryContext(ctx, `SELECT id, at, actor_id, actor, action, object_type, object_id,
		subject_id, summary, request_id, ip, prev_hash, hash FROM audit_log WHERE id > $1 AND id <= $2 ORDER BY id`, lo, hi)
	if err != nil {
		r.err = err
		return r
	}
	defer rows.Close()
	want := lo + 1
	prev := ""
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			r.err = err
			return r
		}
		switch {
		case e.ID != want:
			r.err = &VerifyError{ID: want, Reason: fmt.Sprintf("missing (the next entry is %d)", e.ID)}
			return r
		case r.n > 0 && e.PrevHash != prev:
			r.err = &VerifyError{ID: e.ID, Reason: "does not follow the entry before it (deleted, inserted or reordered)"}
			return r
		case Hash(e) != e.Hash:
			r.err = &VerifyError{ID: e.ID, Reason: "was changed after it was written"}
			return r
		}
		if r.n == 0 {
			r.firstID, r.firstPrev = e.ID, e.PrevHash
		}
		prev = e.Hash
		want++
		r.n++
	}
	r.lastHash = prev
	r.err = rows.Err()
	return r
}

// Head returns the newest entry number and hash. Recording it somewhere the
// database's administrators cannot write (a signed letter, another
// department) lets a later Verify prove that nothing was rewritten.
func Head(ctx context.Context, d *db.DB) (int64, string, error) {
	var seq int64
	var hash string
	err := d.R().QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	return seq, hash, err
}

type scanner interface{ Scan(...any) error }

func scan(s scanner) (Entry, error) {
	var e Entry
	var actor, subject sql.NullInt64
	err := s.Scan(&e.ID, &e.At, &actor, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &subject,
		&e.Summary, &e.RequestID, &e.IP, &e.PrevHash, &e.Hash)
	e.ActorID, e.SubjectID = actor.Int64, subject.Int64
	return e, err
}

// Query filters the log for browsing.
type Query struct {
	ActorID    int64
	SubjectID  int64
	Action     string // prefix
	ObjectType string
	ObjectID   string
	From, To   time.Time
	Before     int64 // keyset pagination: entries with id < Before
	Limit      int
}

// List returns entries newest first.
func List(ctx context.Context, d *db.DB, q Query) ([]Entry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.ActorID != 0 {
		add("actor_id = ?", q.ActorID)
	}
	if q.SubjectID != 0 {
		add("subject_id = ?", q.SubjectID)
	}
	if q.Action != "" {
		add(`action LIKE ? ESCAPE '\'`, db.Like(q.Action)+"%")
	}
	if q.ObjectType != "" {
		add("object_type = ?", q.ObjectType)
	}
	if q.ObjectID != "" {
		add("object_id = ?", q.ObjectID)
	}
	if !q.From.IsZero() {
		add("at >= ?", db.Time(q.From))
	}
	if !q.To.IsZero() {
		add("at < ?", db.Time(q.To))
	}
	if q.Before > 0 {
		add("id < ?", q.Before)
	}
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 50
	}
	sqlText := `SELECT id, at, actor_id, actor, action, object_type, object_id, subject_id, summary,
		request_id, ip, prev_hash, hash FROM audit_log`
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, q.Limit)
	sqlText += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := d.R().QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
