package grievance_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/grievance"
	"mizogov/internal/refno"
)

// unknownRef is a well-formed reference that no grievance has.
var unknownRef = refno.Format(grievance.RefService, "2627", 999999)

// snapshot counts what a refused request must not change.
func snapshot(t testing.TB, e *apptest.Env) string {
	t.Helper()
	return fmt.Sprint(
		e.Count(t, `SELECT COUNT(*) FROM grv_grievances`),
		e.Count(t, `SELECT COUNT(*) FROM wf_history`),
		e.Count(t, `SELECT COUNT(*) FROM grv_photos`),
		e.Count(t, `SELECT COUNT(*) FROM files`),
		e.Count(t, `SELECT COUNT(*) FROM grv_supporters`),
		e.Count(t, `SELECT COUNT(*) FROM grv_attribute_values`),
		e.Count(t, `SELECT COALESCE(SUM(rating), 0) + COALESCE(SUM(reopened), 0) + COALESCE(SUM(supporters), 0) FROM grv_grievances`),
		e.Count(t, `SELECT COUNT(*) FROM grv_grievances WHERE appealed_at IS NOT NULL OR rated_at IS NOT NULL`),
		e.Count(t, `SELECT COALESCE(SUM(version), 0) FROM wf_cases`),
	)
}

// refused checks that a request got status and changed nothing.
func refused(t *testing.T, e *apptest.Env, name string, status int, do func() *apptest.Response, says ...string) {
	t.Helper()
	before := snapshot(t, e)
	r := do()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d\n%.400s", name, r.Status, status, r.Body)
	}
	if r.Status >= 500 {
		t.Errorf("%s: server error", name)
	}
	for _, s := range says {
		if !strings.Contains(r.Body, s) {
			t.Errorf("%s: the answer does not say %q\n%.600s", name, s, r.Body)
		}
	}
	if after := snapshot(t, e); after != before {
		t.Errorf("%s changed the database: %s → %s", name, before, after)
	}
}

