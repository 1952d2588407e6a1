package grievance_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
)

func TestInboxViewsFiltersAndJurisdiction(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		a1 := o.file(t, "pothole", "Big pothole near Chanmari junction", aizawl, o.citizenID)
		a2 := o.file(t, "pothole", "Road broken at Zarkawt", aizawl, o.citizenID)
		a3 := o.file(t, "pothole", "Drain blocked beside the road at Dawrpui", aizawl, o.citizen2ID)
		l1 := o.file(t, "pothole", "Landslide on the road at Lunglei bazar", lunglei, o.citizenID)
		w1 := o.file(t, "water", "No water for a week at Chanmari", aizawl, o.citizen2ID)
		pwdAizawl := []string{a1.Ref, a2.Ref, a3.Ref}

		// Each officer sees their own jurisdiction, and nothing else.
		all := func(who string) []string { return refs(o.inbox(t, who, "view=all").Rows) }
		for _, tc := range []struct {
			who  string
			want []string
		}{
			{"gro", pwdAizawl}, {"field", pwdAizawl}, {"gro2", []string{l1.Ref}}, {"phed", []string{w1.Ref}},
			{"hod", append(slices.Clone(pwdAizawl), l1.Ref)}, {"admin", append(slices.Clone(pwdAizawl), l1.Ref, w1.Ref)},
		} {
			got := all(tc.who)
			slices.Sort(got)
			slices.Sort(tc.want)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s sees %v, want %v", tc.who, got, tc.want)
			}
		}
		// The team's queue: new grievances wait for the grievance officer.
		if got := refs(o.inbox(t, "gro", "view=team").Rows); len(got) != 3 {
			t.Errorf("gro's team queue: %v", got)
		}
		if got := o.inbox(t, "field", "view=team").Rows; len(got) != 0 {
			t.Errorf("field officer's team queue holds grievance officers' work: %v", refs(got))
		}
		// Mine after an assignment.
		o.mustAct(t, "gro", a2.Ref, map[string]any{"action": "assign", "assignee_id": o.creds["field"].PersonID})
		if got := refs(o.inbox(t, "field", "view=mine").Rows); !slices.Equal(got, []string{a2.Ref}) {
			t.Errorf("field officer's own: %v", got)
		}
		if got := refs(o.inbox(t, "gro", "view=team").Rows); len(got) != 2 || slices.Contains(got, a2.Ref) {
			t.Errorf("assigned grievance still in the team queue: %v", got)
		}
		// Filters.
		if got := refs(o.inbox(t, "hod", "view=all&district=7").Rows); !slices.Equal(got, []string{l1.Ref}) {
			t.Errorf("district filter: %v", got)
		}
		if got := refs(o.inbox(t, "admin", "view=all&state=assigned").Rows); !slices.Equal(got, []string{a2.Ref}) {
			t.Errorf("state filter: %v", got)
		}
		var waterID int64
		if err := e.App.DB.R().QueryRow(`SELECT id FROM grv_categories WHERE code = 'water'`).Scan(&waterID); err != nil {
			t.Fatal(err)
		}
		if got := refs(o.inbox(t, "admin", "view=all&category="+itoa(waterID)).Rows); !slices.Equal(got, []string{w1.Ref}) {
			t.Errorf("category filter: %v", got)
		}
		if got := o.inbox(t, "gro", "view=all&category="+itoa(waterID)).Rows; len(got) != 0 {
			t.Errorf("category filter leaks another department: %v", refs(got))
		}
		if got := o.inbox(t, "gro", "view=all&department="+itoa(o.phed)).Rows; len(got) != 0 {
			t.Errorf("department filter widens the jurisdiction: %v", refs(got))
		}
		// Sorts: newest first.
		if got := refs(o.inbox(t, "gro", "view=all&sort=newest").Rows); !slices.Equal(got, []string{a3.Ref, a2.Ref, a1.Ref}) {
			t.Errorf("newest first: %v", got)
		}
		// Bad words are 400s, not 500s or silently ignored.
		for _, q := range []string{"view=everything", "sort=random", "state=lost", "after=!!!", "department=x", "limit=0", "limit=9999",
			"view=all&sort=newest&after=" + url.QueryEscape(o.inbox(t, "gro", "view=all&limit=1").Next)} {
			if r := o.api["gro"].Get(t, "/api/v1/grievances/inbox?"+q); r.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %s", q, r.Status, r.Body)
			}
		}
		// Overdue: the submitted state has 5 working days.
		o.advance(t, 8*24*time.Hour)
		over := o.inbox(t, "gro", "view=overdue")
		if !has(over.Rows, a1.Ref) || has(over.Rows, a2.Ref) {
			t.Errorf("overdue: %v", refs(over.Rows))
		}
		for _, r := range over.Rows {
			if !r.Overdue {
				t.Errorf("%s in overdue view is not marked overdue", r.Ref)
			}
		}
		// The HTML inbox: rows, overdue mark, no other district.
		b := o.browser(t, "gro")
		page := b.Get(t, "/grievances/inbox?view=all")
		if page.Status != http.StatusOK || !contains(page.Body, a1.Ref) || contains(page.Body, l1.Ref) || contains(page.Body, w1.Ref) ||
			!contains(page.Body, `class="overdue"`) {
			t.Fatalf("inbox page: %d\n%s", page.Status, page.Body)
		}
		if r := b.Get(t, "/grievances/inbox?view=nope"); r.Status != http.StatusBadRequest {
			t.Errorf("bad view page: %d", r.Status)
		}
		// The help desk may not open the inbox.
		if r := o.api["helpdesk"].Get(t, "/api/v1/grievances/inbox"); r.Status != http.StatusForbidden {
			t.Errorf("help desk inbox: %d", r.Status)
		}
	})
}

func TestInboxPagination(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		var want []string
		for i := 0; i < 7; i++ {
			want = append(want, o.file(t, "pothole", "Pothole number "+itoa(int64(i)), aizawl, o.citizenID).Ref)
		}
		for _, sort := range []string{"due", "newest", "priority"} {
			var got []string
			after := ""
			pages := 0
			for {
				p := o.inbox(t, "gro", "view=all&limit=3&sort="+sort+"&after="+url.QueryEscape(after))
				got = append(got, refs(p.Rows)...)
				pages++
				if p.Next == "" {
					break
				}
				if pages > 5 {
					t.Fatal("pagination does not end")
				}
				after = p.Next
			}
			if pages != 3 {
				t.Errorf("%s: %d pages", sort, pages)
			}
			g, w := slices.Clone(got), slices.Clone(want)
			slices.Sort(g)
			slices.Sort(w)
			if !slices.Equal(g, w) {
				t.Errorf("%s: pages hold %v, want each of %v once", sort, got, want)
			}
		}
		// The HTML page links to the next page with the filters kept.
		b := o.browser(t, "gro")
		page := b.Get(t, "/grievances/inbox?view=all&sort=newest&limit=3")
		if !contains(page.Body, "after=") || !contains(page.Body, "sort=newest") {
			t.Errorf("no next-page link: %s", page.Body)
		}
	})
}
