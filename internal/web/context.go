package web

import (
	"context"
	"net/http"
)

// User is the signed-in person as the web layer sees them. The auth package
// provides the implementation.
type User interface {
	PersonID() int64
	DisplayName() string
	IsStaff() bool
	// Can reports whether any of the user's grants carries perm.
	Can(perm string) bool
}

// RequestInfo is shared, mutable request state: set by the outer middleware,
// filled in by inner handlers, read back for logs and metrics.
type RequestInfo struct {
	ID        string
	IP        string
	UserAgent string
	Lang      string
	Route     string
	User      User
	Secure    bool
	APIKey    string // name of the integration key used, if any
}

type infoKey struct{}

// Info returns the request's shared state; it is never nil inside the server.
func Info(ctx context.Context) *RequestInfo {
	if ri, ok := ctx.Value(infoKey{}).(*RequestInfo); ok {
		return ri
	}
	return &RequestInfo{Lang: "en"}
}

// WithInfo attaches request state to ctx.
func WithInfo(ctx context.Context, ri *RequestInfo) context.Context {
	return context.WithValue(ctx, infoKey{}, ri)
}

// UserOf returns the signed-in user of the request, or nil.
func UserOf(r *http.Request) User { return Info(r.Context()).User }

// LangOf returns the request's language.
func LangOf(r *http.Request) string { return Info(r.Context()).Lang }
