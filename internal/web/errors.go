package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error is an error a person can understand: an HTTP status, a stable code
// for programs, a message key translated for people, and per-field problems.
type Error struct {
	Status     int
	Code       string
	Key        string
	Args       []any
	Fields     *Fields
	RetryAfter time.Duration
	Err        error // the cause, logged but never shown
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%d %s", e.Status, e.Code)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// NewError builds an Error.
func NewError(status int, code, key string, args ...any) *Error {
	return &Error{Status: status, Code: code, Key: key, Args: args}
}

// Common errors. Callers may pass a more specific message key.
func BadRequest(key string, args ...any) *Error {
	return NewError(http.StatusBadRequest, "bad_request", key, args...)
}
func NotFound() *Error { return NewError(http.StatusNotFound, "not_found", "error.not_found") }
func Forbidden() *Error {
	return NewError(http.StatusForbidden, "forbidden", "error.forbidden")
}
func Unauthorized() *Error {
	return NewError(http.StatusUnauthorized, "unauthorized", "error.unauthorized")
}
func Conflict(key string, args ...any) *Error {
	return NewError(http.StatusConflict, "conflict", key, args...)
}
func TooMany(retry time.Duration) *Error {
	e := NewError(http.StatusTooManyRequests, "rate_limited", "error.rate_limited", "seconds", int(retry.Seconds()+0.999))
	e.RetryAfter = retry
	return e
}

// Invalid reports form or JSON fields that failed validation (422).
func Invalid(f *Fields) *Error {
	e := NewError(http.StatusUnprocessableEntity, "invalid", "error.invalid")
	e.Fields = f
	return e
}

// FieldError is one field's problem: a message key and its arguments.
type FieldError struct {
	Field string
	Key   string
	Args  []any
}

// Fields collects field problems in the order they were found, so that the
// error summary lists them in the order of the form.
type Fields struct {
	List []FieldError
}

// Add records a problem with field unless it already has one.
func (f *Fields) Add(field, key string, args ...any) {
	if f.Has(field) {
		return
	}
	f.List = append(f.List, FieldError{Field: field, Key: key, Args: args})
}

// Has reports whether field has a problem.
func (f *Fields) Has(field string) bool {
	if f == nil {
		return false
	}
	for _, e := range f.List {
		if e.Field == field {
			return true
		}
	}
	return false
}

// Get returns field's problem, if any.
func (f *Fields) Get(field string) (FieldError, bool) {
	if f != nil {
		for _, e := range f.List {
			if e.Field == field {
				return e, true
			}
		}
	}
	return FieldError{}, false
}

// Empty reports whether there are no problems.
func (f *Fields) Empty() bool { return f == nil || len(f.List) == 0 }

// Err returns Invalid(f) when there are problems, nil otherwise.
func (f *Fields) Err() error {
	if f.Empty() {
		return nil
	}
	return Invalid(f)
}

// AsError turns any error into an *Error; unknown errors become a 500 whose
// cause is kept for the log.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Key: "error.too_large",
			Args: []any{"kb", strconv.FormatInt(mbe.Limit/1024, 10)}, Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Key: "error.internal", Err: err}
}
