// Package refno allocates human-readable reference numbers such as
// MZ-GRV-2627-000123-7: state, service, Indian financial year (April–March),
// a sequence that restarts each year, and a Verhoeff check digit that
// catches every single mistyped digit and every swap of two adjacent digits.
package refno

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/db"
)

// IST is the zone that decides which financial year a moment belongs to.
var ist = time.FixedZone("IST", 5*3600+1800)

// FY returns the financial year of t as "2627" for April 2026 – March 2027.
func FY(t time.Time) string {
	t = t.In(ist)
	y := t.Year()
	if t.Month() < time.April {
		y--
	}
	return fmt.Sprintf("%02d%02d", y%100, (y+1)%100)
}

var serviceCode = regexp.MustCompile(`^[A-Z]{2,5}$`)

// Next allocates the next number for service (e.g. "GRV") inside tx. It
// takes a row lock on the counter, so concurrent callers get distinct,
// gap-free numbers, and a rolled-back transaction gives its number back.
func Next(ctx context.Context, tx db.Querier, service string, now time.Time) (string, error) {
	if !serviceCode.MatchString(service) {
		return "", fmt.Errorf("refno: bad service code %q", service)
	}
	fy := FY(now)
	var n int64
	err := tx.QueryRowContext(ctx, `INSERT INTO refno_counters (service, fy, last) VALUES ($1, $2, 1)
		ON CONFLICT (service, fy) DO UPDATE SET last = refno_counters.last + 1 RETURNING last`, service, fy).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("refno: %w", err)
	}
	return Format(service, fy, n), nil
}

// Format builds a reference number.
func Format(service, fy string, n int64) string {
	seq := fmt.Sprintf("%06d", n)
	return fmt.Sprintf("MZ-%s-%s-%s-%d", service, fy, seq, Verhoeff(fy+seq))
}

// ErrInvalid means a reference number is malformed or its check digit is wrong.
var ErrInvalid = errors.New("not a valid reference number")

var pattern = regexp.MustCompile(`^MZ-([A-Z]{2,5})-(\d{4})-(\d{6,})-(\d)$`)

// Parse normalises s (case, spaces) and checks its check digit. It returns
// the canonical form and the service code.
func Parse(s string) (canonical, service string, err error) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	m := pattern.FindStringSubmatch(s)
	if m == nil {
		return "", "", ErrInvalid
	}
	check, _ := strconv.Atoi(m[4])
	if Verhoeff(m[2]+m[3]) != check {
		return "", "", ErrInvalid
	}
	return s, m[1], nil
}

// Verhoeff tables (dihedral group D5).
var (
	vd = [10][10]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	vp = [8][10]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
	vinv = [10]int{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}
)

// Verhoeff returns the check digit for a string of decimal digits.
func Verhoeff(digits string) int {
	c := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		c = vd[c][vp[(i+1)%8][d]]
	}
	return vinv[c]
}
