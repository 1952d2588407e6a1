package grievance_test

import (
	"net/http"
	"net/url"
	"testing"

	"mizogov/internal/app/apptest"
)

func TestHelpdeskFilesForCaller(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		b := o.browser(t, "helpdesk")
		page := b.Get(t, "/grievances/helpdesk/new")
		m := tokenRE.FindStringSubmatch(page.Body)
		if page.Status != http.StatusOK || m == nil {
			t.Fatalf("form: %d", page.Status)
		}
		form := url.Values{"token": {m[1]}, "caller_name": {"Pu Lalthanga"}, "contact": {"98620 55555"}, "category": {"pothole"},
			"description": {"The road to Durtlang is broken near the church"}, "district": {"1"}, "lang": {"lus"}, "attr.size": {"small"}}
		// Bad input: each problem by its field, nothing filed, no one created.
		before := e.Count(t, `SELECT COUNT(*) FROM people`)
		for field, bad := range map[string]string{"caller_name": "", "contact": "12345", "category": "nope", "description": "", "district": "x",
			"attr.size": "huge", "lat": "95.1"} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			f.Set(field, bad)
			if field == "lat" {
				f.Set("lng", "92.7")
			}
			r := b.Post(t, "/grievances/helpdesk/new", f)
			if r.Status != http.StatusUnprocessableEntity || !contains(r.Body, "error-summary") || !contains(r.Body, "The road to Durtlang") && field != "description" {
				t.Errorf("%s=%q: %d", field, bad, r.Status)
			}
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances`); n != 0 {
			t.Fatalf("%d grievances filed from bad input", n)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM people`); n != before {
			t.Fatal("a person was created from bad input")
		}
		// Filed for a new caller, who owns it and gets the acknowledgement.
		r := b.Post(t, "/grievances/helpdesk/new", form)
		if r.Status != http.StatusSeeOther || !contains(r.Header.Get("Location"), "filed=MZ-GRV") {
			t.Fatalf("file: %d %s\n%s", r.Status, r.Header.Get("Location"), r.Body)
		}
		var caller, filedBy int64
		var channel, name string
		if err := e.App.DB.R().QueryRow(`SELECT citizen_id, filed_by, channel, caller_name FROM grv_grievances`).Scan(&caller, &filedBy, &channel, &name); err != nil {
			t.Fatal(err)
		}
		if filedBy != o.creds["helpdesk"].PersonID || channel != "helpdesk" || name != "Pu Lalthanga" {
			t.Errorf("filed_by %d channel %s name %s", filedBy, channel, name)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM people WHERE id = $1 AND phone = '+919862055555' AND name = 'Pu Lalthanga' AND lang = 'lus'`, caller); n != 1 {
			t.Error("caller not recorded as a person")
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM wf_cases WHERE owner_id = $1`, caller); n != 1 {
			t.Error("the caller does not own the case")
		}
		waitSMSText(t, e, "+919862055555", "MZ-GRV")
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'person.create' AND subject_id = $1`, caller); n != 1 {
			t.Error("person creation not audited")
		}
		// A double-clicked submit files once.
		if r := b.Post(t, "/grievances/helpdesk/new", form); r.Status != http.StatusSeeOther {
			t.Errorf("second submit: %d", r.Status)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances`); n != 1 {
			t.Errorf("%d grievances after a double submit", n)
		}
		// A known caller (by phone) is found, not created again.
		form.Set("token", "second-form-token")
		form.Set("contact", "+919862000011")
		if r := b.Post(t, "/grievances/helpdesk/new", form); r.Status != http.StatusSeeOther {
			t.Fatalf("known caller: %d", r.Status)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances WHERE citizen_id = $1`, o.citizenID); n != 1 {
			t.Error("not filed for the known citizen")
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM people WHERE phone = '+919862000011'`); n != 1 {
			t.Error("the known citizen was duplicated")
		}
		// "Show the villages" redraws the form without filing.
		f := url.Values{"token": {"x"}, "district": {"1"}, "step": {"villages"}}
		if r := b.Post(t, "/grievances/helpdesk/new", f); r.Status != http.StatusOK {
			t.Errorf("villages step: %d", r.Status)
		}
		// Officers without the help-desk grant may not use it.
		if r := o.browser(t, "field").Get(t, "/grievances/helpdesk/new"); r.Status != http.StatusForbidden {
			t.Errorf("field officer: %d", r.Status)
		}
	})
}
