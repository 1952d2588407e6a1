package grievance_test

import (
	"net/http"
	"net/url"
	"testing"

	"mizogov/internal/app/apptest"
	"mizogov/internal/grievance"
)

func TestCategoryAdmin(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		b := o.browser(t, "admin")
		if r := b.Get(t, "/grievances/categories"); r.Status != http.StatusOK || !contains(r.Body, "pothole") {
			t.Fatalf("list: %d", r.Status)
		}
		good := url.Values{"code": {"streetlight"}, "department": {itoa(o.pwd)}, "name": {"Street light not working"},
			"name_lus": {"Kawng eng a chhe"}, "description": {"A street light is off or broken"}, "sla_days": {"7"}, "active": {"1"},
			"keywords":    {"light bulb eng"},
			"attr_0_code": {"pole"}, "attr_0_type": {"string"}, "attr_0_desc": {"Pole number"}, "attr_0_desc_lus": {"Pole number"},
			"attr_1_code": {"kind"}, "attr_1_type": {"singlevaluelist"}, "attr_1_required": {"1"}, "attr_1_desc": {"What is wrong?"},
			"attr_1_desc_lus": {"Eng nge a chhiat?"}, "attr_1_values": {"off | Always off | A eng lo\nflicker | Flickers | A chhuak lut"}}
		count := func() int { return e.Count(t, `SELECT COUNT(*) FROM grv_categories`) }
		before := count()
		audits := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'grievance.category%'`)
		for _, tc := range []struct{ field, value, errID string }{
			{"code", "", "code-error"}, {"code", "a b", "code-error"}, {"code", "pothole", "code-error"}, {"department", "", "department-error"},
			{"department", "99999", "department-error"}, {"department", "x", "department-error"}, {"name", "", "name-error"},
			{"name_lus", "", "name_lus-error"}, {"sla_days", "0", "sla_days-error"}, {"sla_days", "366", "sla_days-error"},
			{"sla_days", "many", "sla_days-error"}, {"attr_0_code", "Pole No", "attr_0_code-error"}, {"attr_0_type", "color", "attr_0_type-error"},
			{"attr_1_values", "", "attr_1_values-error"}, {"attr_1_values", "off | Off", "attr_1_values-error"},
			{"attr_1_values", "off | Off | Eng lo\noff | Off | Eng lo", "attr_1_values-error"}, {"attr_0_desc_lus", "", "attr_0_desc_lus-error"},
			{"attr_1_code", "pole", "attr_1_code-error"},
		} {
			f := url.Values{}
			for k, v := range good {
				f[k] = v
			}
			f.Set(tc.field, tc.value)
			r := b.Post(t, "/grievances/categories/new", f)
			if r.Status != http.StatusUnprocessableEntity || !contains(r.Body, `id="`+tc.errID+`"`) || !contains(r.Body, "error-summary") {
				t.Errorf("%s=%q: %d (want an error at %s)", tc.field, tc.value, r.Status, tc.errID)
			}
		}
		if count() != before || e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'grievance.category%'`) != audits {
			t.Fatal("bad input changed something")
		}
		r := b.Post(t, "/grievances/categories/new", good)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("create: %d\n%s", r.Status, r.Body)
		}
		c, err := o.svc.CategoryByCode(t.Context(), e.App.DB.R(), "streetlight")
		if err != nil {
			t.Fatal(err)
		}
		if c.SLADays != 7 || len(c.Attributes) != 2 || c.Attributes[1].Datatype != grievance.AttrSingle || len(c.Attributes[1].Values) != 2 ||
			c.Attributes[1].Values[1].NameLus != "A chhuak lut" || !c.Attributes[1].Required || !c.Active {
			t.Errorf("saved: %+v", c)
		}
		// The default time limit is 21 days.
		f := url.Values{"code": {"garbage"}, "department": {itoa(o.pwd)}, "name": {"Garbage"}, "name_lus": {"Bawlhhlawh"}}
		if r := b.Post(t, "/grievances/categories/new", f); r.Status != http.StatusSeeOther {
			t.Fatalf("create with defaults: %d", r.Status)
		}
		if g, _ := o.svc.CategoryByCode(t.Context(), e.App.DB.R(), "garbage"); g.SLADays != 21 || g.Active {
			t.Errorf("defaults: %+v", g)
		}
		// Edit: the code stays; a removed question goes; audited with what changed.
		edit := url.Values{"department": {itoa(o.pwd)}, "name": {"Street light out"}, "name_lus": {"Kawng eng a chhe"}, "sla_days": {"5"},
			"active": {"1"}, "code": {"hijack"},
			"attr_0_code": {""}, "attr_0_desc": {""}, "attr_0_desc_lus": {""},
			"attr_1_code": {"kind"}, "attr_1_type": {"singlevaluelist"}, "attr_1_desc": {"What is wrong?"}, "attr_1_desc_lus": {"Eng nge a chhiat?"},
			"attr_1_values": {"off | Always off | A eng lo"}}
		if r := b.Post(t, "/grievances/categories/"+itoa(c.ID), edit); r.Status != http.StatusSeeOther {
			t.Fatalf("edit: %d\n%s", r.Status, r.Body)
		}
		c2, err := o.svc.CategoryByID(t.Context(), e.App.DB.R(), c.ID)
		if err != nil || c2.Code != "streetlight" || c2.Name != "Street light out" || c2.SLADays != 5 || len(c2.Attributes) != 1 ||
			c2.Attributes[0].Code != "kind" {
			t.Errorf("edited: %+v %v", c2, err)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'grievance.category_update' AND object_id = 'streetlight'`); n != 1 {
			t.Error("edit not audited")
		}
		edit.Set("sla_days", "0")
		if r := b.Post(t, "/grievances/categories/"+itoa(c.ID), edit); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("bad edit: %d", r.Status)
		}
		if r := b.Get(t, "/grievances/categories/99999"); r.Status != http.StatusNotFound {
			t.Errorf("unknown category: %d", r.Status)
		}
		if r := b.Get(t, "/grievances/categories/"+itoa(c.ID)); r.Status != http.StatusOK || !contains(r.Body, "Street light out") {
			t.Errorf("edit page: %d", r.Status)
		}
		// Only administrators.
		if r := o.browser(t, "gro").Get(t, "/grievances/categories"); r.Status != http.StatusForbidden {
			t.Errorf("grievance officer: %d", r.Status)
		}
	})
}

// TestOfficerMessages checks the keys built at run time.
func TestOfficerMessages(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	var keys []string
	for _, a := range grievance.OfficerActions {
		keys = append(keys, "grievance.office_act_"+a, "grievance.office_done_"+a, "grievance.office_hint_"+a)
		if a != "assign" {
			keys = append(keys, "grievance.office_comment_"+a)
		}
	}
	for _, a := range grievance.Workflow().Actions {
		keys = append(keys, "grievance.office_step_"+a.Name)
	}
	keys = append(keys, "grievance.office_step_create")
	for _, r := range grievance.RejectReasons {
		keys = append(keys, "grievance.office_reason_"+r)
	}
	for _, v := range grievance.InboxViews {
		keys = append(keys, "grievance.inbox_view_"+v)
	}
	for _, v := range grievance.InboxOrders {
		keys = append(keys, "grievance.inbox_sort_"+v)
	}
	for _, v := range grievance.AttrTypes {
		keys = append(keys, "grievance.catadm_type_"+v)
	}
	for _, c := range []string{grievance.ChannelWeb, grievance.ChannelAPI, grievance.ChannelHelpdesk, grievance.ChannelOpen311} {
		keys = append(keys, "grievance.office_channel_"+c)
	}
	for _, s := range grievance.Workflow().States {
		keys = append(keys, "grievance.state_"+s.Name)
	}
	for _, k := range keys {
		if !e.App.Cat.Has(k) {
			t.Errorf("missing %s", k)
		}
	}
}
