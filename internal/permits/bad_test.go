package permits_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
)

// snapshot counts what an application could change.
func snapshot(t *testing.T, e *apptest.Env) string {
	var b strings.Builder
	for _, table := range []string{"permit_applications", "permit_members", "permits", "permit_sponsorships", "wf_cases", "pay_demands", "refno_counters"} {
		fmt.Fprintf(&b, "%s=%d ", table, e.Count(t, `SELECT COUNT(*) FROM `+table))
	}
	fmt.Fprintf(&b, "active=%d", e.Count(t, `SELECT COALESCE(SUM(active), 0) FROM permit_sponsors`))
	return b.String()
}

func TestBadApplicationsChangeNothing(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		c := e.Citizen(t, "+919830000010")
		good := func() map[string]any { return w.application(person("Meera Iyer", "aadhaar", "234123412346")) }
		with := func(k string, v any) map[string]any { a := good(); a[k] = v; return a }
		member := func(k string, v any) map[string]any {
			a := good()
			m := person("Meera Iyer", "aadhaar", "234123412346")
			m[k] = v
			a["members"] = []any{m}
			return a
		}
		many := good()
		var crowd []any
		for i := 0; i < 21; i++ {
			crowd = append(crowd, person(fmt.Sprintf("Tourist %02d", i), "passport", fmt.Sprintf("K12345%02d", i)))
		}
		many["members"] = crowd
		twice := good()
		twice["members"] = []any{person("Meera Iyer", "pan", "ABCDE1234F"), person("Meera Two", "pan", "abcde 1234 f")}
		regular := with("type", "REGULAR")
		regular["purpose"] = "work"
		trader := with("type", "TRADER")
		trader["purpose"] = "trade"
		trader["gst_number"] = "27AAPFU0939F1ZX" // check character wrong (…ZV is right)

		cases := []struct {
			name  string
			body  any
			field string
		}{
			{"entry 8 days ahead", with("entry_date", w.day(8)), "entry_date"},
			{"entry yesterday", with("entry_date", w.day(-1)), "entry_date"},
			{"entry not a date", with("entry_date", "27/11/2026"), "entry_date"},
			{"unknown type", with("type", "VIP"), "type"},
			{"purpose the type does not allow", with("purpose", "work"), "purpose"},
			{"unknown entry point", with("entry_point", "XYZ"), "entry_point"},
			{"no places", with("places", "  "), "places"},
			{"no local contact", with("local_contact", ""), "local_contact"},
			{"regular ILP without a sponsor", regular, "sponsor_epic"},
			{"sponsor EPIC malformed", func() map[string]any {
				r := with("type", "REGULAR")
				r["purpose"] = "work"
				r["sponsor_epic"] = "MZ12"
				return r
			}(), "sponsor_epic"},
			{"trader with a wrong GSTIN", trader, "gst_number"},
			{"Aadhaar check digit wrong", member("id_number", "234123412345"), "id_number"},
			{"PAN malformed", member("id_type", "pan"), "id_number"},
			{"unknown ID type", member("id_type", "ration"), "id_type"},
			{"born in the future", member("birth_date", w.day(3)), "birth_date"},
			{"name too short", member("name", "M"), "name"},
			{"no address", member("address", ""), "address"},
			{"bad phone", member("phone", "12345"), "phone"},
			{"no people", with("members", []any{}), "members"},
			{"21 people", many, "members"},
			{"same document twice", twice, "members.1.id_number"},
		}
		before := snapshot(t, e)
		for _, tc := range cases {
			r := c.JSON(t, "POST", "/api/v1/permits/applications", tc.body)
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
				continue
			}
			fields, _ := r.JSON(t)["error"].(map[string]any)["fields"].(map[string]any)
			if _, ok := fields[tc.field]; !ok {
				t.Errorf("%s: no error on %s: %s", tc.name, tc.field, r.Body)
			}
		}
		for name, body := range map[string]string{"unknown field": `{"type":"TEMP","colour":"red"}`, "not JSON": `{"type":`, "wrong type": `{"members":"x"}`} {
			if r := c.JSON(t, "POST", "/api/v1/permits/applications", body); r.Status != 400 {
				t.Errorf("%s: %d", name, r.Status)
			}
		}
		if after := snapshot(t, e); after != before {
			t.Fatalf("refused applications changed something:\n%s\n%s", before, after)
		}

		// A draft without photos cannot be submitted; a too-large or fake photo is refused.
		r := c.JSON(t, "POST", "/api/v1/permits/applications", good())
		var a app
		decode(t, r, &a)
		if r := c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/submit", a.ID), nil); r.Status != 422 || !strings.Contains(r.Body, "photo_") {
			t.Fatalf("submit without photos: %d %s", r.Status, r.Body)
		}
		mp := fmt.Sprintf("/api/v1/permits/applications/%d/members/%d/photo", a.ID, a.Members[0].ID)
		if r := upload(t, c, mp, []byte("GIF89a not really")); r.Status < 400 || r.Status >= 500 {
			t.Fatalf("fake photo: %d %s", r.Status, r.Body)
		}
		if r := upload(t, c, mp, make([]byte, 3<<20)); r.Status != 413 && r.Status != 422 && r.Status != 400 {
			t.Fatalf("huge photo: %d", r.Status)
		}
		other := e.Citizen(t, "+919830000011")
		if r := upload(t, other, mp, tinyPNG); r.Status != 404 {
			t.Fatalf("someone else's upload: %d", r.Status)
		}
		// The same Idempotency-Key twice creates one application.
		c.Header.Set("Idempotency-Key", "apply-once-1")
		first := c.JSON(t, "POST", "/api/v1/permits/applications", good())
		again := c.JSON(t, "POST", "/api/v1/permits/applications", good())
		c.Header.Del("Idempotency-Key")
		if first.Status != 201 || again.Status != 201 || first.Body != again.Body || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("idempotency: %d %d", first.Status, again.Status)
		}
		// The entry date is checked again at submission: a draft left too long cannot go.
		w.apply(t, c, good()) // fine today
		r = c.JSON(t, "POST", "/api/v1/permits/applications", good())
		decode(t, r, &a)
		for _, m := range a.Members {
			upload(t, c, fmt.Sprintf("/api/v1/permits/applications/%d/members/%d/photo", a.ID, m.ID), tinyPNG)
			upload(t, c, fmt.Sprintf("/api/v1/permits/applications/%d/members/%d/idscan", a.ID, m.ID), tinyPNG)
		}
		e.Clock.Advance(3 * 24 * time.Hour)
		c = w.citizenAgain(t, "+919830000010")
		if r := c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/submit", a.ID), nil); r.Status != 422 || !strings.Contains(r.Body, "entry_date") {
			t.Fatalf("stale draft: %d %s", r.Status, r.Body)
		}
	})
}

