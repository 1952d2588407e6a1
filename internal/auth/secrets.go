package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"mizogov/internal/db"
	"mizogov/internal/secret"
)

// Keys are secrets derived from the installation's master key.
type Keys struct {
	otp  []byte // HMAC key for one-time codes at rest
	totp []byte // AES-256 key for TOTP secrets at rest
}

// LoadKeys derives the keys from the installation's master secret (see
// package secret): override (hex, from MIZOGOV_SECRET_KEY) or the one kept
// in the settings table, created on first use.
func LoadKeys(ctx context.Context, d *db.DB, override string) (Keys, error) {
	m, err := secret.Load(ctx, d, override)
	if err != nil {
		return Keys{}, err
	}
	return KeysFrom(m), nil
}

// KeysFrom derives auth's keys from the master secret.
func KeysFrom(m secret.Master) Keys {
	return Keys{otp: m.Derive("otp"), totp: m.Derive("totp")}
}

// hashOTP binds a code to its target so a stolen table cannot be matched
// against codes by brute force without the key.
func (k Keys) hashOTP(target, code string) string {
	m := hmac.New(sha256.New, k.otp)
	m.Write([]byte(target + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

func (k Keys) sealTOTP(plain string) (string, error) {
	return secret.Seal(k.totp, []byte(plain), []byte("totp"))
}

func (k Keys) openTOTP(sealed string) (string, error) {
	plain, err := secret.Open(k.totp, sealed, []byte("totp"))
	return string(plain), err
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// randomDigits returns n uniformly random decimal digits.
func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

// GeneratePassword returns a random password of 16 characters from an
// alphabet without look-alike characters (about 90 bits).
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b strings.Builder
	for range 16 {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

// argon2id parameters: OWASP's minimum of 19 MiB, 2 passes, 1 lane.
const (
	argonMem  = 19 * 1024
	argonTime = 2
	argonKey  = 32
)

// HashPassword hashes with argon2id in PHC string form.
func HashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMem, 1, argonKey)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=1$%s$%s", argon2.Version, argonMem, argonTime,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword compares pw with a PHC argon2id hash in constant time.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when a username does not exist, so that the answer
// takes as long as for a real account.
var dummyHash = HashPassword("not-a-real-password")

// NewTOTPSecret returns a random 160-bit secret in base32, as authenticator apps take it.
func NewTOTPSecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// TOTP computes the RFC 6238 code (HMAC-SHA1, 30-second steps, 6 digits) for step.
func TOTP(secret string, step int64) (string, error) {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		return "", fmt.Errorf("TOTP secret: %w", err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000), nil
}

// TOTPStep is the RFC 6238 time step of t.
func TOTPStep(t time.Time) int64 { return t.Unix() / 30 }

// checkTOTP accepts the code of the current step or one step either side
// (clock drift), but never a step at or before lastStep (replay).
func checkTOTP(secret, code string, now time.Time, lastStep int64) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	cur := TOTPStep(now)
	for _, step := range []int64{cur - 1, cur, cur + 1} {
		if step <= lastStep {
			continue
		}
		want, err := TOTP(secret, step)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// TOTPURI is the otpauth:// URI that authenticator apps import.
func TOTPURI(username, secret string) string {
	label := url.PathEscape("mizogov:" + username)
	return "otpauth://totp/" + label + "?secret=" + secret + "&issuer=mizogov&algorithm=SHA1&digits=6&period=30"
}
