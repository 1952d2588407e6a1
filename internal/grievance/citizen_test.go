package grievance_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"mizogov/internal/app/apptest"
)

const citizenPhone = "+919862011111"

// TestCitizenJourney is the whole citizen journey over HTTP: sign in by
// OTP, file with a phone photo (stored without its location), see it in
// "my grievances", track it signed out (no personal data), the officer
// resolves it, the citizen rates it 2 and appeals.
func TestCitizenJourney(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		// Signed out, filing asks to sign in and comes back.
		anon := e.Client()
		if r := anon.Get(t, "/grievances/new"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=") {
			t.Fatalf("signed out: %d %s", r.Status, r.Header.Get("Location"))
		}
		home := anon.Get(t, "/grievances")
		for _, want := range []string{"Potholes", "Public Works Department", `action="/grievances/track"`, "/grievances/dashboard", "/signin?next=%2Fgrievances%2Fnew"} {
			if !strings.Contains(home.Body, want) {
				t.Errorf("home page lacks %q", want)
			}
		}
		b := w.signIn(t, citizenPhone)
		// Step 1: categories by department; step 2: the category's questions and the district's villages.
		if r := b.Get(t, "/grievances/new"); r.Status != 200 || !strings.Contains(r.Body, `value="road-pothole"`) || !strings.Contains(r.Body, "Public Works Department") {
			t.Fatalf("step 1: %d", r.Status)
		}
		step2 := b.Get(t, "/grievances/new?category=road-pothole&district=1")
		for _, want := range []string{"Dawrpui", `name="attr.size"`, `type="checkbox" name="attr.kinds"`, `name="attr.width"`, `id="attr.since" name="attr.since" type="date"`,
			`name="attr.landmark"`, `<textarea id="attr.story"`, "Call 112 in an emergency", "At most 4000 characters", `src="/grievances/citizen.js"`} {
			if !strings.Contains(step2.Body, want) {
				t.Errorf("step 2 lacks %q", want)
			}
		}
		if ch := b.Get(t, "/grievances/new?change=1&category=road-pothole&district=1"); ch.Status != 200 || !strings.Contains(ch.Body, `value="road-pothole" checked`) {
			t.Errorf("change the category: %d", ch.Status)
		}
		if strings.Contains(step2.Body, "Venglai") {
			t.Error("step 2 offers a village of another district")
		}
		if strings.Contains(step2.Body, "<script>") || strings.Contains(step2.Body, "style=") {
			t.Error("inline script or style")
		}
		token := tokenRE.FindStringSubmatch(step2.Body)[1]
		jpg := phoneJPEG(t)
		if app1Segments(t, jpg) != 1 || !strings.Contains(string(jpg), "TestCam") {
			t.Fatal("the test photo has no EXIF")
		}
		r := postForm(t, b, w.good(token), photo{"pothole.jpg", jpg})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("file: %d %s", r.Status, r.Body)
		}
		ref := refRE.FindStringSubmatch(r.Header.Get("Location"))[1]
		page := b.Get(t, r.Header.Get("Location"))
		if page.Status != 200 || !strings.Contains(page.Body, ref) || !strings.Contains(page.Body, "acknowledgement") {
			t.Fatalf("grievance page: %d", page.Status)
		}
		for _, want := range []string{"House 12, Church Road", "Large", "Edge, Hole", "1.5", "A deep pothole"} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("owner's page lacks %q", want)
			}
		}
		if body := waitSMS(t, e, citizenPhone, "grievance.filed"); !strings.Contains(body, ref) {
			t.Errorf("acknowledgement without the reference: %q", body)
		}
		// The photo is stored without its location and served to the owner.
		m := regexp.MustCompile(`/grievances/photos/(\d+)`).FindString(page.Body)
		if m == "" {
			t.Fatal("no photo on the page")
		}
		ph := b.Get(t, m)
		if ph.Status != 200 || ph.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("photo: %d %s", ph.Status, ph.Header.Get("Content-Type"))
		}
		if app1Segments(t, []byte(ph.Body)) != 0 || strings.Contains(ph.Body, "TestCam") {
			t.Error("the stored photo still carries EXIF")
		}
		if r := anon.Get(t, m); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
			t.Errorf("photo signed out: %d", r.Status)
		}
		// My grievances.
		mine := b.Get(t, "/grievances/mine")
		if mine.Status != 200 || !strings.Contains(mine.Body, ref) || !strings.Contains(mine.Body, "With the department") {
			t.Fatalf("mine: %d", mine.Status)
		}
		if h := b.Get(t, "/grievances"); !strings.Contains(h.Body, ref) {
			t.Error("home page lacks the citizen's recent grievance")
		}
		// Tracking signed out: status and place, no personal data.
		tr := anon.Get(t, "/grievances/track?ref="+url.QueryEscape(strings.ToLower(ref)))
		if tr.Status != http.StatusSeeOther || tr.Header.Get("Location") != "/grievances/t/"+ref {
			t.Fatalf("track: %d %s", tr.Status, tr.Header.Get("Location"))
		}
		pub := anon.Get(t, "/grievances/t/"+ref)
		if pub.Status != 200 || !strings.Contains(pub.Body, "Potholes") || !strings.Contains(pub.Body, "Dawrpui") || !strings.Contains(pub.Body, "Aizawl") {
			t.Fatalf("public page: %d", pub.Status)
		}
		for _, secret := range []string{"9862011111", "House 12", "23.7276", "92.7176", "/grievances/photos/"} {
			if strings.Contains(pub.Body, secret) {
				t.Errorf("the public page shows %q", secret)
			}
		}
		// The officer resolves; the citizen rates 2 and appeals.
		w.officerAct(t, ref, "resolve", "Filled with concrete on 20 November.")
		if p := anon.Get(t, "/grievances/t/"+ref); !strings.Contains(p.Body, "Filled with concrete") || !strings.Contains(p.Body, "Grievance officer") {
			t.Error("the public page lacks the officer's public reply by role")
		}
		if r := b.Post(t, "/grievances/g/"+ref+"/rate", url.Values{"version": {w.version(t, ref)}, "rating": {"2"}, "comment": {"Half of it is still open."}}); r.Status != http.StatusSeeOther {
			t.Fatalf("rate: %d %s", r.Status, r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances WHERE ref = $1 AND rating = 2 AND rated_at IS NOT NULL AND rating_comment = 'Half of it is still open.'`, ref); n != 1 {
			t.Fatal("rating not stored")
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'grievance.rate' AND object_id = $1`, ref); n != 1 {
			t.Errorf("rating audited %d times", n)
		}
		if r := b.Post(t, "/grievances/g/"+ref+"/appeal", url.Values{"version": {w.version(t, ref)}, "comment": {"Nothing was done on the edge."}}); r.Status != http.StatusSeeOther {
			t.Fatalf("appeal: %d %s", r.Status, r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances g JOIN wf_cases c ON c.id = g.case_id WHERE g.ref = $1 AND c.state = 'appeal' AND g.appealed_at IS NOT NULL`, ref); n != 1 {
			t.Fatal("not under appeal")
		}
		if p := b.Get(t, "/grievances/g/"+ref); !strings.Contains(p.Body, "Under appeal") || !strings.Contains(p.Body, "Nothing was done on the edge.") {
			t.Error("the owner's page does not show the appeal")
		}
		// The same in Mizo.
		b.Lang = "lus"
		if p := b.Get(t, "/grievances/g/"+ref); !strings.Contains(p.Body, "Appeal kal mek") {
			t.Error("the Mizo page lacks the Mizo state")
		}
	})
}

// TestCitizenAPI files through the JSON API with a base64 photo and an
// Idempotency-Key, lists, reads (owner, officer, stranger) and supports.
func TestCitizenAPI(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		c := e.Citizen(t, citizenPhone)
		body := map[string]any{"category": "road-pothole", "description": "Pothole at the bus stop", "district_id": 1,
			"village_id": w.aizawlV, "lat": 23.73, "lng": 92.72, "attributes": map[string][]string{"size": {"small"}},
			"photos": []map[string]string{{"name": "p.jpg", "data": base64.StdEncoding.EncodeToString(phoneJPEG(t))}}}
		c.Header.Set("Idempotency-Key", "k-1")
		r1 := c.JSON(t, "POST", "/api/v1/grievances", body)
		r2 := c.JSON(t, "POST", "/api/v1/grievances", body)
		c.Header.Del("Idempotency-Key")
		if r1.Status != http.StatusCreated || r2.Status != http.StatusCreated {
			t.Fatalf("file: %d %s / %d", r1.Status, r1.Body, r2.Status)
		}
		ref := r1.JSON(t)["ref"].(string)
		if r2.JSON(t)["ref"] != ref || e.Count(t, `SELECT COUNT(*) FROM grv_grievances`) != 1 {
			t.Fatal("the retried call filed again")
		}
		if ph := r1.JSON(t)["photos"].([]any); len(ph) != 1 {
			t.Fatalf("photos: %v", ph)
		}
		if l := c.Get(t, "/api/v1/grievances"); l.Status != 200 || !strings.Contains(l.Body, ref) {
			t.Fatalf("mine: %d %s", l.Status, l.Body)
		}
		if g := c.Get(t, "/api/v1/grievances/"+ref); g.Status != 200 || g.JSON(t)["version"].(float64) < 1 {
			t.Fatalf("get: %d %s", g.Status, g.Body)
		}
		officer := e.Staff(t, w.gro)
		if g := officer.Get(t, "/api/v1/grievances/"+ref); g.Status != 200 {
			t.Fatalf("officer of the jurisdiction: %d", g.Status)
		}
		photoURL := r1.JSON(t)["photos"].([]any)[0].(string)
		if p := officer.Get(t, photoURL); p.Status != 200 || p.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("photo for the officer of the jurisdiction: %d", p.Status)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'grievance.photo_read' AND object_id = $1`, ref); n != 1 {
			t.Errorf("officer's photo read audited %d times", n)
		}
		other := e.Staff(t, e.Officer(t, "gro.pwd.lgl", "grievance_officer", w.pwd, 7))
		if g := other.Get(t, "/api/v1/grievances/"+ref); g.Status != http.StatusNotFound {
			t.Fatalf("officer of another district: %d", g.Status)
		}
		if p := other.Get(t, photoURL); p.Status != http.StatusNotFound {
			t.Fatalf("photo for an officer of another district: %d", p.Status)
		}
		neighbour := e.Citizen(t, "+919862022222")
		if g := neighbour.Get(t, "/api/v1/grievances/"+ref); g.Status != http.StatusNotFound {
			t.Fatalf("stranger: %d", g.Status)
		}
		if p := neighbour.Get(t, photoURL); p.Status != http.StatusNotFound {
			t.Fatalf("photo for a stranger: %d", p.Status)
		}
		s := neighbour.JSON(t, "POST", "/api/v1/grievances/"+ref+"/support", nil)
		if s.Status != 200 || s.JSON(t)["supporters"].(float64) != 1 {
			t.Fatalf("support: %d %s", s.Status, s.Body)
		}
		if n := e.Count(t, `SELECT priority FROM wf_cases WHERE ref = $1`, ref); n != 1 {
			t.Errorf("priority %d after one supporter", n)
		}
		if p := e.Client().Get(t, "/grievances/t/"+ref); !strings.Contains(p.Body, "1 other people") {
			t.Error("the tracking page lacks the supporter count")
		}
		// A note through /info (the case is not waiting for information).
		v := c.Get(t, "/api/v1/grievances/"+ref).JSON(t)["version"]
		if r := c.JSON(t, "POST", "/api/v1/grievances/"+ref+"/info", map[string]any{"version": v, "comment": "It is getting bigger."}); r.Status != 200 {
			t.Fatalf("note: %d %s", r.Status, r.Body)
		}
		// The OpenAPI document describes the citizen API.
		doc := e.Client().Get(t, "/api/openapi.json")
		for _, p := range []string{`"/api/v1/grievances"`, `"/api/v1/grievances/{ref}/appeal"`, `"APIFiling"`} {
			if !strings.Contains(doc.Body, p) {
				t.Errorf("OpenAPI lacks %s", p)
			}
		}
	})
}

