package grievance

import (
	"slices"
	"testing"
)

func TestDaysHistogramRoundTrip(t *testing.T) {
	h := []int{2, 0, 5, 0, 0, 1}
	s := encodeDays(h)
	if s != "0:2 2:5 5:1" {
		t.Fatalf("encoded %q", s)
	}
	var a, b DashFigures
	if err := decodeDays(s, &a, &b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Days, h) || !slices.Equal(b.Days, h) {
		t.Fatalf("decoded %v %v", a.Days, b.Days)
	}
	if err := decodeDays("", &a); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"1", "1:", ":2", "1:2:3", "a:1", "1:2  3:4", "1:2 ", "1:12345678901"} {
		if err := decodeDays(bad, &a); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
