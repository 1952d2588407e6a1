package permits_test

import (
	"testing"

	"mizogov/internal/app/apptest"
)

func TestDemoHasEveryState(t *testing.T) {
	apptest.Each(t, apptest.Options{Demo: true}, func(t *testing.T, e *apptest.Env) {
		for _, st := range []string{"draft", "sponsor_pending", "submitted", "under_verification", "correction", "approved", "rejected", "cancelled", "issued", "revoked"} {
			if n := e.Count(t, `SELECT COUNT(*) FROM permit_applications WHERE status = $1`, st); n == 0 {
				t.Errorf("no demo application is %s", st)
			}
		}
		now := e.Clock.Now()
		if n := e.Count(t, `SELECT COUNT(*) FROM permits WHERE status = 'active' AND valid_to < $1`, now.UTC()); n == 0 {
			t.Error("no expired permit")
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM permits WHERE status = 'revoked'`); n == 0 {
			t.Error("no revoked permit")
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM permits WHERE status = 'active' AND valid_to > $1`, now.UTC()); n < 4 {
			t.Errorf("valid permits: %d", n)
		}
		if err := e.App.SeedDemo(t.Context()); err != nil { // a second run adds nothing
			t.Fatal(err)
		}
	})
}
