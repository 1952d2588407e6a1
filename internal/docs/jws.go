package docs

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Verification errors. Each names one way a token can fail, so that a gate
// can say why a permit is refused; all of them mean "do not trust it".
var (
	// ErrTruncated: fewer than three parts, or a signature shorter than
	// Ed25519's 64 bytes (a QR code read only in part, a text cut short).
	ErrTruncated = errors.New("docs: the signed document is incomplete")
	// ErrMalformed: not a compact JWS (bad base64url, bad JSON, extra parts,
	// critical header parameters we do not understand).
	ErrMalformed = errors.New("docs: not a compact JWS")
	// ErrAlgorithm: the header names an algorithm other than EdDSA
	// (including "none" and HMAC algorithms that would use a public key as a secret).
	ErrAlgorithm = errors.New("docs: the signature algorithm is not EdDSA")
	// ErrUnknownKey: the header's kid is missing or names no published key.
	ErrUnknownKey = errors.New("docs: signed by an unknown key")
	// ErrSignature: the signature does not match the header and payload
	// (the document was altered, or signed by someone else).
	ErrSignature = errors.New("docs: the signature does not match")
)

// Alg is the only JWS algorithm issued and accepted (RFC 8037).
const Alg = "EdDSA"

// Header is the JWS protected header.
type Header struct {
	Alg  string   `json:"alg"`
	Kid  string   `json:"kid"`
	Typ  string   `json:"typ,omitempty"`
	Crit []string `json:"crit,omitempty"`
}

var b64 = base64.RawURLEncoding.Strict()

// sign returns the compact serialization of payload signed with priv.
func sign(priv ed25519.PrivateKey, kid string, payload []byte) string {
	h, _ := json.Marshal(Header{Alg: Alg, Kid: kid, Typ: "JWT"})
	var b strings.Builder
	b.Grow(b64.EncodedLen(len(h)) + b64.EncodedLen(len(payload)) + 90)
	b.WriteString(b64.EncodeToString(h))
	b.WriteByte('.')
	b.WriteString(b64.EncodeToString(payload))
	signed := b.String()
	sig := ed25519.Sign(priv, []byte(signed))
	return signed + "." + b64.EncodeToString(sig)
}

// Verified is a token whose signature checked out.
type Verified struct {
	Header  Header
	Payload []byte // the JSON payload exactly as signed
}

// Claims decodes the payload into v.
func (v *Verified) Claims(dst any) error {
	if err := json.Unmarshal(v.Payload, dst); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return nil
}

// KeySet is a set of public keys by kid: what a verifier needs, and all it
// needs, to check documents offline.
type KeySet struct {
	keys map[string]ed25519.PublicKey
}

// NewKeySet builds a set from public keys by kid.
func NewKeySet(keys map[string]ed25519.PublicKey) *KeySet {
	k := &KeySet{keys: make(map[string]ed25519.PublicKey, len(keys))}
	for kid, pub := range keys {
		k.keys[kid] = pub
	}
	return k
}

// Len is the number of keys.
func (k *KeySet) Len() int { return len(k.keys) }

// Has reports whether kid is in the set.
func (k *KeySet) Has(kid string) bool { _, ok := k.keys[kid]; return ok }

// Verify checks a compact JWS strictly: three base64url parts without
// padding, a JSON header whose alg is EdDSA and whose kid is in the set, no
// critical extensions, and an Ed25519 signature over the first two parts.
func (k *KeySet) Verify(token string) (*Verified, error) {
	token = strings.TrimSpace(token)
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return nil, ErrTruncated
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return nil, ErrTruncated
	}
	j += i + 1
	hPart, pPart, sPart := token[:i], token[i+1:j], token[j+1:]
	if strings.IndexByte(sPart, '.') >= 0 {
		return nil, ErrMalformed
	}
	if b64.DecodedLen(len(sPart)) < ed25519.SignatureSize {
		return nil, ErrTruncated
	}
	var sig [ed25519.SignatureSize + 3]byte
	if b64.DecodedLen(len(sPart)) > len(sig) {
		return nil, ErrMalformed
	}
	n, err := b64.Decode(sig[:], []byte(sPart))
	if err != nil || n != ed25519.SignatureSize {
		return nil, ErrMalformed
	}
	hb, err := b64.DecodeString(hPart)
	if err != nil || len(hPart) == 0 {
		return nil, ErrMalformed
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(hb))
	if err := dec.Decode(&h); err != nil || dec.More() {
		return nil, ErrMalformed
	}
	if h.Alg != Alg {
		return nil, ErrAlgorithm
	}
	if len(h.Crit) > 0 {
		return nil, ErrMalformed
	}
	pub, ok := k.keys[h.Kid]
	if !ok {
		return nil, ErrUnknownKey
	}
	if !ed25519.Verify(pub, []byte(token[:j]), sig[:ed25519.SignatureSize]) {
		return nil, ErrSignature
	}
	payload, err := b64.DecodeString(pPart)
	if err != nil || !json.Valid(payload) {
		return nil, ErrMalformed
	}
	return &Verified{Header: h, Payload: payload}, nil
}

// JWK is one public key as RFC 7517 and RFC 8037 write it.
type JWK struct {
	Kty string `json:"kty" enum:"OKP"`
	Crv string `json:"crv" enum:"Ed25519"`
	X   string `json:"x" doc:"the public key, base64url"`
	Kid string `json:"kid"`
	Alg string `json:"alg" enum:"EdDSA"`
	Use string `json:"use" enum:"sig"`
}

// JWKS is a JWK Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// Thumbprint is the RFC 7638 thumbprint of an Ed25519 public key (base64url SHA-256).
func Thumbprint(pub ed25519.PublicKey) string {
	// Members in lexicographic order, no whitespace (RFC 7638 §3.2).
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + b64.EncodeToString(pub) + `"}`))
	return b64.EncodeToString(sum[:])
}

// JWKS lists the set's keys in kid order.
func (k *KeySet) JWKS() JWKS {
	out := JWKS{Keys: []JWK{}}
	for kid, pub := range k.keys {
		out.Keys = append(out.Keys, JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(pub), Kid: kid, Alg: Alg, Use: "sig"})
	}
	sortJWKs(out.Keys)
	return out
}

func sortJWKs(keys []JWK) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j].Kid < keys[j-1].Kid; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

// ParseJWKS reads a JWK Set, keeping the Ed25519 signing keys and refusing
// a set in which any such key is malformed.
func ParseJWKS(b []byte) (*KeySet, error) {
	var set struct {
		Keys []JWK `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	k := &KeySet{keys: map[string]ed25519.PublicKey{}}
	for _, j := range set.Keys {
		if j.Kty != "OKP" || j.Crv != "Ed25519" || (j.Use != "" && j.Use != "sig") {
			continue
		}
		if j.Alg != "" && j.Alg != Alg {
			continue
		}
		x, err := b64.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize || j.Kid == "" {
			return nil, fmt.Errorf("jwks: key %q is malformed", j.Kid)
		}
		k.keys[j.Kid] = ed25519.PublicKey(x)
	}
	return k, nil
}
