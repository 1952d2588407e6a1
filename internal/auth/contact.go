package auth

import (
	"net/mail"
	"strings"
	"unicode"
)

// Contact is a normalised phone number (E.164) or email address.
type Contact struct {
	Kind  string // "phone" or "email"
	Value string
}

// ParseContact accepts a phone number or an email address. It returns the
// message key of the problem when the input is neither.
func ParseContact(s string) (Contact, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Contact{}, "auth.contact_required"
	}
	if strings.Contains(s, "@") {
		e, key := NormalizeEmail(s)
		return Contact{Kind: "email", Value: e}, key
	}
	p, key := NormalizePhone(s)
	return Contact{Kind: "phone", Value: p}, key
}

// NormalizePhone returns an E.164 number (+919862012345). Indian mobile
// numbers may be typed without the country code; any other country's
// number must start with + or 00 and its country code.
func NormalizePhone(s string) (string, string) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", "auth.phone_invalid"
		}
	}
	n := b.String()
	if strings.HasPrefix(n, "00") {
		n = "+" + n[2:]
	}
	if !strings.HasPrefix(n, "+") {
		switch {
		case len(n) == 10:
			n = "+91" + n
		case len(n) == 11 && n[0] == '0':
			n = "+91" + n[1:]
		case len(n) == 12 && strings.HasPrefix(n, "91"):
			n = "+" + n
		case len(n) < 10:
			return "", "auth.phone_invalid"
		default:
			return "", "auth.phone_country"
		}
	}
	digits := n[1:]
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", "auth.phone_invalid"
	}
	if strings.HasPrefix(digits, "91") {
		local := digits[2:]
		if len(local) != 10 || local[0] < '6' {
			return "", "auth.phone_india"
		}
	}
	return n, ""
}

// NormalizeEmail returns the address in lower case, or a problem key.
func NormalizeEmail(s string) (string, string) {
	s = strings.TrimSpace(s)
	if len(s) > 254 || strings.ContainsFunc(s, unicode.IsSpace) {
		return "", "auth.email_invalid"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", "auth.email_invalid"
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.ContainsAny(s, `"<>()[]\,;:`) {
		return "", "auth.email_invalid"
	}
	return strings.ToLower(s), ""
}

// Mask hides most of a contact for display: +91 •••••• 2345, m•••@example.org.
func Mask(v string) string {
	if v == "" {
		return ""
	}
	if local, domain, ok := strings.Cut(v, "@"); ok {
		r := []rune(local)
		return string(r[:1]) + "•••@" + domain
	}
	if len(v) <= 6 {
		return "••••"
	}
	return v[:3] + " ••••••" + v[len(v)-4:]
}
