package docs

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/secret"
)

func newService(t testing.TB, d *db.DB, masterHex string) *Service {
	t.Helper()
	m, err := secret.Load(context.Background(), d, masterHex)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), d, m, &audit.Log{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func issue(t testing.TB, s *Service, number string) Issued {
	t.Helper()
	var out Issued
	err := s.DB.Tx(context.Background(), func(tx *db.Tx) error {
		var err error
		out, err = s.Issue(context.Background(), tx, Doc{Type: "ILP", Number: number,
			NotBefore: time.Now(), Expires: time.Now().Add(7 * 24 * time.Hour),
			Claims: map[string]any{"name": "Lalthanzuala Ralte", "idm": "XXXX-XXXX-4321", "ptp": "TEMP"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIssueVerifyRotate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newService(t, d, "")
		old := issue(t, s, "MZ-ILP-2627-000001-3")
		v, err := s.Verify(ctx, old.Token)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		var c map[string]any
		if err := v.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if c["sub"] != "MZ-ILP-2627-000001-3" || c["dtp"] != "ILP" || c["name"] != "Lalthanzuala Ralte" || c["jti"] != old.ID || v.Header.Kid != old.Kid {
			t.Fatalf("claims %v header %+v", c, v.Header)
		}

		// Rotation: new documents use the new key; the old token still verifies.
		kid, err := s.Rotate(ctx)
		if err != nil || kid == old.Kid || kid == "" {
			t.Fatalf("rotate: %q %v", kid, err)
		}
		fresh := issue(t, s, "MZ-ILP-2627-000002-1")
		if fresh.Kid != kid {
			t.Fatalf("new document signed by %s, want %s", fresh.Kid, kid)
		}
		if _, err := s.Verify(ctx, old.Token); err != nil {
			t.Fatalf("old token after rotation: %v", err)
		}
		ks, _ := s.KeySet(ctx)
		jwks := ks.JWKS()
		if len(jwks.Keys) != 2 {
			t.Fatalf("jwks has %d keys, want both", len(jwks.Keys))
		}
		keys, err := s.Keys(ctx)
		if err != nil || len(keys) != 2 || !keys[0].Signing || keys[1].Signing || keys[1].RetiredAt == nil || keys[1].Documents != 1 {
			t.Fatalf("keys: %+v %v", keys, err)
		}

		// A second node (same database, same master secret) verifies both
		// and signs with the current key.
		other := newService(t, d, "")
		for _, tok := range []string{old.Token, fresh.Token} {
			if _, err := other.Verify(ctx, tok); err != nil {
				t.Fatalf("second node: %v", err)
			}
		}

		// Revocation is recorded and published.
		if err := d.Tx(ctx, func(tx *db.Tx) error { return s.Revoke(ctx, tx, old.ID, "revoked by officer") }); err != nil {
			t.Fatal(err)
		}
		if err := d.Tx(ctx, func(tx *db.Tx) error { return s.Revoke(ctx, tx, "no-such-id", "x") }); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}
		list, err := s.Revocations(ctx, "ILP", time.Time{})
		if err != nil || len(list) != 1 || list[0].ID != old.ID || list[0].Number != "MZ-ILP-2627-000001-3" {
			t.Fatalf("revocations: %+v %v", list, err)
		}
		rec, err := s.Lookup(ctx, d.R(), old.ID)
		if err != nil || rec.RevokedAt == nil {
			t.Fatalf("lookup: %+v %v", rec, err)
		}
		// Every issue, rotation and revocation is audited.
		var n int
		d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'docs.%'`).Scan(&n)
		if n != 5 { // key_create ×2, issue ×2, revoke ×1
			t.Fatalf("audit entries: %d, want 5", n)
		}
	})
}

func TestPrivateKeysSealedAtRest(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	s := newService(t, d, strings.Repeat("11", 32))
	tok := issue(t, s, "N-1").Token
	var sealed, pub string
	if err := d.R().QueryRowContext(ctx, `SELECT private_sealed, public_key FROM doc_keys`).Scan(&sealed, &pub); err != nil {
		t.Fatal(err)
	}
	s.mu.RLock()
	seed := s.signer.priv.Seed()
	s.mu.RUnlock()
	for _, enc := range []func([]byte) string{base64.StdEncoding.EncodeToString, base64.RawStdEncoding.EncodeToString, base64.RawURLEncoding.EncodeToString} {
		if strings.Contains(sealed, enc(seed)) {
			t.Fatal("the private key is stored in the clear")
		}
	}
	// Another master secret cannot open the key (and says so), but still verifies.
	m2, _ := secret.Load(ctx, d, strings.Repeat("22", 32))
	s2 := &Service{DB: d, Audit: &audit.Log{}, Now: time.Now, seal: m2.Derive("docs/signing-keys")}
	if _, err := s2.Sign(ctx, []byte(`{}`)); err == nil {
		t.Fatal("signed with a key sealed under another master secret")
	}
	if _, err := s2.Verify(ctx, tok); err != nil {
		t.Fatalf("verification needs only public keys: %v", err)
	}
}

// tamper flips one character of part i (0 header, 1 payload, 2 signature).
func tamper(tok string, i int) string {
	parts := strings.Split(tok, ".")
	b := []byte(parts[i])
	k := len(b) / 2
	if b[k] == 'A' {
		b[k] = 'B'
	} else {
		b[k] = 'A'
	}
	parts[i] = string(b)
	return strings.Join(parts, ".")
}

func reencode(tok string, header string) string {
	parts := strings.Split(tok, ".")
	parts[0] = base64.RawURLEncoding.EncodeToString([]byte(header))
	return strings.Join(parts, ".")
}

func TestStrictVerification(t *testing.T) {
	d := dbtest.SQLite(t)
	s := newService(t, d, "")
	tok := issue(t, s, "MZ-ILP-2627-000009-0").Token
	ks, _ := s.KeySet(context.Background())
	h := func(alg, kid string) string { return `{"alg":"` + alg + `","kid":"` + kid + `"}` }
	goodKid := issue(t, s, "X").Kid

	// A validly signed token under an unknown key.
	_, stranger, _ := ed25519.GenerateKey(nil)
	foreign := sign(stranger, "not-our-key", []byte(`{"sub":"MZ-ILP-2627-000009-0"}`))
	// A token signed by a stranger but claiming our kid.
	impostor := sign(stranger, goodKid, []byte(`{"sub":"MZ-ILP-2627-000009-0"}`))

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"payload changed", tamper(tok, 1), ErrSignature},
		{"signature changed", tamper(tok, 2), ErrSignature},
		{"header changed to another kid", reencode(tok, h("EdDSA", "zzzzzzzzzzzzzzzz")), ErrUnknownKey},
		{"signed by a stranger with our kid", impostor, ErrSignature},
		{"unknown key", foreign, ErrUnknownKey},
		{"alg none", reencode(tok, h("none", goodKid)), ErrAlgorithm},
		{"alg HS256", reencode(tok, h("HS256", goodKid)), ErrAlgorithm},
		{"alg ES256", reencode(tok, h("ES256", goodKid)), ErrAlgorithm},
		{"alg missing", reencode(tok, `{"kid":"`+goodKid+`"}`), ErrAlgorithm},
		{"critical header", reencode(tok, `{"alg":"EdDSA","kid":"`+goodKid+`","crit":["exp"]}`), ErrMalformed},
		{"header not JSON", reencode(tok, `not json`), ErrMalformed},
		{"empty", "", ErrTruncated},
		{"one part", strings.Split(tok, ".")[0], ErrTruncated},
		{"two parts", strings.Join(strings.Split(tok, ".")[:2], "."), ErrTruncated},
		{"signature cut", tok[:len(tok)-10], ErrTruncated},
		{"signature empty", tok[:strings.LastIndex(tok, ".")+1], ErrTruncated},
		{"four parts", tok + ".AAAA", ErrMalformed},
		{"padding", tok + "==", ErrMalformed},
		{"standard base64 characters", strings.Replace(tok, strings.Split(tok, ".")[2], strings.Repeat("+", 86), 1), ErrMalformed},
		{"signature too long", tok + "AAAA", ErrMalformed},
	}
	for _, c := range cases {
		if _, err := ks.Verify(c.token); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// Every prefix of a good token is refused.
	for i := 0; i < len(tok); i++ {
		if _, err := ks.Verify(tok[:i]); err == nil {
			t.Fatalf("prefix of length %d verified", i)
		}
	}
	if _, err := ks.Verify("  " + tok + "\n"); err != nil {
		t.Fatalf("surrounding white space (as scanners add): %v", err)
	}
}

// TestIndependentJOSELibrary proves that anyone can verify our documents
// with a standard JOSE library and nothing of ours but the published JWK Set.
func TestIndependentJOSELibrary(t *testing.T) {
	d := dbtest.SQLite(t)
	s := newService(t, d, "")
	old := issue(t, s, "MZ-ILP-2627-000011-6")
	if _, err := s.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh := issue(t, s, "MZ-ILP-2627-000012-4")
	ks, _ := s.KeySet(context.Background())
	published, _ := json.Marshal(ks.JWKS())

	var set jose.JSONWebKeySet
	if err := json.Unmarshal(published, &set); err != nil {
		t.Fatalf("go-jose cannot read our JWK Set: %v", err)
	}
	for _, tok := range []Issued{old, fresh} {
		jws, err := jose.ParseSigned(tok.Token, []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			t.Fatalf("go-jose parse: %v", err)
		}
		kid := jws.Signatures[0].Protected.KeyID
		keys := set.Key(kid)
		if len(keys) != 1 || !keys[0].Valid() || keys[0].Algorithm != "EdDSA" {
			t.Fatalf("kid %s: keys %+v", kid, keys)
		}
		payload, err := jws.Verify(keys[0])
		if err != nil {
			t.Fatalf("go-jose verify: %v", err)
		}
		var c map[string]any
		json.Unmarshal(payload, &c)
		if c["jti"] != tok.ID {
			t.Fatalf("payload %s", payload)
		}
		// And go-jose refuses what we refuse.
		bad, err := jose.ParseSigned(tamper(tok.Token, 1), []jose.SignatureAlgorithm{jose.EdDSA})
		if err == nil {
			if _, err := bad.Verify(keys[0]); err == nil {
				t.Fatal("go-jose accepted a tampered token")
			}
		}
	}
	// Our parser reads what go-jose publishes, too.
	ours, err := ParseJWKS(published)
	if err != nil || ours.Len() != 2 {
		t.Fatalf("ParseJWKS: %v", err)
	}
	if _, err := ours.Verify(old.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseJWKS([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"short","kid":"k"}]}`)); err == nil {
		t.Fatal("a malformed key was accepted")
	}
}

func TestQRCodeReadsBack(t *testing.T) {
	d := dbtest.SQLite(t)
	s := newService(t, d, "")
	tok := issue(t, s, "MZ-ILP-2627-000013-2").Token
	b, err := QRPNG(tok, 4)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := readQR(t, img); got != tok {
		t.Fatalf("QR reads back as %q", got)
	}
}

func readQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return res.GetText()
}

func TestPDF(t *testing.T) {
	var photo bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 60, 75))
	png.Encode(&photo, img)
	b, err := PDF(Page{Authority: "Government of Mizoram", Title: "Inner Line Permit", Number: "MZ-ILP-2627-000001-3",
		Status: "ISSUED", Rows: []Row{{"Hming", "Lalṭhangliana"}, {"Valid", "27-11-2026 – 03-12-2026"}},
		Notes: []string{"Report at the check gate before leaving."}, Photo: photo.Bytes(), PhotoType: "image/png",
		QR: "eyJhbGciOiJFZERTQSJ9.e30.sig", QRLabel: "Scan to verify", Footer: "Keys: /.well-known/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-1.")) || !bytes.Contains(b[len(b)-10:], []byte("%%EOF")) {
		t.Fatal("not a PDF")
	}
	if n := bytes.Count(b, []byte("/Subtype /Image")); n != 2 {
		t.Fatalf("%d images, want photo and QR", n)
	}
	if !bytes.Contains(b, []byte("/FontFile2")) {
		t.Fatal("the Unicode font is not embedded")
	}
	// A broken photo is an error, not a panic.
	if _, err := PDF(Page{Title: "x", Photo: []byte("not an image"), PhotoType: "image/jpeg"}); err == nil {
		t.Fatal("a broken photo was accepted")
	}
}

