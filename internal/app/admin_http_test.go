package app_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mizogov/internal/app/apptest"
	"mizogov/internal/audit"
	"mizogov/internal/auth"
)

func TestAdminManagesDepartmentsOfficersAndGrants(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		admin := e.StaffBrowser(t, e.Officer(t, "root", auth.RoleAdmin, 0, 0))
		if r := admin.Get(t, "/admin"); r.Status != 200 {
			t.Fatalf("/admin %d", r.Status)
		}
		// Bad department input is shown back with field errors; nothing is written.
		r := admin.Post(t, "/admin/departments", url.Values{"code": {"x"}, "name": {""}, "name_lus": {"Hriselna"}})
		if r.Status != 422 || !strings.Contains(r.Body, `href="#code"`) || !strings.Contains(r.Body, `href="#name"`) || !strings.Contains(r.Body, `value="Hriselna"`) {
			t.Fatalf("bad department: %d\n%s", r.Status, r.Body)
		}
		if r := admin.Post(t, "/admin/departments", url.Values{"code": {"hfw"}, "name": {"Health & Family Welfare"}, "name_lus": {"Hriselna"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("create department: %d %s", r.Status, r.Body)
		}
		if r := admin.Post(t, "/admin/departments", url.Values{"code": {"HFW"}, "name": {"Again"}, "name_lus": {"Again"}}); r.Status != 422 || !strings.Contains(r.Body, "already has this code") {
			t.Fatalf("duplicate department: %d", r.Status)
		}
		var hfw int64
		e.App.DB.R().QueryRow(`SELECT id FROM departments WHERE code = 'HFW'`).Scan(&hfw)
		if r := admin.Post(t, "/admin/departments/"+itoa(hfw), url.Values{"name": {"Health"}, "name_lus": {"Hriselna"}, "active": {"on"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("update department: %d %s", r.Status, r.Body)
		}
		if r := admin.Get(t, "/admin/departments/999999"); r.Status != 404 {
			t.Fatalf("missing department: %d", r.Status)
		}
		// Create an officer: the password and secret are shown once.
		r = admin.Post(t, "/admin/officers", url.Values{"username": {"dr.mawii"}, "name": {"Dr Mawii"}, "phone": {"9862011111"},
			"role": {"hod"}, "department": {itoa(hfw)}, "district": {""}})
		if r.Status != http.StatusCreated || !strings.Contains(r.Body, "otpauth://totp/mizogov:dr.mawii") {
			t.Fatalf("create officer: %d\n%s", r.Status, r.Body)
		}
		password := regexp.MustCompile(`<span class="secret">([A-Za-z0-9]{16})</span>`).FindStringSubmatch(r.Body)
		secret := regexp.MustCompile(`secret=([A-Z2-7]+)`).FindStringSubmatch(r.Body)
		if password == nil || secret == nil {
			t.Fatal("credentials not shown")
		}
		officer := e.Staff(t, auth.Credentials{Username: "dr.mawii", Password: password[1], TOTPSecret: secret[1]})
		roles := officer.Get(t, "/api/v1/me").JSON(t)["roles"].([]any)
		if len(roles) != 1 || roles[0].(map[string]any)["role"] != "hod" {
			t.Fatalf("roles %v", roles)
		}
		// Bad officer input.
		r = admin.Post(t, "/admin/officers", url.Values{"username": {"Dr Mawii!"}, "name": {""}, "phone": {"123"}, "role": {"emperor"}, "department": {"abc"}})
		if r.Status != 422 || strings.Count(r.Body, `class="field-error"`) < 3 {
			t.Fatalf("bad officer: %d\n%s", r.Status, r.Body)
		}
		r = admin.Post(t, "/admin/officers", url.Values{"username": {"dr.mawii"}, "name": {"Another"}, "role": {"officer"}})
		if r.Status != 422 || !strings.Contains(r.Body, "already in use") {
			t.Fatalf("duplicate username: %d", r.Status)
		}
		var id int64
		e.App.DB.R().QueryRow(`SELECT person_id FROM staff_accounts WHERE username = 'dr.mawii'`).Scan(&id)
		// Grants: add one for a district, refuse a duplicate, remove it.
		if r := admin.Post(t, "/admin/officers/"+itoa(id)+"/grants", url.Values{"role": {"officer"}, "district": {"1"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("add grant: %d %s", r.Status, r.Body)
		}
		if r := admin.Post(t, "/admin/officers/"+itoa(id)+"/grants", url.Values{"role": {"officer"}, "district": {"1"}}); r.Status != 422 {
			t.Fatalf("duplicate grant: %d", r.Status)
		}
		var grant int64
		e.App.DB.R().QueryRow(`SELECT id FROM grants WHERE person_id = $1 AND role = 'officer'`, id).Scan(&grant)
		if r := admin.Post(t, "/admin/officers/"+itoa(id)+"/grants/"+itoa(grant)+"/remove", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("remove grant: %d", r.Status)
		}
		// Disabling is confirmed first, and ends the officer's sessions.
		if r := admin.Get(t, "/admin/officers/"+itoa(id)+"/disable"); r.Status != 200 || !strings.Contains(r.Body, "Disable this account?") {
			t.Fatalf("confirm page: %d", r.Status)
		}
		if r := admin.Post(t, "/admin/officers/"+itoa(id)+"/disable", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("disable: %d", r.Status)
		}
		if r := officer.Get(t, "/api/v1/me"); r.Status != 401 {
			t.Fatalf("disabled officer still signed in: %d", r.Status)
		}
		if r := admin.Post(t, "/admin/officers/"+itoa(id)+"/reset-password", nil); r.Status != 200 || !strings.Contains(r.Body, "shown only now") {
			t.Fatalf("reset password: %d", r.Status)
		}
		if r := admin.Post(t, "/admin/officers/"+itoa(id)+"/explode", nil); r.Status != 404 {
			t.Fatalf("unknown action: %d", r.Status)
		}
		// Every change is in the audit log, and the chain holds.
		for _, action := range []string{"department.create", "department.update", "account.create", "grant.add", "grant.remove", "account.disable", "account.password_reset", "person.read"} {
			if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action = $1`, action); n == 0 {
				t.Errorf("no %s in the audit log", action)
			}
		}
		if _, err := audit.Verify(context.Background(), e.App.DB); err != nil {
			t.Fatal(err)
		}
	})
}

func TestJurisdictionLimitsAdmins(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		// A district admin (Aizawl, id 1) manages only Aizawl grants.
		local := e.StaffBrowser(t, e.Officer(t, "admin.aizawl", auth.RoleAdmin, 0, 1))
		champhai := e.Officer(t, "officer.champhai", auth.RoleOfficer, 0, 2)
		aizawl := e.Officer(t, "officer.aizawl", auth.RoleOfficer, 0, 1)
		for _, tc := range []struct {
			path string
			form url.Values
			want int
		}{
			{"/admin/officers", url.Values{"username": {"x.champhai"}, "name": {"X"}, "role": {"officer"}, "district": {"2"}}, 403},
			{"/admin/officers", url.Values{"username": {"x.state"}, "name": {"X"}, "role": {"officer"}}, 403},
			{"/admin/officers", url.Values{"username": {"x.admin"}, "name": {"X"}, "role": {"admin"}, "district": {"1"}}, 403},
			{"/admin/officers", url.Values{"username": {"x.aizawl"}, "name": {"X"}, "role": {"officer"}, "district": {"1"}}, 201},
			{"/admin/officers/" + itoa(champhai.PersonID) + "/reset-password", nil, 403},
			{"/admin/officers/" + itoa(champhai.PersonID) + "/grants", url.Values{"role": {"officer"}, "district": {"1"}}, 303},
			{"/admin/officers/" + itoa(champhai.PersonID) + "/disable", nil, 403}, // still holds a Champhai grant
			{"/admin/officers/" + itoa(aizawl.PersonID) + "/disable", nil, 303},
			{"/admin/departments", url.Values{"code": {"NEW"}, "name": {"N"}, "name_lus": {"N"}}, 403},
		} {
			if r := local.Post(t, tc.path, tc.form); r.Status != tc.want {
				t.Errorf("%s %v: %d, want %d", tc.path, tc.form, r.Status, tc.want)
			}
		}
		// Officers cannot reach the admin pages at all.
		officer := e.StaffBrowser(t, e.Officer(t, "plain", auth.RoleOfficer, 0, 0))
		if r := officer.Get(t, "/admin/officers"); r.Status != 403 {
			t.Fatalf("officer on admin: %d", r.Status)
		}
	})
}

func TestAuditPagesAndMyDataAccess(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		citizen := e.Citizen(t, "+919862012345")
		me := citizen.Get(t, "/api/v1/me").JSON(t)
		admin := e.StaffBrowser(t, e.Officer(t, "root", auth.RoleAdmin, 0, 0))
		// An admin looks at the citizen's record.
		if _, err := e.App.Auth.ReadPerson(context.Background(), mustPrincipal(t, e, "root"), int64(me["id"].(float64))); err != nil {
			t.Fatal(err)
		}
		access := citizen.Get(t, "/api/v1/me/data-access")
		if access.Status != 200 || !strings.Contains(access.Body, `"action":"person.read"`) || !strings.Contains(access.Body, `"by_me":true`) {
			t.Fatalf("data access: %s", access.Body)
		}
		auditor := e.StaffBrowser(t, e.Officer(t, "aud", auth.RoleAuditor, 0, 0))
		if r := admin.Get(t, "/audit"); r.Status != 403 {
			t.Fatalf("admin on audit: %d (auditing is separate from administering)", r.Status)
		}
		r := auditor.Get(t, "/audit?action=auth.")
		if r.Status != 200 || !strings.Contains(r.Body, "auth.signin") {
			t.Fatalf("audit browse: %d", r.Status)
		}
		if r := auditor.Get(t, "/audit?actor=abc&from=27-11-2026"); r.Status != 422 || !strings.Contains(r.Body, "Enter a date such as") {
			t.Fatalf("bad filters: %d", r.Status)
		}
		if r := auditor.Get(t, "/audit/verify"); r.Status != 200 || !strings.Contains(r.Body, "The log is intact") {
			t.Fatalf("verify page: %d", r.Status)
		}
	})
}

func mustPrincipal(t *testing.T, e *apptest.Env, username string) *auth.Principal {
	t.Helper()
	var id int64
	e.App.DB.R().QueryRow(`SELECT person_id FROM staff_accounts WHERE username = $1`, username).Scan(&id)
	p, err := e.App.Auth.Store.PersonByID(context.Background(), e.App.DB.R(), id)
	if err != nil {
		t.Fatal(err)
	}
	gs, _ := e.App.Auth.Store.Grants(context.Background(), e.App.DB.R(), id)
	return e.App.Auth.TestPrincipal(p, gs)
}

func itoa(n int64) string { return strconvItoa(n) }

func strconvItoa(n int64) string { return strconv.FormatInt(n, 10) }