// TestCitizenBadFiling: every bad filing is refused with a clear 4xx, keeps
// what was typed, and files nothing.
func TestCitizenBadFiling(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		b := w.signIn(t, citizenPhone)
		tok := formToken(t, b)
		with := func(edit func(url.Values)) url.Values {
			v := w.good(tok)
			edit(v)
			return v
		}
		cases := []struct {
			name   string
			edit   func(url.Values)
			photos []photo
			status int
			says   []string
		}{
			{"unknown category", func(v url.Values) { v.Set("category", "no-such-thing") }, nil, 422, []string{"That category does not exist"}},
			{"empty description", func(v url.Values) { v.Set("description", "   ") }, nil, 422, []string{"Describe the problem", "House 12, Church Road"}},
			{"4001 characters", func(v url.Values) { v.Set("description", strings.Repeat("ṭ", 4001)) }, nil, 422, []string{"Use at most 4000 characters (this has 4001)"}},
			{"not an image", func(v url.Values) {}, []photo{{"x.jpg", []byte("%PDF-1.4 this is not a photo at all")}}, 422,
				[]string{"choose them again", "A deep pothole"}},
			{"outside Mizoram", func(v url.Values) { v.Set("lat", "28.61"); v.Set("lng", "77.21") }, nil, 422, []string{"That place is outside Mizoram"}},
			{"only latitude", func(v url.Values) { v.Del("lng") }, nil, 422, []string{"Give both latitude and longitude"}},
			{"coordinate not a number", func(v url.Values) { v.Set("lat", "north") }, nil, 422, []string{"Enter a number in decimal degrees"}},
			{"village of another district", func(v url.Values) { v.Set("village", itoa(w.lungleiV)) }, nil, 422, []string{"Choose a village in the district you chose"}},
			{"unknown district", func(v url.Values) { v.Set("district", "99") }, nil, 422, []string{"That district does not exist"}},
			{"required attribute missing", func(v url.Values) { v.Del("attr.size") }, nil, 422, []string{"Answer this question"}},
			{"attribute not in the list", func(v url.Values) { v.Set("attr.size", "huge") }, nil, 422, []string{"Choose from the list"}},
			{"attribute not a number", func(v url.Values) { v.Set("attr.width", "wide") }, nil, 422, []string{"Enter a number"}},
			{"attribute not a date", func(v url.Values) { v.Set("attr.since", "last week") }, nil, 422, []string{"Enter a date as YYYY-MM-DD"}},
			{"four photos", func(v url.Values) {}, []photo{{"1.jpg", phoneJPEG(t)}, {"2.jpg", phoneJPEG(t)}, {"3.jpg", phoneJPEG(t)}, {"4.jpg", phoneJPEG(t)}}, 422, nil},
			{"forged token", func(v url.Values) { v.Set("token", "web:1:abc") }, nil, 400, nil},
		}
		for _, c := range cases {
			refused(t, e, c.name, c.status, func() *apptest.Response { return postForm(t, b, with(c.edit), c.photos...) }, c.says...)
		}
		// A 20 MB body is refused before it is read.
		refused(t, e, "20 MB upload", http.StatusRequestEntityTooLarge, func() *apptest.Response {
			return postForm(t, b, w.good(tok), photo{"big.jpg", bytes.Repeat([]byte{0xFF}, 20<<20)})
		})
		// A photo over 5 MB in a body under the limit.
		refused(t, e, "6 MB photo", 422, func() *apptest.Response {
			return postForm(t, b, w.good(tok), photo{"big.jpg", append(phoneJPEG(t), bytes.Repeat([]byte{0}, 6<<20)...)})
		}, "5 MB")
		// The JSON API refuses the same way.
		e.Clock.Advance(time.Minute) // one code a phone every 20 seconds
		c := e.Citizen(t, citizenPhone)
		api := map[string]any{"category": "road-pothole", "description": "x", "district_id": 1, "attributes": map[string][]string{"size": {"small"}}}
		refused(t, e, "API unknown field", 400, func() *apptest.Response {
			return c.JSON(t, "POST", "/api/v1/grievances", map[string]any{"category": "road-pothole", "colour": "red"})
		}, "colour")
		refused(t, e, "API village of another district", 422, func() *apptest.Response {
			v := map[string]any{"village_id": w.lungleiV}
			for k, x := range api {
				v[k] = x
			}
			return c.JSON(t, "POST", "/api/v1/grievances", v)
		}, "village")
		refused(t, e, "API photo not base64", 422, func() *apptest.Response {
			v := map[string]any{"photos": []map[string]string{{"data": "***"}}}
			for k, x := range api {
				v[k] = x
			}
			return c.JSON(t, "POST", "/api/v1/grievances", v)
		}, "photos.0")
		// Double submit: the same token files exactly one grievance.
		v := w.good(formToken(t, b))
		r1 := postForm(t, b, v)
		r2 := postForm(t, b, v)
		if r1.Status != http.StatusSeeOther || r2.Status != http.StatusSeeOther || r1.Header.Get("Location") != r2.Header.Get("Location") {
			t.Fatalf("double submit: %d %s / %d %s", r1.Status, r1.Header.Get("Location"), r2.Status, r2.Header.Get("Location"))
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances`); n != 1 {
			t.Fatalf("double submit filed %d grievances", n)
		}
		// Another person's form token cannot reach the first person's grievance.
		other := w.signIn(t, "+919862033333")
		r3 := postForm(t, other, v)
		if r3.Status != http.StatusSeeOther || r3.Header.Get("Location") == r1.Header.Get("Location") {
			t.Fatalf("another person's submit with the same token: %d %s", r3.Status, r3.Header.Get("Location"))
		}
	})
}

// TestCitizenBadActions: rating, reopening, appealing and supporting out of
// turn, strangers and stale versions are refused and change nothing.
func TestCitizenBadActions(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		b := w.signIn(t, citizenPhone)
		stranger := w.signIn(t, "+919862044444")
		ref := w.file(t, b, nil)
		act := func(c *apptest.Client, ref, action string, v url.Values) func() *apptest.Response {
			return func() *apptest.Response {
				if v.Get("version") == "" {
					v.Set("version", w.version(t, ref))
				}
				return c.Post(t, "/grievances/g/"+ref+"/"+action, v)
			}
		}
		// Open case: no rating, no reopen, no appeal.
		refused(t, e, "rate an open case", 409, act(b, ref, "rate", url.Values{"rating": {"4"}}), "only once it is resolved")
		refused(t, e, "reopen an open case", 409, act(b, ref, "reopen", url.Values{"comment": {"again"}}))
		refused(t, e, "appeal an open case", 409, act(b, ref, "appeal", url.Values{"comment": {"again"}}))
		refused(t, e, "note without text", 422, act(b, ref, "note", url.Values{"comment": {" "}}))
		refused(t, e, "stale version", 409, act(b, ref, "note", url.Values{"comment": {"x"}, "version": {"99"}}), "Reload")
		refused(t, e, "unknown action", 404, act(b, ref, "delete", url.Values{}))
		// Strangers: 404 everywhere, never a hint that it exists.
		missing := stranger.Get(t, "/grievances/g/"+unknownRef)
		refused(t, e, "stranger reads", 404, func() *apptest.Response { return stranger.Get(t, "/grievances/g/"+ref) })
		if got := stranger.Get(t, "/grievances/g/"+ref); got.Status != missing.Status || strings.Contains(got.Body, "Potholes") || strings.Contains(got.Body, "Dawrpui") {
			t.Error("a stranger learns something about the grievance")
		}
		refused(t, e, "stranger notes", 404, act(stranger, ref, "note", url.Values{"comment": {"mine now"}}))
		refused(t, e, "stranger rates", 404, act(stranger, ref, "rate", url.Values{"rating": {"1"}}))
		e.Clock.Advance(time.Minute) // one code a phone every 20 seconds
		sapi := e.Citizen(t, "+919862044444")
		refused(t, e, "stranger API read", 404, func() *apptest.Response { return sapi.Get(t, "/api/v1/grievances/"+ref) })
		refused(t, e, "stranger API appeal", 404, func() *apptest.Response {
			return sapi.JSON(t, "POST", "/api/v1/grievances/"+ref+"/appeal", map[string]any{"version": 1, "comment": "x"})
		})
		// Me too: not one's own, not twice.
		refused(t, e, "support own", 409, func() *apptest.Response { return b.Post(t, "/grievances/t/"+ref+"/support", nil) }, "You filed this grievance yourself")
		if r := stranger.Post(t, "/grievances/t/"+ref+"/support", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("support: %d %s", r.Status, r.Body)
		}
		refused(t, e, "support twice", 409, func() *apptest.Response {
			return sapi.JSON(t, "POST", "/api/v1/grievances/"+ref+"/support", nil)
		}, "already said")
		refused(t, e, "support unknown", 404, func() *apptest.Response {
			return stranger.Post(t, "/grievances/t/"+unknownRef+"/support", nil)
		})
		// Unknown and malformed references on the tracking page.
		refused(t, e, "track malformed", 404, func() *apptest.Response { return e.Client().Get(t, "/grievances/track?ref=hello") }, "not a reference number")
		refused(t, e, "track unknown", 404, func() *apptest.Response {
			return e.Client().Get(t, "/grievances/track?ref="+unknownRef)
		}, "No grievance has that reference number")
		refused(t, e, "track path unknown", 404, func() *apptest.Response { return e.Client().Get(t, "/grievances/t/"+unknownRef) })

		// Resolved: rate once; a rating of 4 does not allow an appeal.
		w.officerAct(t, ref, "resolve", "Done.")
		refused(t, e, "support a closed case", 409, func() *apptest.Response {
			return e.Citizen(t, "+919862055555").JSON(t, "POST", "/api/v1/grievances/"+ref+"/support", nil)
		})
		refused(t, e, "rating 7", 422, act(b, ref, "rate", url.Values{"rating": {"7"}}), "from 1 to 5")
		refused(t, e, "rating comment too long", 422, act(b, ref, "rate", url.Values{"rating": {"3"}, "comment": {strings.Repeat("a", 1001)}}))
		if r := act(b, ref, "rate", url.Values{"rating": {"4"}})(); r.Status != http.StatusSeeOther {
			t.Fatalf("rate: %d %s", r.Status, r.Body)
		}
		refused(t, e, "rate twice", 409, act(b, ref, "rate", url.Values{"rating": {"1"}}), "already rated")
		refused(t, e, "appeal after a good rating", 409, act(b, ref, "appeal", url.Values{"comment": {"hmm"}}), "Rate the answer 1 or 2 first")
		// Reopen within 15 days works; after 15 days it does not.
		ref2 := w.file(t, b, func(v url.Values) { v.Set("token", "second-token-0123456789") })
		w.officerAct(t, ref2, "resolve", "Done.")
		e.Clock.Advance(16 * 24 * time.Hour)
		b = w.signIn(t, citizenPhone)
		refused(t, e, "reopen after 15 days", 409, act(b, ref2, "reopen", url.Values{"comment": {"still broken"}}), "within 15 days")
		ref3 := w.file(t, b, func(v url.Values) { v.Set("token", "third-token-0123456789") })
		w.officerAct(t, ref3, "resolve", "Done.")
		e.Clock.Advance(14 * 24 * time.Hour)
		b = w.signIn(t, citizenPhone)
		if r := act(b, ref3, "reopen", url.Values{"comment": {"still broken"}})(); r.Status != http.StatusSeeOther {
			t.Fatalf("reopen within 15 days: %d %s", r.Status, r.Body)
		}
		if n := e.Count(t, `SELECT reopened FROM grv_grievances WHERE ref = $1`, ref3); n != 1 {
			t.Errorf("reopened = %d", n)
		}
	})
}
