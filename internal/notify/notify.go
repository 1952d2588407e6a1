// Package notify sends SMS and email. A message is first written to the
// outbox in the same transaction as the event that causes it, with a job to
// deliver it; the job renders the template for the channel and language and
// hands it to the channel, retrying with backoff until it succeeds or gives up.
package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"mizogov/internal/db"
	"mizogov/internal/jobs"
)

// Channels.
const (
	SMS   = "sms"
	Email = "email"
)

// Message is a notification to one recipient.
type Message struct {
	Channel   string // SMS or Email
	To        string // E.164 phone number or email address
	Template  string // template key, e.g. "auth.otp"
	Lang      string // en or lus
	Data      map[string]string
	SubjectID int64 // the person it is about, if known
	Sensitive bool  // scrub Data once delivered (one-time codes)
}

// Rendered is a message ready for a channel.
type Rendered struct {
	Channel    string
	To         string
	Subject    string // email only
	Body       string
	Template   string
	TemplateID string // SMS: the DLT template id registered for Template
}

// Sender delivers rendered messages on one channel.
type Sender interface {
	Send(ctx context.Context, m Rendered) error
}

// Permanent marks a delivery error that retrying cannot fix.
type Permanent struct{ Err error }

func (p Permanent) Error() string { return "permanent: " + p.Err.Error() }
func (p Permanent) Unwrap() error { return p.Err }

