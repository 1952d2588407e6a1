package grievance_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"mizogov/internal/app/apptest"
)

// TestAPIFile: the JSON route files, repeats by Idempotency-Key, and
// refuses bad input with a clear 4xx that changes nothing.
func TestAPIFile(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		_, cat, district := perfSetup(t, e)
		c := e.Citizen(t, "+919862100003")
		body := fmt.Sprintf(`{"category":%q,"description":"Street light out near the school","district_id":%d,"lat":23.73,"lng":92.72}`, cat, district)
		c.Header.Set("Idempotency-Key", "first")
		r := c.JSON(t, "POST", "/api/v1/grievances", body)
		if r.Status != http.StatusCreated {
			t.Fatalf("file: %d %s", r.Status, r.Body)
		}
		ref := r.JSON(t)["ref"].(string)
		r = c.JSON(t, "POST", "/api/v1/grievances", body)
		if r.Status != http.StatusOK || r.JSON(t)["ref"] != ref {
			t.Fatalf("repeat: %d %s, want 200 with %s", r.Status, r.Body, ref)
		}
		c.Header.Del("Idempotency-Key")
		bad := []struct {
			name, body string
			status     int
			field      string
		}{
			{"no category", fmt.Sprintf(`{"description":"x","district_id":%d}`, district), 422, "category"},
			{"unknown category", fmt.Sprintf(`{"category":"nope","description":"x","district_id":%d}`, district), 422, "category"},
			{"no description", fmt.Sprintf(`{"category":%q,"description":"  ","district_id":%d}`, cat, district), 422, "description"},
			{"long description", fmt.Sprintf(`{"category":%q,"description":%q,"district_id":%d}`, cat, strings.Repeat("a", 4001), district), 422, "description"},
			{"no district", fmt.Sprintf(`{"category":%q,"description":"x"}`, cat), 422, "district"},
			{"unknown district", fmt.Sprintf(`{"category":%q,"description":"x","district_id":999}`, cat), 422, "district"},
			{"outside Mizoram", fmt.Sprintf(`{"category":%q,"description":"x","district_id":%d,"lat":28.6,"lng":77.2}`, cat, district), 422, "lat"},
			{"lat alone", fmt.Sprintf(`{"category":%q,"description":"x","district_id":%d,"lat":23.7}`, cat, district), 422, "lat"},
			{"unknown field", fmt.Sprintf(`{"category":%q,"description":"x","district_id":%d,"priority":1}`, cat, district), 400, ""},
			{"malformed", `{"category":`, 400, ""},
			{"wrong type", `{"district_id":"one"}`, 400, ""},
		}
		for _, b := range bad {
			r := c.JSON(t, "POST", "/api/v1/grievances", b.body)
			if r.Status != b.status {
				t.Errorf("%s: %d %s, want %d", b.name, r.Status, r.Body, b.status)
				continue
			}
			if b.field != "" && !strings.Contains(r.Body, `"`+b.field+`"`) {
				t.Errorf("%s: %s names no field %q", b.name, r.Body, b.field)
			}
		}
		c.Header.Set("Idempotency-Key", strings.Repeat("k", 256))
		if r := c.JSON(t, "POST", "/api/v1/grievances", body); r.Status != http.StatusBadRequest {
			t.Errorf("long Idempotency-Key: %d", r.Status)
		}
		anon := e.Client()
		if r := anon.JSON(t, "POST", "/api/v1/grievances", body); r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
			t.Errorf("signed out: %d", r.Status)
		}
		if got := e.Count(t, `SELECT COUNT(*) FROM grv_grievances`); got != 1 {
			t.Fatalf("%d grievances, want 1", got)
		}
	})
}
