package secret

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
)

func TestLoadIsStableAndDeriveSeparates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		a, err := Load(ctx, d, "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := Load(ctx, d, "")
		if err != nil {
			t.Fatal(err)
		}
		if string(a.Derive("x")) != string(b.Derive("x")) {
			t.Fatal("a second load gave another master secret")
		}
		if string(a.Derive("x")) == string(a.Derive("y")) {
			t.Fatal("two labels gave the same key")
		}
	})
	if _, err := Load(context.Background(), nil, "abcd"); err == nil {
		t.Fatal("a short override was accepted")
	}
	m, err := Load(context.Background(), nil, strings.Repeat("ab", 32))
	if err != nil || len(m.Derive("otp")) != 32 {
		t.Fatalf("override: %v", err)
	}
}

func TestSealOpen(t *testing.T) {
	key := make([]byte, 32)
	other := make([]byte, 32)
	other[0] = 1
	s, err := Seal(key, []byte("seed"), []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := Open(key, s, []byte("kid-1")); err != nil || string(p) != "seed" {
		t.Fatalf("open: %q %v", p, err)
	}
	for name, try := range map[string]func() error{
		"other key":  func() error { _, err := Open(other, s, []byte("kid-1")); return err },
		"other ad":   func() error { _, err := Open(key, s, []byte("kid-2")); return err },
		"truncated":  func() error { _, err := Open(key, s[:10], []byte("kid-1")); return err },
		"not base64": func() error { _, err := Open(key, "!!", []byte("kid-1")); return err },
		"flipped": func() error {
			b := []byte(s)
			if b[20] == 'A' {
				b[20] = 'B'
			} else {
				b[20] = 'A'
			}
			_, err := Open(key, string(b), []byte("kid-1"))
			return err
		},
	} {
		if err := try(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: got %v, want ErrOpen", name, err)
		}
	}
}
