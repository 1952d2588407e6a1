package auth

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
)

var scopeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.:-]{0,31}$`)

// APIKey is an integration's key (never the secret itself).
type APIKey struct {
	ID         int64
	Name       string
	Prefix     string
	Scopes     []string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// CreateAPIKey makes a key for an integration. The key is returned once;
// only its SHA-256 hash is stored.
func (s *Service) CreateAPIKey(ctx context.Context, name string, scopes []string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", errors.New("a key needs a name of at most 100 characters")
	}
	if len(scopes) == 0 {
		return "", errors.New("a key needs at least one scope")
	}
	for _, sc := range scopes {
		if !scopeRE.MatchString(sc) {
			return "", fmt.Errorf("scope %q: use lower-case letters, digits and . _ : -", sc)
		}
	}
	prefix := strings.ToLower(randomToken(6))
	prefix = strings.NewReplacer("-", "a", "_", "b").Replace(prefix)
	key := "mzk_" + prefix + "_" + randomToken(32)
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO api_keys (name, prefix, key_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			name, prefix, sha256Hex(key), strings.Join(scopes, " "), db.Time(s.now())).Scan(&id)
		if err != nil {
			return err
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "apikey.create", ObjectType: "apikey", ObjectID: fmt.Sprint(id),
			Summary: map[string]any{"name": name, "scopes": scopes}, Actor: audit.System("cli")})
		return err
	})
	return key, err
}

// CheckAPIKey returns the name of the integration holding key, if the key
// is live and carries scope.
func (s *Service) CheckAPIKey(ctx context.Context, key, scope string) (string, error) {
	// The secret is base64url and may itself hold "_": split twice only.
	parts := strings.SplitN(key, "_", 3)
	if len(parts) != 3 || parts[0] != "mzk" || len(key) > 100 {
		return "", db.ErrNotFound
	}
	var id int64
	var name, hash, scopes string
	var revoked sql.NullTime
	err := s.DB.R().QueryRowContext(ctx, `SELECT id, name, key_hash, scopes, revoked_at FROM api_keys WHERE prefix = $1`, parts[1]).
		Scan(&id, &name, &hash, &scopes, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return "", db.ErrNotFound
	}
	if err != nil {
		return "", err
	}
	if revoked.Valid || subtle.ConstantTimeCompare([]byte(hash), []byte(sha256Hex(key))) != 1 {
		return "", db.ErrNotFound
	}
	for _, sc := range strings.Fields(scopes) {
		if sc == scope {
			s.DB.W().ExecContext(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, db.Time(s.now()))
			return name, nil
		}
	}
	return "", db.ErrNotFound
}
