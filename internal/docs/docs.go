// Package docs issues documents that anyone can check: a payload signed as
// a compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037), whose header
// names the signing key (kid). Public keys are published as a JWK Set at
// /.well-known/jwks.json; private keys live in the database, sealed with a
// key derived from the installation's master secret. Keys rotate: a new key
// signs from then on, and the old ones stay published, so documents they
// signed still verify. Issued documents are recorded so that they can be
// revoked, and the revocations are published for verifiers that work offline.
//
// It also renders documents for people: a QR code of the token (PNG), a
// printable A4 page (HTML) and a PDF with a photo and the QR code.
package docs

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/secret"
	"mizogov/internal/web"
)

// Service signs, records and verifies documents.
type Service struct {
	DB     *db.DB
	Audit  *audit.Log
	Now    func() time.Time
	Issuer string // the "iss" claim of issued documents
	Render *web.Renderer

	seal []byte // AES-256 key that seals private keys at rest

	mu        sync.RWMutex
	signer    *signingKey
	signerAt  time.Time // when signer was read from the database
	keys      *KeySet
	keysAt    time.Time
	refreshAt time.Time // last reload forced by an unknown kid
}

type signingKey struct {
	kid  string
	priv ed25519.PrivateKey
}

// How long cached keys are trusted before the database is asked again. A
// key rotated on another node is picked up within this time; until then the
// old key (still published) goes on signing.
const cacheFor = 30 * time.Second

// New returns the service, creating the first signing key if there is none.
func New(ctx context.Context, d *db.DB, m secret.Master, log *audit.Log, now func() time.Time) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	s := &Service{DB: d, Audit: log, Now: now, Issuer: "mizogov", seal: m.Derive("docs/signing-keys")}
	if _, err := s.activeKey(ctx); errors.Is(err, db.ErrNotFound) {
		if err := d.Tx(ctx, func(tx *db.Tx) error {
			_, err := s.createKey(ctx, tx, false)
			return err
		}); err != nil {
			return nil, fmt.Errorf("docs: first signing key: %w", err)
		}
	} else if err != nil {
		return nil, err
	}
	if _, err := s.KeySet(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Key describes a signing key (never its private half).
type Key struct {
	Kid       string     `json:"kid"`
	PublicKey string     `json:"x"`
	Signing   bool       `json:"signing"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
	Documents int64      `json:"documents"`
}

// createKey makes a fresh key pair and stores it as the signing key. With
// rotate, the current signing key is retired in the same transaction.
func (s *Service) createKey(ctx context.Context, tx *db.Tx, rotate bool) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	kid := Thumbprint(pub)[:16]
	sealed, err := secret.Seal(s.seal, priv.Seed(), []byte("docs-key:"+kid))
	if err != nil {
		return "", err
	}
	now := db.Time(s.Now())
	if rotate {
		if _, err := tx.ExecContext(ctx, `UPDATE doc_keys SET signing = NULL, retired_at = $1 WHERE signing = 1`, now); err != nil {
			return "", err
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO doc_keys (kid, alg, public_key, private_sealed, signing, created_at)
		VALUES ($1, 'EdDSA', $2, $3, 1, $4) ON CONFLICT (signing) DO NOTHING`, kid, b64.EncodeToString(pub), sealed, now)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", nil // another node created the first key at the same moment
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "docs.key_create", ObjectType: "doc_key", ObjectID: kid,
		Summary: map[string]any{"rotate": rotate}, Actor: actorFor(ctx)})
	return kid, err
}

func actorFor(ctx context.Context) *audit.Actor {
	a := audit.ActorOf(ctx)
	if a.Label == "anonymous" && a.RequestID == "" {
		return audit.System("docs")
	}
	return a
}

// Rotate makes a new signing key and retires the current one, which stays
// published so that what it signed still verifies. It returns the new kid.
func (s *Service) Rotate(ctx context.Context) (string, error) {
	var kid string
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		var err error
		kid, err = s.createKey(ctx, tx, true)
		return err
	})
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.signer, s.keys = nil, nil
	s.mu.Unlock()
	return kid, nil
}

