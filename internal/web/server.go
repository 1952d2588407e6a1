package web

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"mizogov/internal/i18n"
)

// Handler is an HTTP handler that returns an error instead of writing one.
type Handler func(w http.ResponseWriter, r *http.Request) error

// Permission markers for routes that need no particular grant.
const (
	Public   = ""          // anyone
	SignedIn = "@signedin" // any signed-in person
)

// Route is one entry of a package's route table.
type Route struct {
	Pattern string // method and path, as http.ServeMux takes them
	Perm    string // Public, SignedIn or a permission name
	Handler Handler
	MaxBody int64    // request body limit; default 64 KiB
	API     *APIDoc  // set on /api/ routes: feeds the OpenAPI document
	Errors  ErrorFmt // how errors are written; default by path
}

// ErrorFmt writes an error in a protocol's own format (Open311, FHIR …).
type ErrorFmt func(w http.ResponseWriter, r *http.Request, e *Error, msg string)

// Authenticator finds the user of a request (nil when anonymous). It also
// returns the name of an integration API key when one was used.
type Authenticator func(r *http.Request) (User, error)

// Server turns route tables into one http.Handler with the platform's
// middleware: request ids, logging, recovery, security headers, language,
// authentication, cross-origin protection, body limits and metrics.
type Server struct {
	Cat        *i18n.Catalog
	Render     *Renderer
	Log        *slog.Logger
	Metrics    *Metrics
	Auth       Authenticator
	TrustProxy bool
	Secure     bool // served over TLS: Secure cookies and HSTS

	mux     *http.ServeMux
	routes  []Route
	formats []prefixFormat
}

type prefixFormat struct {
	prefix string
	f      ErrorFmt
}

// FormatErrors writes every error under a path prefix in a protocol's own
// format, including those raised before a route is reached (an invalid
// bearer token, a refused cross-origin request).
func (s *Server) FormatErrors(prefix string, f ErrorFmt) {
	s.formats = append(s.formats, prefixFormat{prefix, f})
}

// Routes returns every mounted route (for the OpenAPI document and tests).
func (s *Server) Routes() []Route { return s.routes }

// Mount adds a route table.
func (s *Server) Mount(routes ...Route) {
	if s.mux == nil {
		s.mux = http.NewServeMux()
	}
	for _, rt := range routes {
		s.routes = append(s.routes, rt)
		s.mux.Handle(rt.Pattern, s.wrap(rt))
	}
}

// MountHandler adds a plain handler (static files, metrics).
func (s *Server) MountHandler(pattern string, h http.Handler) {
	if s.mux == nil {
		s.mux = http.NewServeMux()
	}
	s.mux.Handle(pattern, h)
}

func (s *Server) wrap(rt Route) http.Handler {
	limit := rt.MaxBody
	if limit == 0 {
		limit = 64 << 10
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := Info(r.Context())
		ri.Route = rt.Pattern
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		err := s.authorize(r, rt.Perm)
		if err == nil {
			err = rt.Handler(w, r)
		}
		if err != nil {
			s.WriteError(w, r, err, rt.Errors)
		}
	})
}

func (s *Server) authorize(r *http.Request, perm string) error {
	if perm == Public {
		return nil
	}
	u := UserOf(r)
	if u == nil {
		return Unauthorized()
	}
	if perm == SignedIn || u.Can(perm) {
		return nil
	}
	return Forbidden()
}

// Handler returns the complete handler with middleware.
func (s *Server) Handler() http.Handler {
	if s.mux == nil {
		s.mux = http.NewServeMux()
	}
	var h http.Handler = s.mux
	h = s.authenticate(h)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.WriteError(w, r, NewError(http.StatusForbidden, "cross_origin", "error.cross_origin"), nil)
	}))
	h = cop.Handler(h)
	h = s.language(h)
	h = s.headers(h)
	h = s.recover(h)
	h = s.observe(h)
	return h
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newRequestID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(idEncoding.EncodeToString(b))
}

