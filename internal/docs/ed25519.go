package docs

import (
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"sync"

	"filippo.io/edwards25519"
)

// Fast Ed25519 verification for known keys.
//
// A verifier checks many signatures against a handful of published keys,
// so for each key it keeps the multiples j·256^i·A (i < 32, 1 ≤ j ≤ 128)
// and does the same for the base point B. A signature (R, S) over M is then
// checked by computing [S]B − [k]A, k = SHA-512(R‖A‖M), as two sums of 32
// table entries each (signed radix-256 digits), with no doublings, and
// comparing its encoding with R — exactly crypto/ed25519's cofactorless
// rule, with S required canonical, so both accept the same signatures (a
// test checks them against each other). It runs in variable time, which is
// safe here: everything in a verification is public. A key's table takes
// about 1 ms and 640 KiB to build, once.

// table holds j·256^i·P for i < 32 and j = 1…128, at [i][j-1].
type table [32][128]edwards25519.Point

func newTable(p *edwards25519.Point) *table {
	t := new(table)
	base := new(edwards25519.Point).Set(p)
	for i := range t {
		t[i][0].Set(base)
		for j := 1; j < 128; j++ {
			t[i][j].Add(&t[i][j-1], base)
		}
		base = new(edwards25519.Point).Add(&t[i][127], &t[i][127]) // 256·base
	}
	return t
}

// addMul adds [s]P to acc, for the point P of the table.
func (t *table) addMul(acc *edwards25519.Point, s *edwards25519.Scalar) {
	b := s.Bytes()
	// Signed radix-256 digits in [-128, 128); scalars are below 2^253, so
	// the last digit absorbs the final carry.
	var d [32]int16
	for i := range d {
		d[i] = int16(b[i])
	}
	for i := 0; i < 31; i++ {
		c := (d[i] + 128) >> 8
		d[i] -= c << 8
		d[i+1] += c
	}
	var neg edwards25519.Point
	for i, v := range d {
		switch {
		case v > 0:
			acc.Add(acc, &t[i][v-1])
		case v < 0:
			neg.Negate(&t[i][-v-1])
			acc.Add(acc, &neg)
		}
	}
}

var baseTable = sync.OnceValue(func() *table { return newTable(edwards25519.NewGeneratorPoint()) })

// pubKey is a public key ready for fast verification.
type pubKey struct {
	raw ed25519.PublicKey
	tab *table
}

var errBadKey = errors.New("docs: not an Ed25519 public key")

func newPubKey(raw ed25519.PublicKey) (*pubKey, error) {
	if len(raw) != ed25519.PublicKeySize {
		return nil, errBadKey
	}
	a, err := new(edwards25519.Point).SetBytes(raw)
	if err != nil {
		return nil, errBadKey
	}
	return &pubKey{raw: append(ed25519.PublicKey(nil), raw...), tab: newTable(a)}, nil
}

// verify reports whether sig is k's signature of msg.
func (k *pubKey) verify(msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize {
		return false
	}
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(k.raw)
	h.Write(msg)
	var digest [64]byte
	kh, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return false
	}
	kh.Negate(kh)
	r := edwards25519.NewIdentityPoint()
	baseTable().addMul(r, s)
	k.tab.addMul(r, kh)
	return subtle.ConstantTimeCompare(r.Bytes(), sig[:32]) == 1
}
