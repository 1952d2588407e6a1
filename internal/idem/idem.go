// Package idem makes POSTs that create something safe to retry: a request
// carrying an Idempotency-Key (header, or a hidden form field that a page
// puts in its form) is carried out once, and a repeat gets the first
// answer again. The key is recorded in the same transaction as the change,
// so a change and its key commit together or not at all.
//
// It follows draft-ietf-httpapi-idempotency-key-header: the same key with a
// different request is refused (422); keys are scoped to their caller.
package idem

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/web"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// FormField is the hidden form field that carries the key from a page.
const FormField = "idempotency_key"

// Response is what was answered the first time.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Key is one request's idempotency key in its scope.
type Key struct {
	Scope       string // who asked: "p:<person id>", "k:<api key>", or "ip:<address>"
	Value       string
	Fingerprint string // hash of what was asked (method, path, body)
}

// FromRequest reads the key of r (header first, then form field) and
// fingerprints the request with body. ok is false when r has no key.
func FromRequest(r *http.Request, body []byte) (Key, bool, error) {
	v := strings.TrimSpace(r.Header.Get(Header))
	if v == "" && r.Method == http.MethodPost {
		v = strings.TrimSpace(r.PostFormValue(FormField))
	}
	if v == "" {
		return Key{}, false, nil
	}
	// RFC 8941 sf-string: quotes are allowed around the value.
	v = strings.Trim(v, `"`)
	if len(v) > 255 || strings.ContainsFunc(v, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		e := web.BadRequest("idem.key_invalid")
		e.Code = "invalid_idempotency_key"
		return Key{}, false, e
	}
	ri := web.Info(r.Context())
	scope := "ip:" + ri.IP
	if ri.User != nil {
		scope = "p:" + itoa(ri.User.PersonID())
	} else if ri.APIKey != "" {
		scope = "k:" + ri.APIKey
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	return Key{Scope: scope, Value: v, Fingerprint: hex.EncodeToString(h.Sum(nil))}, true, nil
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// ErrMismatch is returned when a key is reused for a different request.
var ErrMismatch = &web.Error{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Key: "idem.key_reused"}

// Lookup returns the stored response for k inside tx, if the request was
// already carried out. Call it first in the transaction that makes the
// change; on PostgreSQL a concurrent twin waits on the key row until the
// first commits, on SQLite the single writer orders them. Called on a
// reader outside a transaction, it answers a repeat of a committed request
// without taking the writer.
func Lookup(ctx context.Context, tx db.Querier, k Key) (*Response, error) {
	var fp, ct, body string
	var status int
	err := tx.QueryRowContext(ctx, `SELECT fingerprint, status, content_type, body FROM idempotency_keys WHERE scope = $1 AND key = $2`,
		k.Scope, k.Value).Scan(&fp, &status, &ct, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if fp != k.Fingerprint {
		return nil, ErrMismatch
	}
	return &Response{Status: status, ContentType: ct, Body: []byte(body)}, nil
}

// Save records the response to k inside tx. If a concurrent twin saved it
// first, the unique key makes this transaction fail, and a retry of the
// whole request replays the twin's answer.
func Save(ctx context.Context, tx *db.Tx, k Key, r Response, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, fingerprint, status, content_type, body, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.Scope, k.Value, k.Fingerprint, r.Status, r.ContentType, string(r.Body), db.Time(now))
	if db.IsUnique(err) {
		return web.Conflict("idem.in_progress")
	}
	return err
}

// Replay writes a stored response.
func Replay(w http.ResponseWriter, r *Response) {
	if r.ContentType != "" {
		w.Header().Set("Content-Type", r.ContentType)
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(r.Status)
	w.Write(r.Body)
}

// NewFormKey returns a fresh key for a page to put in its form, so that a
// double click or a resubmitted page is carried out once.
func NewFormKey() string { return web.NewID() }