// TestCitizenDemoData checks the demo seeder: every state, every district,
// a year of history written at the time of each step, and the demo
// citizen's own grievances.
func TestCitizenDemoData(t *testing.T) {
	apptest.Each(t, apptest.Options{Demo: true}, func(t *testing.T, e *apptest.Env) {
		for _, st := range []string{"submitted", "assigned", "info_requested", "resolved", "rejected", "appeal", "appeal_decided", "merged"} {
			if n := e.Count(t, `SELECT COUNT(*) FROM wf_cases WHERE type = 'grievance' AND state = $1`, st); n < 3 {
				t.Errorf("%d demo grievances in %s", n, st)
			}
		}
		if n := e.Count(t, `SELECT COUNT(DISTINCT district_id) FROM grv_grievances`); n != 11 {
			t.Errorf("demo grievances in %d districts", n)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances`); n < 300 {
			t.Errorf("%d demo grievances", n)
		}
		old := e.Clock.Now().AddDate(0, -11, 0)
		if n := e.Count(t, `SELECT COUNT(*) FROM wf_history h JOIN wf_cases c ON c.id = h.case_id WHERE c.type = 'grievance' AND h.at < $1`, old); n < 10 {
			t.Errorf("%d history rows older than 11 months", n)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM wf_history h JOIN wf_cases c ON c.id = h.case_id WHERE c.type = 'grievance' AND h.at > $1`, e.Clock.Now()); n != 0 {
			t.Errorf("%d history rows in the future", n)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances WHERE rating IS NOT NULL`); n < 50 {
			t.Errorf("%d rated", n)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances WHERE merged_into IS NOT NULL`); n < 3 {
			t.Errorf("%d merged", n)
		}
		c := e.Citizen(t, "+919862000001")
		r := c.Get(t, "/api/v1/grievances")
		if r.Status != 200 || r.JSON(t)["total"].(float64) < 5 {
			t.Fatalf("the demo citizen's grievances: %d %s", r.Status, r.Body)
		}
	})
}
