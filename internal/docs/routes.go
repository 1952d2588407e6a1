package docs

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"mizogov/internal/web"
)

//go:embed i18n/*.json
var messagesFS embed.FS

// Messages are the docs package's messages.
func Messages() fs.FS { sub, _ := fs.Sub(messagesFS, "i18n"); return sub }

// PermKeys allows listing and rotating the signing keys.
const PermKeys = "docs.keys"

// Routes lists the docs routes: the public key set, public verification,
// the revocation list, and the administrators' key page.
func (s *Service) Routes() []web.Route {
	return []web.Route{
		{Pattern: "GET /.well-known/jwks.json", Perm: web.Public, Handler: s.jwks},
		{Pattern: "GET /api/v1/docs/jwks", Perm: web.Public, Handler: s.jwks, API: &web.APIDoc{Tag: "docs",
			Summary: "The public keys that sign documents, as a JWK Set (same as /.well-known/jwks.json)", Response: JWKS{}}},
		{Pattern: "POST /api/v1/docs/verify", Perm: web.Public, Handler: s.apiVerify, API: &web.APIDoc{Tag: "docs",
			Summary: "Check a signed document (compact JWS): signature, key, revocation", Request: VerifyRequest{}, Response: VerifyResponse{}}},
		{Pattern: "GET /api/v1/docs/revocations", Perm: web.Public, Handler: s.apiRevocations, API: &web.APIDoc{Tag: "docs",
			Summary: "Revoked documents of a type, for verifiers that work offline",
			Query: []web.Param{{Name: "type", Required: true, Description: "document type, e.g. ILP"},
				{Name: "since", Description: "only revocations after this time (RFC 3339)"}},
			Response: RevocationList{}}},
		{Pattern: "GET /api/v1/docs/keys", Perm: PermKeys, Handler: s.apiKeys, API: &web.APIDoc{Tag: "docs",
			Summary: "Signing keys (public halves), newest first", Response: []Key{}}},
		{Pattern: "POST /api/v1/docs/keys/rotate", Perm: PermKeys, Handler: s.apiRotate, API: &web.APIDoc{Tag: "docs",
			Summary: "Make a new signing key; the old one stays published", Response: RotateResponse{}}},
		{Pattern: "GET /admin/docs/keys", Perm: PermKeys, Handler: s.keysPage},
		{Pattern: "POST /admin/docs/keys/rotate", Perm: PermKeys, Handler: s.rotatePage},
	}
}

func (s *Service) jwks(w http.ResponseWriter, r *http.Request) error {
	ks, err := s.KeySet(r.Context())
	if err != nil {
		return err
	}
	// Any verifier, on any site, may fetch the keys.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	return writeCached(w, "application/jwk-set+json", 300, ks.JWKS())
}

// writeCached writes public JSON that caches may keep for maxAge seconds.
func writeCached(w http.ResponseWriter, ctype string, maxAge int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(maxAge))
	_, err = w.Write(append(b, '\n'))
	return err
}

// VerifyRequest carries a token to check.
type VerifyRequest struct {
	Token string `json:"token" doc:"compact JWS, as held in the QR code"`
}

// VerifyResponse says whether a token is genuine and what it says.
type VerifyResponse struct {
	Valid   bool           `json:"valid" doc:"signature good, key known, not revoked"`
	Reason  string         `json:"reason,omitempty" enum:"truncated,malformed,algorithm,unknown_key,signature,revoked"`
	Kid     string         `json:"kid,omitempty"`
	Claims  map[string]any `json:"claims,omitempty"`
	Revoked *time.Time     `json:"revoked_at,omitempty"`
}

// Reason names a verification error in the words of the API.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrTruncated):
		return "truncated"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrAlgorithm):
		return "algorithm"
	case errors.Is(err, ErrUnknownKey):
		return "unknown_key"
	case errors.Is(err, ErrSignature):
		return "signature"
	}
	return ""
}

func (s *Service) apiVerify(w http.ResponseWriter, r *http.Request) error {
	var req VerifyRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Token == "" || len(req.Token) > 8192 {
		f := &web.Fields{}
		f.Add("token", "docs.token_required")
		return f.Err()
	}
	v, err := s.Verify(r.Context(), req.Token)
	if reason := Reason(err); reason != "" {
		web.WriteJSON(w, http.StatusOK, VerifyResponse{Reason: reason})
		return nil
	}
	if err != nil {
		return err
	}
	out := VerifyResponse{Valid: true, Kid: v.Header.Kid}
	if err := v.Claims(&out.Claims); err != nil {
		web.WriteJSON(w, http.StatusOK, VerifyResponse{Reason: "malformed"})
		return nil
	}
	if jti, _ := out.Claims["jti"].(string); jti != "" {
		rec, err := s.Lookup(r.Context(), s.DB.R(), jti)
		if err == nil && rec.RevokedAt != nil {
			out.Valid, out.Reason, out.Revoked = false, "revoked", rec.RevokedAt
		}
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// RevocationList is the list a verifier caches.
type RevocationList struct {
	Type    string       `json:"type"`
	AsOf    time.Time    `json:"as_of"`
	Revoked []Revocation `json:"revoked"`
}

func (s *Service) apiRevocations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	typ := q.Get("type")
	f := &web.Fields{}
	if len(typ) < 2 || len(typ) > 16 {
		f.Add("type", "docs.type_required")
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			f.Add("since", "docs.since_invalid")
		}
		since = t
	}
	if err := f.Err(); err != nil {
		return err
	}
	now := s.Now()
	list, err := s.Revocations(r.Context(), typ, since)
	if err != nil {
		return err
	}
	return writeCached(w, "application/json", 60, RevocationList{Type: typ, AsOf: now.UTC(), Revoked: list})
}

func (s *Service) apiKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Keys(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, keys)
	return nil
}

// RotateResponse names the new signing key.
type RotateResponse struct {
	Kid string `json:"kid"`
}

func (s *Service) apiRotate(w http.ResponseWriter, r *http.Request) error {
	kid, err := s.Rotate(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, RotateResponse{Kid: kid})
	return nil
}

type pageData struct {
	Keys    []Key
	Rotated string
}

func (s *Service) keysPage(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Keys(r.Context())
	if err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "docs/keys.html", pageData{Keys: keys, Rotated: r.URL.Query().Get("rotated")})
}

func (s *Service) rotatePage(w http.ResponseWriter, r *http.Request) error {
	kid, err := s.Rotate(r.Context())
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/docs/keys?rotated="+kid, http.StatusSeeOther)
	return nil
}
