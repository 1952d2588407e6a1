// Package secret holds the installation's master secret and what is derived
// from it: a key per purpose (HMAC-SHA-256 of a label), and sealing of small
// secrets at rest with AES-256-GCM. Any core package that keeps a secret in
// the database (TOTP seeds, signing keys) seals it with a key of its own.
package secret

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"mizogov/internal/db"
)

// Master is the installation's master secret.
type Master struct{ key []byte }

// Load returns the master secret: override (hex, from MIZOGOV_SECRET_KEY)
// when given, otherwise the one kept in the settings table, created on first
// use. Several nodes starting at once agree on one secret.
func Load(ctx context.Context, d *db.DB, override string) (Master, error) {
	if override != "" {
		b, err := hex.DecodeString(override)
		if err != nil || len(b) < 32 {
			return Master{}, errors.New("MIZOGOV_SECRET_KEY must be at least 64 hex digits")
		}
		return Master{key: b}, nil
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	var stored string
	err := d.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('master_key', $1) ON CONFLICT (key) DO NOTHING`,
			hex.EncodeToString(fresh)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'master_key'`).Scan(&stored)
	})
	if err != nil {
		return Master{}, fmt.Errorf("master key: %w", err)
	}
	b, err := hex.DecodeString(stored)
	if err != nil {
		return Master{}, fmt.Errorf("master key: %w", err)
	}
	return Master{key: b}, nil
}

// Derive returns the 32-byte key for one purpose. The same label always
// gives the same key; different labels give independent keys.
func (m Master) Derive(label string) []byte {
	if len(m.key) == 0 {
		panic("secret: Derive on an empty master secret")
	}
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte("mizogov/" + label))
	return h.Sum(nil)
}

// Seal encrypts plain with a 32-byte key (AES-256-GCM, random nonce),
// binding it to ad, and returns base64(nonce‖ciphertext).
func Seal(key, plain, ad []byte) (string, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(gcm.Seal(nonce, nonce, plain, ad)), nil
}

// ErrOpen means a sealed value is damaged, was sealed with another key or
// for other associated data.
var ErrOpen = errors.New("secret: cannot open sealed value")

// Open reverses Seal.
func Open(key []byte, sealed string, ad []byte) ([]byte, error) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, ErrOpen
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(b) < gcm.NonceSize() {
		return nil, ErrOpen
	}
	plain, err := gcm.Open(nil, b[:gcm.NonceSize()], b[gcm.NonceSize():], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