// Service queues and delivers notifications.
type Service struct {
	DB          *db.DB
	Jobs        *jobs.Jobs
	Log         *slog.Logger
	SMS         Sender
	Email       Sender
	Templates   *Templates
	MaxAttempts int
	Now         func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Register adds the delivery worker to the job registry.
func (s *Service) Register() {
	jobs.Register(s.Jobs, &deliverWorker{s: s})
	jobs.Register(s.Jobs, &deliverBatchWorker{s: s})
}

// Enqueue writes m to the outbox and queues its delivery, inside tx.
func (s *Service) Enqueue(ctx context.Context, tx *db.Tx, m Message) (int64, error) {
	id, err := s.outbox(ctx, tx, m)
	if err != nil {
		return 0, err
	}
	if err := s.Jobs.Insert(ctx, tx, deliverArgs{OutboxID: id}, s.insertOpts()); err != nil {
		return 0, err
	}
	return id, nil
}

// EnqueueAll writes several messages to the outbox and queues one job that
// delivers them all, inside tx: for work that commits many events at once
// (a batch of bookings), so that delivery costs the database a few
// transactions per batch rather than a few per message.
func (s *Service) EnqueueAll(ctx context.Context, tx *db.Tx, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		id, err := s.outbox(ctx, tx, m)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	return s.Jobs.Insert(ctx, tx, deliverBatchArgs{OutboxIDs: ids}, s.insertOpts())
}

// EnqueueAtCommit writes messages to the outbox now and queues their
// delivery in one job per transaction, inserted just before tx commits
// (db.Tx.AtCommit): under group commit, every message of a batch of
// filings shares one job rather than one each. A message refused here
// (unknown channel or template) fails only the caller's work.
func (s *Service) EnqueueAtCommit(ctx context.Context, tx *db.Tx, msgs []Message) error {
	for _, m := range msgs {
		id, err := s.outbox(ctx, tx, m)
		if err != nil {
			return err
		}
		tx.AtCommit("notify.deliver", id, s.flushDeliveries)
	}
	return nil
}

// deliveriesPerJob bounds the messages one delivery job sends in a row.
const deliveriesPerJob = 50

func (s *Service) flushDeliveries(ctx context.Context, tx *db.Tx, items []any) error {
	for len(items) > 0 {
		n := min(len(items), deliveriesPerJob)
		ids := make([]int64, n)
		for i, it := range items[:n] {
			ids[i] = it.(int64)
		}
		items = items[n:]
		if err := s.Jobs.Insert(ctx, tx, deliverBatchArgs{OutboxIDs: ids}, s.insertOpts()); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) insertOpts() *river.InsertOpts {
	maxAttempts := s.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = 10
	}
	return &river.InsertOpts{MaxAttempts: maxAttempts}
}

// outbox checks m and writes it to the outbox.
func (s *Service) outbox(ctx context.Context, tx *db.Tx, m Message) (int64, error) {
	if m.Channel != SMS && m.Channel != Email {
		return 0, fmt.Errorf("notify: unknown channel %q", m.Channel)
	}
	if !s.Templates.Has(m.Template, m.Channel, m.Lang) {
		return 0, fmt.Errorf("notify: no %s template %q in %q", m.Channel, m.Template, m.Lang)
	}
	data, err := json.Marshal(m.Data)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO outbox (channel, recipient, template, lang, data, subject_id, sensitive, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id`,
		m.Channel, m.To, m.Template, m.Lang, string(data), nullID(m.SubjectID), m.Sensitive, db.Time(s.now())).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	return id, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

type deliverArgs struct {
	OutboxID int64 `json:"outbox_id"`
}

func (deliverArgs) Kind() string { return "notify_deliver" }

type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	s *Service
}

// Work delivers one outbox message.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	o, err := w.s.deliver(ctx, job.Args.OutboxID, job.Attempt >= job.MaxAttempts)
	if err != nil {
		return err
	}
	// Outcomes are written through group commit: many deliveries finishing
	// together share one transaction with the requests that queued them.
	if err := w.s.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error { return w.s.record(ctx, tx, o) }); err != nil {
		return err
	}
	return o.jobResult()
}

// deliverBatchArgs delivers the messages of one event that made many (a
// batch of bookings): one job instead of one per message.
type deliverBatchArgs struct {
	OutboxIDs []int64 `json:"outbox_ids"`
}

func (deliverBatchArgs) Kind() string { return "notify_deliver_batch" }

type deliverBatchWorker struct {
	river.WorkerDefaults[deliverBatchArgs]
	s *Service
}

// Work delivers every message of the batch still pending, records the
// outcomes in one transaction, and asks for a retry if any can be retried
// (the next attempt skips those already sent).
func (w *deliverBatchWorker) Work(ctx context.Context, job *river.Job[deliverBatchArgs]) error {
	s := w.s
	var outs []outcome
	var retry error
	for _, id := range job.Args.OutboxIDs {
		o, err := s.deliver(ctx, id, job.Attempt >= job.MaxAttempts)
		if err != nil {
			return err
		}
		if o.status == "" {
			continue
		}
		if o.retry != nil {
			retry = o.retry
		}
		outs = append(outs, o)
	}
	err := s.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		for _, o := range outs {
			if err := s.record(ctx, tx, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return retry
}

// outcome is what one delivery attempt came to.
type outcome struct {
	id     int64
	status string // "sent", "failed" (for good), "pending" (try again), or "" (nothing to do)
	errMsg string
	scrub  bool
	retry  error // the send error, when the message will be tried again
	cancel error // the send error, when it never will
}

func (o outcome) jobResult() error {
	switch {
	case o.cancel != nil:
		return river.JobCancel(o.cancel)
	case o.retry != nil:
		return o.retry
	}
	return nil
}

// deliver renders and sends one outbox message and says what happened;
// the caller records it. A message no longer pending is left alone.
func (s *Service) deliver(ctx context.Context, id int64, lastAttempt bool) (outcome, error) {
	var m Message
	var status, data string
	err := s.DB.R().QueryRowContext(ctx, `SELECT channel, recipient, template, lang, data, sensitive, status FROM outbox WHERE id = $1`,
		id).Scan(&m.Channel, &m.To, &m.Template, &m.Lang, &data, &m.Sensitive, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return outcome{id: id, cancel: fmt.Errorf("outbox %d is gone", id)}, nil
	}
	if err != nil {
		return outcome{}, err
	}
	if status != "pending" {
		return outcome{id: id}, nil
	}
	if err := json.Unmarshal([]byte(data), &m.Data); err != nil {
		return outcome{id: id, status: "failed", errMsg: err.Error()}, nil
	}
	r, err := s.Templates.Render(m)
	if err != nil {
		return outcome{id: id, status: "failed", errMsg: err.Error()}, nil
	}
	sender := s.SMS
	if m.Channel == Email {
		sender = s.Email
	}
	sendErr := sender.Send(ctx, r)
	if sendErr == nil {
		return outcome{id: id, status: "sent", scrub: m.Sensitive}, nil
	}
	var perm Permanent
	if errors.As(sendErr, &perm) || lastAttempt {
		s.Log.Error("notification failed", "outbox", id, "channel", m.Channel, "template", m.Template, "err", sendErr)
		return outcome{id: id, status: "failed", errMsg: sendErr.Error(), scrub: m.Sensitive, cancel: sendErr}, nil
	}
	return outcome{id: id, status: "pending", errMsg: sendErr.Error(), retry: sendErr}, nil
}

// record writes an outcome to the outbox.
func (s *Service) record(ctx context.Context, q db.Querier, o outcome) error {
	switch o.status {
	case "":
		return nil
	case "pending":
		_, err := q.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, o.id, truncate(o.errMsg, 500))
		return err
	}
	query := `UPDATE outbox SET status = $2, attempts = attempts + 1, last_error = $3, sent_at = $4 WHERE id = $1`
	if o.scrub {
		query = `UPDATE outbox SET status = $2, attempts = attempts + 1, last_error = $3, sent_at = $4, data = '{}' WHERE id = $1`
	}
	var sentAt any
	if o.status == "sent" {
		sentAt = db.Time(s.now())
	}
	_, err := q.ExecContext(ctx, query, o.id, o.status, truncate(o.errMsg, 500), sentAt)
	return err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Counts reports outbox messages by status.
func (s *Service) Counts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{"pending": 0, "sent": 0, "failed": 0}
	rows, err := s.DB.R().QueryContext(ctx, `SELECT status, COUNT(*) FROM outbox GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// Console prints messages to the log instead of sending them: the default,
// so that a tester can read one-time codes from the server's output.
type Console struct{ Log *slog.Logger }

// Send logs the message.
func (c Console) Send(ctx context.Context, m Rendered) error {
	c.Log.Info("notification (console channel)", "channel", m.Channel, "to", m.To, "subject", m.Subject, "body", m.Body)
	return nil
}

// EnqueueFor sends template to a person on every channel they can be
// reached on (SMS to their phone, email to their address) for which the
// template exists, in their language. It returns how many were queued.
// Their delivery shares one job with the transaction's other messages
// queued this way (EnqueueAtCommit): a group-commit batch of filings, or a
// session cancelled with all its bookings, costs one job, not one each.
func (s *Service) EnqueueFor(ctx context.Context, tx *db.Tx, personID int64, template string, data map[string]string) (int, error) {
	msgs, err := s.MessagesFor(ctx, tx, personID, template, data)
	if err != nil {
		return 0, err
	}
	if err := s.EnqueueAtCommit(ctx, tx, msgs); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

// MessagesFor builds, without queueing them, the messages EnqueueFor would
// send (for EnqueueAll).
func (s *Service) MessagesFor(ctx context.Context, q db.Querier, personID int64, template string, data map[string]string) ([]Message, error) {
	var phone, email sql.NullString
	var lang string
	err := q.QueryRowContext(ctx, `SELECT phone, email, lang FROM people WHERE id = $1`, personID).Scan(&phone, &email, &lang)
	if err != nil {
		return nil, fmt.Errorf("notify person %d: %w", personID, err)
	}
	return s.MessagesTo(personID, phone.String, email.String, lang, template, data), nil
}

// MessagesTo builds the messages for a person whose phone, email and
// language the caller has already read ("" for a missing one).
func (s *Service) MessagesTo(personID int64, phone, email, lang, template string, data map[string]string) []Message {
	var out []Message
	for _, c := range []struct{ channel, to string }{{SMS, phone}, {Email, email}} {
		if c.to == "" || !s.Templates.Has(template, c.channel, lang) {
			continue
		}
		out = append(out, Message{Channel: c.channel, To: c.to, Template: template, Lang: lang, Data: data, SubjectID: personID})
	}
	return out
}
