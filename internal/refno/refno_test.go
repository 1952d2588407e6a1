package refno_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/refno"
)

func TestFY(t *testing.T) {
	cases := map[string]string{
		"2026-03-31T18:29:00Z": "2526", // 23:59 IST on 31 March
		"2026-03-31T18:31:00Z": "2627", // 00:01 IST on 1 April
		"2026-11-27T10:00:00Z": "2627",
		"2099-12-31T00:00:00Z": "9900",
	}
	for in, want := range cases {
		tm, _ := time.Parse(time.RFC3339, in)
		if got := refno.FY(tm); got != want {
			t.Errorf("FY(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestVerhoeffKnownValue(t *testing.T) {
	// The classic worked example: 236 has check digit 3.
	if refno.Verhoeff("236") != 3 {
		t.Fatal("Verhoeff(236) != 3")
	}
}

func TestParseCatchesTypos(t *testing.T) {
	good := refno.Format("GRV", "2627", 123)
	if good != "MZ-GRV-2627-000123-"+fmt.Sprint(refno.Verhoeff("2627000123")) {
		t.Fatal(good)
	}
	if c, svc, err := refno.Parse(" mz-grv-2627-000123-" + good[len(good)-1:] + " "); err != nil || c != good || svc != "GRV" {
		t.Fatalf("Parse = %q %q %v", c, svc, err)
	}
	digits := []byte(good)
	for i, ch := range digits {
		if ch < '0' || ch > '9' {
			continue
		}
		for d := byte('0'); d <= '9'; d++ {
			if d == ch {
				continue
			}
			typo := append([]byte(nil), digits...)
			typo[i] = d
			if _, _, err := refno.Parse(string(typo)); !errors.Is(err, refno.ErrInvalid) {
				t.Errorf("single typo %s accepted", typo)
			}
		}
		if i+1 < len(digits) && digits[i+1] >= '0' && digits[i+1] <= '9' && digits[i+1] != ch {
			swap := append([]byte(nil), digits...)
			swap[i], swap[i+1] = swap[i+1], swap[i]
			if _, _, err := refno.Parse(string(swap)); !errors.Is(err, refno.ErrInvalid) {
				t.Errorf("swap %s accepted", swap)
			}
		}
	}
	for _, bad := range []string{"", "MZ-GRV-2627-12-1", "XX-GRV-2627-000123-1", "MZ-GRV-2627-000123", "MZ-G1V-2627-000123-1", "'; DROP TABLE x;--"} {
		if _, _, err := refno.Parse(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNextConcurrentNoDuplicatesNoGaps(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		seen := map[string]bool{}
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got string
				err := d.Tx(ctx, func(tx *db.Tx) (err error) {
					got, err = refno.Next(ctx, tx, "GRV", now)
					if err == nil && i%4 == 0 {
						return errors.New("caller failed") // gives its number back
					}
					return err
				})
				if err != nil {
					return
				}
				mu.Lock()
				seen[got] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(seen) != 30 {
			t.Fatalf("%d distinct numbers, want 30", len(seen))
		}
		for n := int64(1); n <= 30; n++ {
			if !seen[refno.Format("GRV", "2627", n)] {
				t.Fatalf("gap at %d", n)
			}
		}
		// Another service and the next year count separately.
		var a, b string
		d.Tx(ctx, func(tx *db.Tx) error {
			a, _ = refno.Next(ctx, tx, "ILP", now)
			b, _ = refno.Next(ctx, tx, "GRV", now.AddDate(1, 0, 0))
			return nil
		})
		if a != refno.Format("ILP", "2627", 1) || b != refno.Format("GRV", "2728", 1) {
			t.Fatalf("a=%s b=%s", a, b)
		}
	})
}