func TestSponsorCapHoldsUnderConcurrency(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		sponsor := e.Citizen(t, "+919862000555")
		if r := sponsor.JSON(t, "PUT", "/api/v1/permits/sponsor", map[string]any{"epic": "MZA1234567", "name": "Lalbiakzuala",
			"locality": "Kolasib, Diakkawn", "district_id": w.kolasib}); r.Status != 200 {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		// The same EPIC cannot be taken by another account.
		if r := e.Citizen(t, "+919862000556").JSON(t, "PUT", "/api/v1/permits/sponsor", map[string]any{"epic": "mza 1234567",
			"name": "Someone Else", "locality": "Aizawl", "district_id": 1}); r.Status != 422 || !strings.Contains(r.Body, "epic") {
			t.Fatalf("EPIC taken twice: %d %s", r.Status, r.Body)
		}
		const n = 14
		ids := make([]int64, n)
		for i := range n {
			c := e.Citizen(t, fmt.Sprintf("+9198300001%02d", i))
			body := w.application(person(fmt.Sprintf("Worker %02d", i), "passport", fmt.Sprintf("L12345%02d", i)))
			body["type"], body["purpose"], body["sponsor_epic"], body["local_contact"] = "REGULAR", "work", "MZA1234567", ""
			a := w.apply(t, c, body)
			if a.Status != "sponsor_pending" {
				t.Fatalf("status %s", a.Status)
			}
			ids[i] = a.ID
		}
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = sponsor.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/sponsor/requests/%d/confirm", ids[i]), nil).Status
			}()
		}
		wg.Wait()
		ok, capped := 0, 0
		for _, c := range codes {
			switch c {
			case 200:
				ok++
			case 409:
				capped++
			default:
				t.Fatalf("confirm: %v", codes)
			}
		}
		if ok != 10 || capped != 4 {
			t.Fatalf("confirmed %d, capped %d: %v", ok, capped, codes)
		}
		if a := e.Count(t, `SELECT active FROM permit_sponsors`); a != 10 {
			t.Fatalf("active %d", a)
		}
		if s := e.Count(t, `SELECT COUNT(*) FROM permit_sponsorships WHERE released_at IS NULL`); s != 10 {
			t.Fatalf("sponsorships %d", s)
		}
		if c := e.Count(t, `SELECT COUNT(*) FROM wf_cases`); c != 10 {
			t.Fatalf("cases %d", c)
		}
		// A refusal frees a place; then one more can be confirmed.
		var first int64
		for i, c := range codes {
			if c == 200 {
				first = ids[i]
				break
			}
		}
		if r := w.act(t, w.officer, first, "reject", "Sponsor's EPIC does not match the electoral roll"); r.Status != 200 {
			t.Fatalf("reject: %d %s", r.Status, r.Body)
		}
		for i, c := range codes {
			if c == 409 {
				if r := sponsor.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/sponsor/requests/%d/confirm", ids[i]), nil); r.Status != 200 {
					t.Fatalf("after a place freed: %d %s", r.Status, r.Body)
				}
				break
			}
		}
		if a := e.Count(t, `SELECT active FROM permit_sponsors`); a != 10 {
			t.Fatalf("active after release and confirm: %d", a)
		}
		// Only the sponsor named can confirm; a stranger sees nothing.
		stranger := e.Citizen(t, "+919862000557")
		stranger.JSON(t, "PUT", "/api/v1/permits/sponsor", map[string]any{"epic": "MZB7654321", "name": "Other Sponsor", "locality": "Aizawl", "district_id": 1})
		if r := stranger.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/sponsor/requests/%d/confirm", ids[0]), nil); r.Status != 404 {
			t.Fatalf("stranger confirms: %d", r.Status)
		}
	})
}
