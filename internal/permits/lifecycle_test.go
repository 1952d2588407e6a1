package permits_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/auth"
)

func TestRulesAreDated(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		admin := e.Staff(t, e.Officer(t, "admin1", auth.RoleAdmin, 0, 0))
		r := e.Client().Get(t, "/api/v1/permits/types")
		for _, want := range []string{`"code":"TEMP"`, `"fee_paise":15000`, `"code":"STAY"`, `"fee_paise":20000`, `"code":"REGULAR"`,
			`"fee_paise":200000`, `"sponsor_required":true`, `"code":"TRADER"`, `"fee_paise":2000000`, `"gst_required":true`} {
			if !strings.Contains(r.Body, want) {
				t.Fatalf("types lack %s: %s", want, r.Body)
			}
		}
		change := map[string]any{"code": "TEMP", "name": "Temporary ILP", "name_lus": "ILP rei lo", "validity_days": 10, "fee_paise": 25000,
			"sponsor_required": false, "gst_required": false, "purposes": []string{"tourism", "visit"}, "max_extensions": 1,
			"extension_fee_paise": 25000, "renew_min_days": 0, "effective_from": w.day(2)}
		c := e.Citizen(t, "+919830000020")
		before := w.apply(t, c, w.application(person("Kavya Rao", "passport", "M1234567")))
		for name, bad := range map[string]map[string]any{
			"in the past":     {"effective_from": w.day(-1)},
			"no purposes":     {"purposes": []string{}},
			"unknown purpose": {"purposes": []string{"smuggling"}},
			"negative fee":    {"fee_paise": -1},
			"zero validity":   {"validity_days": 0},
		} {
			body := map[string]any{}
			for k, v := range change {
				body[k] = v
			}
			for k, v := range bad {
				body[k] = v
			}
			if r := admin.JSON(t, "POST", "/api/v1/permits/rules", body); r.Status != 422 {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}
		if r := c.JSON(t, "POST", "/api/v1/permits/rules", change); r.Status != 403 {
			t.Fatalf("citizen changes rules: %d", r.Status)
		}
		if r := admin.JSON(t, "POST", "/api/v1/permits/rules", change); r.Status != 201 {
			t.Fatalf("change: %d %s", r.Status, r.Body)
		}
		if r := admin.JSON(t, "POST", "/api/v1/permits/rules", change); r.Status != 422 {
			t.Fatalf("same date twice: %d", r.Status)
		}
		if r := e.Client().Get(t, "/api/v1/permits/types?date="+w.day(1)); !strings.Contains(r.Body, `"fee_paise":15000`) {
			t.Fatalf("tomorrow still old: %s", r.Body)
		}
		if r := e.Client().Get(t, "/api/v1/permits/types?date="+w.day(2)); !strings.Contains(r.Body, `"fee_paise":25000`) || !strings.Contains(r.Body, `"validity_days":10`) {
			t.Fatalf("from its date: %s", r.Body)
		}
		// An application made before keeps its rules, even when decided after.
		e.Clock.Advance(50 * time.Hour)
		w.relogin(t)
		c = w.citizenAgain(t, "+919830000020")
		for _, step := range []string{"verify", "approve"} {
			if r := w.act(t, w.officer, before.ID, step, ""); r.Status != 200 {
				t.Fatalf("%s: %d %s", step, r.Status, r.Body)
			}
		}
		if n := e.Count(t, `SELECT amount_paise FROM pay_demands`); n != 15000 {
			t.Fatalf("old application's fee: %d", n)
		}
		after := w.apply(t, c, w.application(person("Kavya Rao", "passport", "M1234567")))
		if n := e.Count(t, `SELECT fee_paise FROM permit_applications WHERE id = $1`, after.ID); n != 25000 {
			t.Fatalf("new application's fee: %d", n)
		}
	})
}

