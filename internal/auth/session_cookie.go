package auth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/web"
)

// cookieName is __Host- prefixed behind TLS, so that no sub-domain or plain
// HTTP page can set or overwrite it.
func cookieName(secure bool) string {
	if secure {
		return "__Host-mzsession"
	}
	return "mzsession"
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	secure := web.Info(r.Context()).Secure
	http.SetCookie(w, &http.Cookie{Name: cookieName(secure), Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	secure := web.Info(r.Context()).Secure
	http.SetCookie(w, &http.Cookie{Name: cookieName(secure), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// Authenticator is the web layer's hook: a bearer token (API clients) or a
// session cookie (browsers). An invalid bearer token is refused outright; an
// invalid cookie just means "not signed in".
func (s *Service) Authenticator(r *http.Request) (web.User, error) {
	ctx := r.Context()
	if tok, present := bearer(r); present {
		p, err := s.Authenticate(ctx, tok)
		if errors.Is(err, db.ErrNotFound) {
			e := web.Unauthorized()
			e.Code, e.Key = "invalid_token", "error.invalid_token"
			return nil, e
		}
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	c, err := r.Cookie(cookieName(web.Info(ctx).Secure))
	if err != nil {
		return nil, nil
	}
	p, err := s.Authenticate(ctx, c.Value)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// PrincipalOf returns the signed-in principal of r, or nil.
func PrincipalOf(r *http.Request) *Principal {
	p, _ := web.UserOf(r).(*Principal)
	return p
}

// safeNext keeps redirects after sign-in on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/account"
	}
	return next
}
