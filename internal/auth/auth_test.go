package auth

import (
	"strings"
	"testing"
	"time"
)

func TestTOTPRFC6238Vectors(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, secret "12345678901234567890", last 6 digits.
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1111111111: "050471", 1234567890: "005924", 2000000000: "279037", 20000000000: "353130"} {
		got, err := TOTP(secret, TOTPStep(time.Unix(unix, 0)))
		if err != nil || got != want {
			t.Errorf("T=%d: %s, want %s (%v)", unix, got, want, err)
		}
	}
	now := time.Unix(1234567890, 0)
	if step, ok := checkTOTP(secret, "005924", now, 0); !ok || step != TOTPStep(now) {
		t.Fatal("current code refused")
	}
	prev, _ := TOTP(secret, TOTPStep(now)-1)
	if _, ok := checkTOTP(secret, prev, now, 0); !ok {
		t.Fatal("code of the previous step (clock drift) refused")
	}
	old, _ := TOTP(secret, TOTPStep(now)-2)
	if _, ok := checkTOTP(secret, old, now, 0); ok {
		t.Fatal("code two steps old accepted")
	}
	if _, ok := checkTOTP(secret, "005924", now, TOTPStep(now)); ok {
		t.Fatal("replayed step accepted")
	}
	if _, err := TOTP("not base32!", 1); err == nil {
		t.Fatal("bad secret accepted")
	}
}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse battery staple")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if !CheckPassword(h, "correct horse battery staple") || CheckPassword(h, "correct horse battery stapler") {
		t.Fatal("check wrong")
	}
	if h == HashPassword("correct horse battery staple") {
		t.Fatal("no salt")
	}
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$x$y$z$w", h[:len(h)-5] + "!!!!!"} {
		if CheckPassword(bad, "x") {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
	if p := GeneratePassword(); len(p) != 16 || PasswordProblem(p, "officer.zz") != "" {
		t.Fatalf("generated %q", p)
	}
	for pw, want := range map[string]string{"short": "auth.password_short", "mizoram12345": "auth.password_common",
		"my name is officer.one ok": "auth.password_common", strings.Repeat("a", 129): "auth.password_long", "four random words here": ""} {
		if got := PasswordProblem(pw, "officer.one"); got != want {
			t.Errorf("%q: %q, want %q", pw, got, want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"9862012345": "+919862012345", "98620 12345": "+919862012345", "098620-12345": "+919862012345",
		"+91 98620 12345": "+919862012345", "919862012345": "+919862012345", "0091 9862012345": "+919862012345",
		"+44 7700 900123": "+447700900123", "+1 (415) 555-0100": "+14155550100", "+6591234567": "+6591234567",
	} {
		got, key := NormalizePhone(in)
		if got != want || key != "" {
			t.Errorf("%q: %q %q, want %q", in, got, key, want)
		}
	}
	for in, want := range map[string]string{
		"12345": "auth.phone_invalid", "+91 5862012345": "auth.phone_india", "+91 98620123": "auth.phone_india",
		"+0 123456789": "auth.phone_invalid", "+1234567890123456": "auth.phone_invalid", "98620x2345": "auth.phone_invalid",
		"447700900123": "auth.phone_country", "9+862012345": "auth.phone_invalid", "": "auth.phone_invalid",
	} {
		if _, key := NormalizePhone(in); key != want {
			t.Errorf("%q: %q, want %q", in, key, want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	if e, k := NormalizeEmail(" Mari.Lal@Example.ORG "); e != "mari.lal@example.org" || k != "" {
		t.Fatalf("%q %q", e, k)
	}
	for _, bad := range []string{"mari", "mari@", "@x.org", "mari@localhost", "Mari <m@x.org>", "m@x..org", "m@.x.org", "a b@x.org", `"q"@x.org`, "m@x.org;", strings.Repeat("a", 250) + "@x.org"} {
		if _, k := NormalizeEmail(bad); k == "" {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{"+919862012345": "+91 ••••••2345", "+447700900123": "+44 ••••••0123", "mari@example.org": "m•••@example.org", "": ""} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGrantCoversAndScopes(t *testing.T) {
	pol := NewPolicy()
	p := &Principal{Staff: true, policy: pol, Grants: []Grant{{Role: RoleOfficer, DistrictID: 1}, {Role: RoleHOD, DepartmentID: 7}}}
	if !p.CanIn(PermStaff, 3, 1) || !p.CanIn(PermStaff, 7, 5) || p.CanIn(PermStaff, 3, 2) {
		t.Fatal("jurisdiction wrong")
	}
	if p.CanIn(PermStaff, 0, 0) {
		t.Fatal("a scoped grant covers everything")
	}
	if p.Can(PermAdmin) {
		t.Fatal("officer can administer")
	}
	if s := p.Scopes(PermStaff); len(s) != 2 {
		t.Fatalf("scopes %v", s)
	}
	admin := &Principal{policy: pol, Grants: []Grant{{Role: RoleAdmin}}}
	if s := admin.Scopes(PermStaff); len(s) != 1 || s[0] != (Scope{}) {
		t.Fatalf("unscoped admin scopes %v", s)
	}
}