func TestCorrectionExtendCancelExpire(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		c := e.Citizen(t, "+919830000030")
		a := w.apply(t, c, w.application(person("Imran Khan", "dl", "DL0420110149646")))
		// An officer of another district does not see it at all.
		far := e.Staff(t, e.Officer(t, "ilp.lunglei", "ilp_officer", w.home, 7))
		if r := w.act(t, far, a.ID, "verify", ""); r.Status != 404 {
			t.Fatalf("other district: %d %s", r.Status, r.Body)
		}
		if r := far.Get(t, "/api/v1/permits/office/applications"); strings.Contains(r.Body, a.Number) {
			t.Fatal("other district's inbox lists it")
		}
		if r := w.officer.Get(t, "/api/v1/permits/office/applications?view=team"); !strings.Contains(r.Body, a.Number) {
			t.Fatalf("inbox: %s", r.Body)
		}
		// Correction: the applicant adds a person and sends it again.
		if r := w.act(t, w.officer, a.ID, "ask_correction", "Please add your travelling companion"); r.Status != 200 {
			t.Fatalf("ask: %d %s", r.Status, r.Body)
		}
		if r := w.act(t, w.officer, a.ID, "approve", ""); r.Status != 409 {
			t.Fatalf("approve while in correction: %d", r.Status)
		}
		r := c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/members", a.ID), person("Sara Khan", "passport", "N7654321"))
		if r.Status != 200 {
			t.Fatalf("add: %d %s", r.Status, r.Body)
		}
		decode(t, r, &a)
		m := a.Members[1]
		upload(t, c, fmt.Sprintf("/api/v1/permits/applications/%d/members/%d/photo", a.ID, m.ID), tinyPNG)
		upload(t, c, fmt.Sprintf("/api/v1/permits/applications/%d/members/%d/idscan", a.ID, m.ID), tinyPNG)
		if r := c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/submit", a.ID), nil); r.Status != 200 || !strings.Contains(r.Body, `"status":"submitted"`) {
			t.Fatalf("resubmit: %d %s", r.Status, r.Body)
		}
		// A stale version is refused (two officers at once).
		if r := w.officer.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/office/applications/%d/act", a.ID), map[string]any{"action": "verify", "version": 1}); r.Status != 409 {
			t.Fatalf("stale version: %d %s", r.Status, r.Body)
		}
		for _, step := range []string{"verify", "approve"} {
			if r := w.act(t, w.officer, a.ID, step, ""); r.Status != 200 {
				t.Fatalf("%s: %d %s", step, r.Status, r.Body)
			}
		}
		w.pay(t, c, a.ID)
		// Extension before expiry: a new application on the same permits.
		r = c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/extend", a.ID), nil)
		if r.Status != 201 {
			t.Fatalf("extend: %d %s", r.Status, r.Body)
		}
		var ext app
		decode(t, r, &ext)
		if r := c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/extend", a.ID), nil); r.Status != 409 {
			t.Fatalf("second extension while one waits: %d", r.Status)
		}
		for _, step := range []string{"verify", "approve"} {
			if r := w.act(t, w.officer, ext.ID, step, ""); r.Status != 200 {
				t.Fatalf("ext %s: %d %s", step, r.Status, r.Body)
			}
		}
		w.pay(t, c, ext.ID)
		var p permit
		r = c.Get(t, fmt.Sprintf("/api/v1/permits/applications/%d", a.ID))
		var v struct{ Permits []permit }
		decode(t, r, &v)
		p = v.Permits[0]
		if e.Count(t, `SELECT extensions FROM permits WHERE number = $1`, p.Number) != 1 {
			t.Fatal("not extended")
		}
		// TEMP allows one extension only.
		if r := c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/extend", a.ID), nil); r.Status != 409 {
			t.Fatalf("third extension: %d %s", r.Status, r.Body)
		}
		// After 14 days (7 + 7) the permit has expired; with an entry and no exit it is an overstay.
		w.police.JSON(t, "POST", "/api/v1/permits/gate/events", map[string]any{"events": []any{map[string]any{"event_id": "evt-lifecycle-1",
			"number": p.Number, "gate": "VRT", "kind": "entry", "result": "valid", "at": e.Clock.Now().UTC().Format(time.RFC3339)}}})
		e.Clock.Advance(16 * 24 * time.Hour)
		w.relogin(t)
		if g := w.gate(t, map[string]string{"token": p.Token}); g["result"] != "expired" {
			t.Fatalf("expired: %v", g)
		}
		rep := w.officer.Get(t, "/api/v1/permits/reports/overstays")
		if !strings.Contains(rep.Body, p.Number) {
			t.Fatalf("overstays: %s", rep.Body)
		}
		csv := w.officer.Get(t, "/api/v1/permits/reports/overstays?format=csv")
		if !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") || !strings.Contains(csv.Body, p.Number) {
			t.Fatalf("csv: %s", csv.Body)
		}
		if r := w.officer.Get(t, "/api/v1/permits/reports/daily?from=2026-13-01"); r.Status != 422 {
			t.Fatalf("bad range: %d", r.Status)
		}
		if r := w.officer.Get(t, "/api/v1/permits/reports/nonsense"); r.Status != 404 {
			t.Fatalf("unknown report: %d", r.Status)
		}
		// Extending after expiry is refused.
		c = w.citizenAgain(t, "+919830000030")
		if r := c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/extend", a.ID), nil); r.Status != 409 {
			t.Fatalf("extend after expiry: %d", r.Status)
		}
	})
}