// observe sets up request state, then logs and measures each request.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &RequestInfo{ID: newRequestID(), IP: s.clientIP(r), UserAgent: r.UserAgent(), Lang: i18n.EN, Secure: s.Secure || r.TLS != nil}
		w.Header().Set("X-Request-Id", ri.ID)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(WithInfo(r.Context(), ri)))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		route := ri.Route
		if route == "" {
			route = "unmatched"
		}
		if s.Metrics != nil {
			s.Metrics.observe(route, sw.status, d)
		}
		if s.Log != nil && !strings.HasPrefix(r.URL.Path, "/static/") {
			attrs := []slog.Attr{
				slog.String("id", ri.ID), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("route", route), slog.Int("status", sw.status), slog.Duration("duration", d),
				slog.String("ip", ri.IP),
			}
			if ri.User != nil {
				attrs = append(attrs, slog.Int64("person", ri.User.PersonID()))
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			s.Log.LogAttrs(r.Context(), level, "request", attrs...)
		}
	})
}

func (s *Server) clientIP(r *http.Request) string {
	if s.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(parts[len(parts)-1])); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				err := fmt.Errorf("panic: %v\n%s", v, debug.Stack())
				s.WriteError(w, r, err, nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// CSP allows only our own scripts, styles and images; no inline script, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"font-src 'self'; connect-src 'self'; media-src 'self' blob:; worker-src 'self'; manifest-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Permissions-Policy", "camera=(self), geolocation=(self), microphone=(), payment=(), usb=(), interest-cohort=()")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if Info(r.Context()).Secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// LangCookie remembers the chosen language.
const LangCookie = "lang"

func (s *Server) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := Info(r.Context())
		explicit := r.URL.Query().Get("lang")
		if i18n.Supported(explicit) {
			http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: explicit, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: ri.Secure})
		} else if c, err := r.Cookie(LangCookie); err == nil {
			explicit = c.Value
		}
		ri.Lang = i18n.Negotiate(explicit, r.Header.Get("Accept-Language"))
		w.Header().Set("Content-Language", ri.Lang)
		w.Header().Add("Vary", "Accept-Language, Cookie")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Auth != nil && !strings.HasPrefix(r.URL.Path, "/static/") {
			u, err := s.Auth(r)
			if err != nil {
				s.WriteError(w, r, err, nil)
				return
			}
			Info(r.Context()).User = u
		}
		next.ServeHTTP(w, r)
	})
}

// WantsJSON reports whether errors for r are written as JSON.
func WantsJSON(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

// WriteError writes err for a person (translated page) or a program (JSON).
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error, custom ErrorFmt) {
	e := AsError(err)
	lang := LangOf(r)
	if e.Status >= 500 {
		if s.Log != nil {
			s.Log.ErrorContext(r.Context(), "request failed", "id", Info(r.Context()).ID, "err", err)
		}
	}
	msg := s.Cat.T(lang, e.Key, e.Args...)
	if e.Status >= 500 {
		msg = s.Cat.T(lang, "error.internal_ref", "id", Info(r.Context()).ID)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(e.RetryAfter.Seconds()+0.999)))
	}
	if custom == nil {
		for _, pf := range s.formats {
			if strings.HasPrefix(r.URL.Path, pf.prefix) {
				custom = pf.f
			}
		}
	}
	if custom != nil {
		custom(w, r, e, msg)
		return
	}
	if WantsJSON(r) {
		body := map[string]any{"code": e.Code, "message": msg}
		if !e.Fields.Empty() {
			fields := map[string]string{}
			for _, f := range e.Fields.List {
				fields[f.Field] = s.Cat.T(lang, f.Key, f.Args...)
			}
			body["fields"] = fields
		}
		if e.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mizogov"`)
		}
		WriteJSON(w, e.Status, map[string]any{"error": body})
		return
	}
	if e.Status == http.StatusUnauthorized && r.Method == http.MethodGet {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if s.Render == nil {
		http.Error(w, msg, e.Status)
		return
	}
	data := map[string]any{"Status": e.Status, "Message": msg, "RequestID": Info(r.Context()).ID}
	if rerr := s.Render.Page(w, r, e.Status, "web/error.html", data); rerr != nil && s.Log != nil {
		s.Log.ErrorContext(r.Context(), "render error page", "err", rerr)
	}
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// Shutdown helps callers stop an http.Server within d.
func Shutdown(srv *http.Server, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return srv.Shutdown(ctx)
}

// NewID returns a random, URL-safe identifier (80 bits).
func NewID() string { return newRequestID() }