// Keys lists every key, newest first, with how many documents each signed.
func (s *Service) Keys(ctx context.Context) ([]Key, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT k.kid, k.public_key, k.signing IS NOT NULL, k.created_at, k.retired_at,
		(SELECT COUNT(*) FROM documents d WHERE d.kid = k.kid)
		FROM doc_keys k ORDER BY k.created_at DESC, k.kid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var k Key
		var retired sql.NullTime
		if err := rows.Scan(&k.Kid, &k.PublicKey, &k.Signing, &k.CreatedAt, &retired, &k.Documents); err != nil {
			return nil, err
		}
		if retired.Valid {
			t := retired.Time
			k.RetiredAt = &t
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// activeKey returns the signing key, from the cache when it is fresh.
func (s *Service) activeKey(ctx context.Context) (*signingKey, error) {
	now := time.Now()
	s.mu.RLock()
	k, at := s.signer, s.signerAt
	s.mu.RUnlock()
	if k != nil && now.Sub(at) < cacheFor {
		return k, nil
	}
	var kid, sealed string
	err := s.DB.R().QueryRowContext(ctx, `SELECT kid, private_sealed FROM doc_keys WHERE signing = 1`).Scan(&kid, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, db.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if k == nil || k.kid != kid {
		seed, err := secret.Open(s.seal, sealed, []byte("docs-key:"+kid))
		if err != nil {
			return nil, fmt.Errorf("docs: open signing key %s (was the master secret changed?): %w", kid, err)
		}
		k = &signingKey{kid: kid, priv: ed25519.NewKeyFromSeed(seed)}
	}
	s.mu.Lock()
	s.signer, s.signerAt = k, now
	s.mu.Unlock()
	return k, nil
}

// KeySet returns the published keys (every key ever made: retired ones still
// verify what they signed), from the cache when it is fresh.
func (s *Service) KeySet(ctx context.Context) (*KeySet, error) {
	s.mu.RLock()
	ks, at := s.keys, s.keysAt
	s.mu.RUnlock()
	if ks != nil && time.Since(at) < cacheFor {
		return ks, nil
	}
	return s.loadKeys(ctx)
}

func (s *Service) loadKeys(ctx context.Context) (*KeySet, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT kid, public_key FROM doc_keys`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := map[string]ed25519.PublicKey{}
	for rows.Next() {
		var kid, x string
		if err := rows.Scan(&kid, &x); err != nil {
			return nil, err
		}
		pub, err := b64.DecodeString(x)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("docs: key %s is damaged", kid)
		}
		keys[kid] = pub
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ks := NewKeySet(keys)
	s.mu.Lock()
	s.keys, s.keysAt = ks, time.Now()
	s.mu.Unlock()
	return ks, nil
}

// Verify checks a token against the published keys. A kid the cache does
// not know makes it ask the database again (at most once a second), so a
// key made on another node is found.
func (s *Service) Verify(ctx context.Context, token string) (*Verified, error) {
	ks, err := s.KeySet(ctx)
	if err != nil {
		return nil, err
	}
	v, err := ks.Verify(token)
	if errors.Is(err, ErrUnknownKey) {
		s.mu.Lock()
		retry := time.Since(s.refreshAt) > time.Second
		if retry {
			s.refreshAt = time.Now()
		}
		s.mu.Unlock()
		if retry {
			if ks, err = s.loadKeys(ctx); err != nil {
				return nil, err
			}
			return ks.Verify(token)
		}
	}
	return v, err
}

// Sign signs payload (JSON) with the current key, without recording it.
func (s *Service) Sign(ctx context.Context, payload []byte) (string, error) {
	if !json.Valid(payload) {
		return "", errors.New("docs: payload is not JSON")
	}
	k, err := s.activeKey(ctx)
	if err != nil {
		return "", err
	}
	return sign(k.priv, k.kid, payload), nil
}

// Doc is a document to issue.
type Doc struct {
	Type      string    // short code of the kind of document, e.g. "ILP", "OPD"
	Number    string    // the document's own number, e.g. a permit number (the "sub" claim)
	SubjectID int64     // the person it is about (for "My data"); 0 when none
	NotBefore time.Time // optional "nbf"
	Expires   time.Time // optional "exp"
	// Claims are the document's own fields, added to the payload beside the
	// registered claims (iss, sub, jti, iat, nbf, exp, dtp), which they may not use.
	Claims map[string]any
}

// Issued is a signed, recorded document.
type Issued struct {
	ID    string // jti
	Kid   string
	Token string // compact JWS
}

var reserved = map[string]bool{"iss": true, "sub": true, "jti": true, "iat": true, "nbf": true, "exp": true, "dtp": true}

// Issue signs d and records it inside tx (so that it exists exactly when
// the change that issues it commits). The payload holds the registered JWT
// claims iss, sub (d.Number), jti, iat, nbf and exp, "dtp" (d.Type), and d.Claims.
func (s *Service) Issue(ctx context.Context, tx *db.Tx, d Doc) (Issued, error) {
	if len(d.Type) < 2 || len(d.Type) > 16 || d.Number == "" {
		return Issued{}, errors.New("docs: a document needs a type and a number")
	}
	now := s.Now()
	p := make(map[string]any, len(d.Claims)+7)
	for k, v := range d.Claims {
		if reserved[k] {
			return Issued{}, fmt.Errorf("docs: claim %q is reserved", k)
		}
		p[k] = v
	}
	id := newJTI()
	p["iss"], p["sub"], p["jti"], p["iat"], p["dtp"] = s.Issuer, d.Number, id, now.Unix(), d.Type
	if !d.NotBefore.IsZero() {
		p["nbf"] = d.NotBefore.Unix()
	}
	if !d.Expires.IsZero() {
		p["exp"] = d.Expires.Unix()
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return Issued{}, err
	}
	k, err := s.activeKey(ctx)
	if err != nil {
		return Issued{}, err
	}
	token := sign(k.priv, k.kid, payload)
	_, err = tx.ExecContext(ctx, `INSERT INTO documents (id, type, number, subject_id, kid, token_hash, issued_at, not_before, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, d.Type, d.Number, nullID(d.SubjectID), k.kid, TokenHash(token),
		db.Time(now), nullTime(d.NotBefore), nullTime(d.Expires))
	if err != nil {
		return Issued{}, fmt.Errorf("docs: record: %w", err)
	}
	if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "docs.issue", ObjectType: "document", ObjectID: id,
		SubjectID: d.SubjectID, Summary: map[string]any{"type": d.Type, "number": d.Number, "kid": k.kid}}); err != nil {
		return Issued{}, err
	}
	return Issued{ID: id, Kid: k.kid, Token: token}, nil
}

// Revoke marks a document revoked inside tx. Revoking twice keeps the first time.
func (s *Service) Revoke(ctx context.Context, tx *db.Tx, id, reason string) error {
	res, err := tx.ExecContext(ctx, `UPDATE documents SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL`,
		id, db.Time(s.Now()), reason)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM documents WHERE id = $1`, id).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return db.ErrNotFound
		}
		return nil
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "docs.revoke", ObjectType: "document", ObjectID: id, Summary: map[string]string{"reason": reason}})
	return err
}

// Revocation is one revoked document, as published to verifiers.
type Revocation struct {
	ID        string    `json:"jti"`
	Type      string    `json:"dtp"`
	Number    string    `json:"sub"`
	RevokedAt time.Time `json:"revoked_at"`
}

// Revocations lists the revoked documents of a type, oldest first, revoked
// after since (zero for all), leaving out documents that expired more than a
// day ago (a verifier refuses those as expired anyway).
func (s *Service) Revocations(ctx context.Context, typ string, since time.Time) ([]Revocation, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT id, type, number, revoked_at FROM documents
		WHERE type = $1 AND revoked_at IS NOT NULL AND revoked_at > $2 AND (expires_at IS NULL OR expires_at > $3)
		ORDER BY revoked_at, id`, typ, db.Time(since), db.Time(s.Now().Add(-24*time.Hour)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Revocation{}
	for rows.Next() {
		var r Revocation
		if err := rows.Scan(&r.ID, &r.Type, &r.Number, &r.RevokedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Record is what the register holds about one document.
type Record struct {
	ID           string
	Type         string
	Number       string
	Kid          string
	IssuedAt     time.Time
	RevokedAt    *time.Time
	RevokeReason string
}

// Lookup returns the register's record of a document by its jti.
func (s *Service) Lookup(ctx context.Context, q db.Querier, id string) (Record, error) {
	var r Record
	var revoked sql.NullTime
	err := q.QueryRowContext(ctx, `SELECT id, type, number, kid, issued_at, revoked_at, revoke_reason FROM documents WHERE id = $1`, id).
		Scan(&r.ID, &r.Type, &r.Number, &r.Kid, &r.IssuedAt, &revoked, &r.RevokeReason)
	if errors.Is(err, sql.ErrNoRows) {
		return r, db.ErrNotFound
	}
	if revoked.Valid {
		t := revoked.Time
		r.RevokedAt = &t
	}
	return r, err
}

// TokenHash identifies a token in the register without keeping it.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newJTI() string {
	b := make([]byte, 12)
	rand.Read(b)
	return b64.EncodeToString(b)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return db.Time(t)
}