func TestCancelAndDecline(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		c := e.Citizen(t, "+919830000040")
		// Cancel issued permits: the gate then says REVOKED (cancelled).
		a, ps := w.issued(t, c, w.application(person("Neha Gupta", "passport", "P1234567")))
		if r := c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/cancel", a.ID), nil); r.Status != 200 {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
		if g := w.gate(t, map[string]string{"number": ps[0].Number}); g["result"] != "revoked" || g["reason"] != "cancelled" {
			t.Fatalf("cancelled at gate: %v", g)
		}
		if r := c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/cancel", a.ID), nil); r.Status != 409 {
			t.Fatalf("cancel twice: %d", r.Status)
		}
		// A sponsor declines: the application says so and nothing reaches the office.
		sp := e.Citizen(t, "+919862000600")
		sp.JSON(t, "PUT", "/api/v1/permits/sponsor", map[string]any{"epic": "MZC1111111", "name": "Zoramthanga", "locality": "Kolasib", "district_id": w.kolasib})
		body := w.application(person("Ravi Verma", "passport", "R1234567"))
		body["type"], body["purpose"], body["sponsor_epic"] = "REGULAR", "work", "MZC1111111"
		b := w.apply(t, c, body)
		if r := sp.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/sponsor/requests/%d/decline", b.ID), nil); r.Status != 200 || !strings.Contains(r.Body, "sponsor_declined") {
			t.Fatalf("decline: %d %s", r.Status, r.Body)
		}
		if r := sp.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/sponsor/requests/%d/confirm", b.ID), nil); r.Status != 409 {
			t.Fatalf("confirm after decline: %d", r.Status)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM wf_cases WHERE ref = $1`, b.Number); n != 0 {
			t.Fatal("a declined application reached the office")
		}
		// The sponsor may read the application that names them; the applicant cannot sponsor themselves.
		if r := sp.Get(t, fmt.Sprintf("/api/v1/permits/applications/%d", b.ID)); r.Status != 200 {
			t.Fatalf("sponsor reads: %d", r.Status)
		}
		// Pages of the flow work without JavaScript.
		browser := e.Client()
		browser.Token = c.Token
		for _, p := range []string{"/permits", "/permits/apply", fmt.Sprintf("/permits/applications/%d", a.ID), "/permits/sponsor"} {
			if r := browser.Get(t, p); r.Status != 200 || len(r.Body) > 40<<10 {
				t.Errorf("%s: %d, %d bytes", p, r.Status, len(r.Body))
			}
		}
		form := url.Values{"type": {"TEMP"}, "purpose": {"tourism"}, "places": {"Aizawl"}, "entry_point": {"SRG"}, "entry_date": {w.day(9)},
			"local_contact": {"Hotel"}, "name": {"Web User"}, "gender": {"m"}, "birth_date": {"1980-01-01"}, "address": {"Delhi"},
			"id_type": {"passport"}, "id_number": {"Z1234567"}}
		r := browser.Post(t, "/permits/apply", form)
		if r.Status != 422 || !strings.Contains(r.Body, "error-summary") || !strings.Contains(r.Body, `value="Web User"`) {
			t.Fatalf("form error page: %d", r.Status)
		}
		form.Set("entry_date", w.day(2))
		if r := browser.Post(t, "/permits/apply", form); r.Status != 303 || !strings.Contains(r.Header.Get("Location"), "done=draft") {
			t.Fatalf("form apply: %d %s", r.Status, r.Body)
		}
	})
}
