package grievance_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/grievance"
)

// TestOpen311Updates: GET servicerequestupdates lists public steps; POST
// lets the client that filed a request add the reporter's words, once per
// update_id, and nothing else.
func TestOpen311Updates(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		x := setupO311(t, e)
		file := func(key, phone string) (string, int64) {
			f := potholeForm(key)
			if phone != "" {
				f.Set("phone", phone)
			}
			r := x.post(t, "/requests.json", f)
			if r.Status != 200 {
				t.Fatalf("post: %d %s", r.Status, r.Body)
			}
			ref := checkJSON(t, r, "posted").([]any)[0].(map[string]any)["service_request_id"].(string)
			var id int64
			if err := e.App.DB.R().QueryRow(`SELECT case_id FROM grv_grievances WHERE ref = $1`, ref).Scan(&id); err != nil {
				t.Fatal(err)
			}
			return ref, id
		}
		start := e.Clock.Now()
		mine, mineID := file(x.key, "9862011111")
		anon, _ := file(x.key, "")
		theirs, _ := file(x.other, "9862022222")
		e.Clock.Advance(time.Hour)

		update := func(key, ref, id, status, desc string) url.Values {
			return url.Values{"api_key": {key}, "service_request_id": {ref}, "update_id": {id}, "status": {status},
				"updated_datetime": {zonedTime(e.Clock.Now())}, "description": {desc}}
		}
		history := func() int { return e.Count(t, `SELECT COUNT(*) FROM wf_history`) }
		h0 := history()
		r := x.post(t, "/servicerequestupdates.json", update(x.key, mine, "fms-1", "OPEN", "It is getting deeper; call me at 98620 11111"))
		if r.Status != 200 {
			t.Fatalf("update: %d %s", r.Status, r.Body)
		}
		uid := checkJSON(t, r, "posted_updates").([]any)[0].(map[string]any)["update_id"]
		// The same update_id again: the same answer, nothing new.
		var px struct {
			Updates []struct {
				UpdateID string `xml:"update_id"`
			} `xml:"request_update"`
		}
		r = x.post(t, "/servicerequestupdates.xml", update(x.key, mine, "fms-1", "OPEN", "It is getting deeper; call me at 98620 11111"))
		checkXML(t, r, &px)
		if len(px.Updates) != 1 || px.Updates[0].UpdateID != uid || history() != h0+1 {
			t.Errorf("replayed update: %+v (first %v), history %d → %d", px, uid, h0, history())
		}
		var action, role string
		if err := e.App.DB.R().QueryRow(`SELECT action, role FROM wf_history WHERE case_id = $1 ORDER BY seq DESC LIMIT 1`, mineID).Scan(&action, &role); err != nil {
			t.Fatal(err)
		}
		if action != "note" || role != "owner" {
			t.Errorf("the update was %s as %s", action, role)
		}

		// Refused, and nothing recorded.
		for _, c := range []struct {
			name   string
			form   url.Values
			status int
		}{
			{"no key", update("", mine, "u1", "OPEN", "x"), 403},
			{"key without scope", update(x.noPerm, mine, "u1", "OPEN", "x"), 403},
			{"another client's request", update(x.key, theirs, "u1", "OPEN", "x"), 403},
			{"no reporter", update(x.key, anon, "u1", "OPEN", "x"), 400},
			{"closing", update(x.key, mine, "u1", "CLOSED", "fixed it myself"), 400},
			{"fixed", update(x.key, mine, "u1", "FIXED", "x"), 400},
			{"no description", update(x.key, mine, "u1", "OPEN", ""), 400},
			{"long description", update(x.key, mine, "u1", "OPEN", strings.Repeat("a", 4001)), 400},
			{"no update_id", update(x.key, mine, "", "OPEN", "x"), 400},
			{"time without zone", func() url.Values {
				f := update(x.key, mine, "u1", "OPEN", "x")
				f.Set("updated_datetime", "2026-11-27T10:00:00")
				return f
			}(), 400},
			{"unknown request", update(x.key, "MZ-GRV-2627-999999-1", "u1", "OPEN", "x"), 404},
			{"reopening an open one", update(x.key, mine, "u1", "REOPEN", "x"), 400},
		} {
			r := x.post(t, "/servicerequestupdates.json", c.form)
			if r.Status != c.status {
				t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
				continue
			}
			checkJSON(t, r, "errors")
		}
		if history() != h0+1 || e.Count(t, `SELECT COUNT(*) FROM grv_open311_updates`) != 1 {
			t.Errorf("a refused update changed something")
		}

		// The officer asks; the client's next update answers (add_info).
		x.officer(t, mineID, "ask_info", "Which side of the road?")
		e.Clock.Advance(time.Hour)
		if r := x.post(t, "/servicerequestupdates.json", update(x.key, mine, "fms-2", "", "The left side, going north")); r.Status != 200 {
			t.Fatalf("answer: %d %s", r.Status, r.Body)
		}
		var state string
		if err := e.App.DB.R().QueryRow(`SELECT state FROM wf_cases WHERE id = $1`, mineID).Scan(&state); err != nil || state != grievance.StSubmitted {
			t.Errorf("after the answer: %s %v", state, err)
		}
		// Resolved, then reopened by the reporter within the time allowed.
		e.Clock.Advance(time.Hour)
		x.officer(t, mineID, "resolve", "Filled")
		e.Clock.Advance(time.Hour)
		if r := x.post(t, "/servicerequestupdates.json", update(x.key, mine, "fms-3", "REOPEN", "It broke again")); r.Status != 200 {
			t.Fatalf("reopen: %d %s", r.Status, r.Body)
		}
		var reopened int
		if err := e.App.DB.R().QueryRow(`SELECT c.state, g.reopened FROM wf_cases c JOIN grv_grievances g ON g.case_id = c.id WHERE c.id = $1`, mineID).
			Scan(&state, &reopened); err != nil || state != grievance.StSubmitted || reopened != 1 {
			t.Errorf("after reopening: %s %d %v", state, reopened, err)
		}
		x.officer(t, mineID, "resolve", "Filled again")
		e.Clock.Advance(16 * 24 * time.Hour)
		if r := x.post(t, "/servicerequestupdates.json", update(x.key, mine, "fms-4", "REOPEN", "Broken once more")); r.Status != 400 {
			t.Errorf("late reopen: %d %s", r.Status, r.Body)
		}

		// GET: the public steps, oldest first; the reporter's words are not shown.
		q := url.Values{"start_date": {zonedTime(start)}, "end_date": {zonedTime(e.Clock.Now())}, "service_request_id": {mine}}
		r = x.get(t, "/servicerequestupdates.json?"+q.Encode())
		list := checkJSON(t, r, "updates").([]any)
		if strings.Contains(r.Body, "98620") || strings.Contains(r.Body, "left side") {
			t.Errorf("the reporter's words are public: %s", r.Body)
		}
		var statuses []string
		for _, u := range list {
			m := u.(map[string]any)
			statuses = append(statuses, m["status"].(string)+":"+m["external_status_code"].(string))
		}
		want := "open:submitted open:info_requested open:submitted closed:resolved open:submitted closed:resolved"
		if strings.Join(statuses, " ") != want {
			t.Errorf("updates: %v", statuses)
		}
		var ux xUpdates
		checkXML(t, x.get(t, "/servicerequestupdates.xml?"+q.Encode()), &ux)
		if len(ux.Updates) != 6 || ux.Updates[3].Description != "Filled" || ux.Updates[3].ServiceRequestID != mine {
			t.Errorf("updates.xml %+v", ux)
		}
		// Default window, aliases, paging and bad arguments.
		if got := checkJSON(t, x.get(t, "/servicerequestupdates.json?page_size=2&page=2"), "updates").([]any); len(got) != 2 {
			t.Errorf("page 2: %d", len(got))
		}
		if got := checkJSON(t, x.get(t, "/servicerequestupdates.json?updated_after="+url.QueryEscape(zonedTime(e.Clock.Now().Add(-time.Minute)))), "updates").([]any); len(got) != 0 {
			t.Errorf("updated_after now: %d", len(got))
		}
		for _, bad := range []string{"start_date=2026-11-01T00:00:00", "page=0", "start_date=" + url.QueryEscape(zonedTime(start)) + "&end_date=" +
			url.QueryEscape(zonedTime(start.Add(100*24*time.Hour)))} {
			r := x.get(t, "/servicerequestupdates.json?"+bad)
			if r.Status != 400 {
				t.Errorf("%s: %d", bad, r.Status)
			}
			checkJSON(t, r, "errors")
		}
	})
}

// TestOpen311Messages: every message key of the Open311 part, including
// those built at run time, is in both catalogs.
func TestOpen311Messages(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	cat := e.App.Cat
	keys := map[string]bool{}
	re := regexp.MustCompile(`"(grievance\.o311_[a-z0-9_]+)"`)
	paths, _ := filepath.Glob("open311*.go")
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
	}
	for _, a := range grievance.Workflow().Actions {
		keys["grievance.o311_step_"+a.Name] = true
	}
	keys["grievance.o311_step_create"] = true
	for _, dt := range grievance.AttrTypes {
		keys["grievance.o311_dt_"+dt] = true
	}
	if len(keys) < 40 {
		t.Fatalf("only %d keys found", len(keys))
	}
	for _, lang := range []string{"en", "lus"} {
		b, err := os.ReadFile(filepath.Join("i18n", "open311", lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			t.Fatal(err)
		}
		for k := range keys {
			if strings.HasSuffix(k, "_") {
				continue // a prefix completed at run time (listed above)
			}
			if msgs[k] == "" || !cat.Has(k) {
				t.Errorf("%s missing in %s", k, lang)
			}
		}
	}
}