// benchToken is a permit-sized token and the key set that verifies it.
func benchToken(b *testing.B) (string, *KeySet) {
	_, priv, _ := ed25519.GenerateKey(nil)
	payload, _ := json.Marshal(map[string]any{"iss": "mizogov", "sub": "MZ-ILP-2627-012345-6", "jti": "q83vEjRWeJASNFZ4",
		"dtp": "ILP", "ptp": "TEMP", "name": "Lalthanzuala Ralte", "idm": "XXXX-XXXX-4321", "iat": 1795000000,
		"nbf": 1795000000, "exp": 1795604800})
	tok := sign(priv, "k1", payload)
	return tok, NewKeySet(map[string]ed25519.PublicKey{"k1": priv.Public().(ed25519.PublicKey)})
}

// BenchmarkVerifyOffline measures a verifier holding the key set (as a gate
// does): parse, check alg and kid, Ed25519 signature, decode the claims.
// Run: go test ./internal/docs -run x -bench VerifyOffline -cpu 1
func BenchmarkVerifyOffline(b *testing.B) {
	tok, ks := benchToken(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := ks.Verify(tok)
		if err != nil {
			b.Fatal(err)
		}
		var c struct {
			Sub string `json:"sub"`
			Exp int64  `json:"exp"`
		}
		if err := v.Claims(&c); err != nil || c.Exp == 0 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "permits/s")
}

// BenchmarkSign measures signing a permit-sized payload.
func BenchmarkSign(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(nil)
	payload := []byte(`{"sub":"MZ-ILP-2627-012345-6","name":"Lalthanzuala Ralte"}`)
	for i := 0; i < b.N; i++ {
		sign(priv, "k1", payload)
	}
}
