package grievance_test

import (
	"bytes"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/db"
	"mizogov/internal/workflow"
)

func TestOfficerJurisdictionIs404(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		g := o.file(t, "pothole", "Pothole in front of the Zarkawt post office", aizawl, o.citizenID)
		v := o.version(t, g.Ref)
		for _, who := range []string{"gro2", "phed"} {
			b := o.browser(t, who)
			if r := b.Get(t, "/grievances/office/"+g.Ref); r.Status != http.StatusNotFound || contains(r.Body, "Lalremsiami") {
				t.Errorf("%s page: %d", who, r.Status)
			}
			if r := b.Post(t, "/grievances/office/"+g.Ref, url.Values{"action": {"reject"}, "version": {itoa(int64(v))},
				"reason": {"suggestion"}, "comment": {"no"}}); r.Status != http.StatusNotFound {
				t.Errorf("%s form: %d", who, r.Status)
			}
			if r := o.act(t, who, g.Ref, map[string]any{"action": "reject", "reason": "suggestion", "comment": "no"}); r.Status != http.StatusNotFound {
				t.Errorf("%s API act: %d %s", who, r.Status, r.Body)
			}
			if has(o.inbox(t, who, "view=all").Rows, g.Ref) {
				t.Errorf("%s sees it in the inbox", who)
			}
			for _, q := range []string{"Zarkawt", g.Ref} {
				r := o.api[who].Get(t, "/api/v1/grievances/search?q="+url.QueryEscape(q))
				var res inboxPage
				decode(t, r, &res)
				if r.Status != http.StatusOK || has(res.Rows, g.Ref) || contains(r.Body, `"ref":"`+g.Ref) {
					t.Errorf("%s search %q: %d %s", who, q, r.Status, r.Body)
				}
			}
		}
		// Unknown or malformed references are 404 too.
		for _, ref := range []string{"MZ-GRV-2627-999999-1", "nonsense", "MZ-ILP-2627-000001-5"} {
			if r := o.act(t, "gro", g.Ref, map[string]any{}); r.Status == http.StatusNotFound {
				t.Fatalf("own grievance 404")
			}
			if r := o.api["gro"].JSON(t, "POST", "/api/v1/grievances/"+ref+"/act", map[string]any{"action": "assign", "version": 1}); r.Status != http.StatusNotFound {
				t.Errorf("%s: %d", ref, r.Status)
			}
		}
		if got := o.version(t, g.Ref); got != v {
			t.Fatalf("the case changed (version %d → %d)", v, got)
		}
		// The officer of the jurisdiction sees everything, the citizen's
		// name and phone included, and the reading is audited.
		b := o.browser(t, "gro")
		r := b.Get(t, "/grievances/office/"+g.Ref)
		if r.Status != http.StatusOK || !contains(r.Body, "Lalremsiami") || !contains(r.Body, "919862000011") || !contains(r.Body, "Large") {
			t.Fatalf("case page: %d\n%s", r.Status, r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'grievance.read' AND object_id = $1`, g.Ref); n == 0 {
			t.Error("reading the citizen's data is not audited")
		}
	})
}

func TestOfficerActions(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		g := o.file(t, "pothole", "Pothole at Chanmari", aizawl, o.citizenID)

		// Not allowed for the role (a field officer may not reject) or in
		// the state: a 4xx and nothing changed.
		v := o.version(t, g.Ref)
		if r := o.act(t, "field", g.Ref, map[string]any{"action": "reject", "reason": "suggestion", "comment": "x"}); r.Status != http.StatusForbidden {
			t.Errorf("field officer rejects: %d %s", r.Status, r.Body)
		}
		if r := o.act(t, "gro", g.Ref, map[string]any{"action": "decide_appeal", "comment": "x"}); r.Status != http.StatusConflict {
			t.Errorf("decide appeal while submitted: %d %s", r.Status, r.Body)
		}
		if r := o.act(t, "gro", g.Ref, map[string]any{"action": "add_info", "comment": "x"}); r.Status != http.StatusBadRequest {
			t.Errorf("a citizen's action: %d %s", r.Status, r.Body)
		}
		if r := o.act(t, "gro", g.Ref, map[string]any{"action": "assign", "version": 0}); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("no version: %d", r.Status)
		}
		if r := o.api["gro"].JSON(t, "POST", "/api/v1/grievances/"+g.Ref+"/act", `{"action":"assign","version":1,"hack":1}`); r.Status != http.StatusBadRequest {
			t.Errorf("unknown field: %d", r.Status)
		}
		// Assign: only a grievance or field officer of the jurisdiction.
		for _, who := range []string{"gro2", "phed", "helpdesk"} {
			r := o.act(t, "gro", g.Ref, map[string]any{"action": "assign", "assignee_id": o.creds[who].PersonID})
			if r.Status != http.StatusUnprocessableEntity || !fieldErr(t, r, "assignee") {
				t.Errorf("assign to %s: %d %s", who, r.Status, r.Body)
			}
		}
		if r := o.act(t, "gro", g.Ref, map[string]any{"action": "assign"}); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("assign to nobody: %d", r.Status)
		}
		if got := o.version(t, g.Ref); got != v {
			t.Fatalf("refused actions changed the case (%d → %d)", v, got)
		}
		o.mustAct(t, "gro", g.Ref, map[string]any{"action": "assign", "assignee_id": o.creds["field"].PersonID})
		if o.state(t, g.Ref) != "assigned" {
			t.Fatal("not assigned")
		}
		// Ask for information: the clock stops.
		if r := o.act(t, "field", g.Ref, map[string]any{"action": "ask_info"}); r.Status != http.StatusUnprocessableEntity || !fieldErr(t, r, "comment") {
			t.Errorf("ask without a question: %d %s", r.Status, r.Body)
		}
		o.mustAct(t, "field", g.Ref, map[string]any{"action": "ask_info", "comment": "Which side of the road?"})
		if o.state(t, g.Ref) != "info_requested" || e.Count(t, `SELECT COUNT(*) FROM wf_cases WHERE ref = $1 AND paused`, g.Ref) != 1 {
			t.Fatal("not waiting for the citizen")
		}
		if r := o.act(t, "field", g.Ref, map[string]any{"action": "resolve", "comment": "done"}); r.Status != http.StatusConflict {
			t.Errorf("resolve while waiting: %d", r.Status)
		}

		// Interim reply: needs a future date.
		g2 := o.file(t, "pothole", "Second pothole at Chanmari", aizawl, o.citizen2ID)
		for _, due := range []string{"", "tomorrow", "2001-01-01", e.Clock.Now().AddDate(2, 0, 0).Format("2006-01-02")} {
			r := o.act(t, "gro", g2.Ref, map[string]any{"action": "interim_reply", "comment": "Contractor engaged", "due": due})
			if r.Status != http.StatusUnprocessableEntity || !fieldErr(t, r, "due") {
				t.Errorf("due %q: %d %s", due, r.Status, r.Body)
			}
		}
		// It is marked when the limit is near and no interim reply was sent.
		o.advance(t, 19*24*time.Hour)
		if rows := o.inbox(t, "gro", "view=all").Rows; !needsInterim(rows, g2.Ref) {
			t.Errorf("no interim mark 2 days before the limit: %+v", rows)
		}
		due := e.Clock.Now().AddDate(0, 0, 10).In(workflow.IST).Format("2006-01-02")
		o.mustAct(t, "gro", g2.Ref, map[string]any{"action": "interim_reply", "comment": "Contractor engaged; work starts Monday", "due": due})
		if rows := o.inbox(t, "gro", "view=all").Rows; needsInterim(rows, g2.Ref) {
			t.Error("interim mark stays after the interim reply")
		}
		var stateDue time.Time
		if err := e.App.DB.R().QueryRow(`SELECT state_due FROM wf_cases WHERE ref = $1`, g2.Ref).Scan(&stateDue); err != nil {
			t.Fatal(err)
		}
		if got := stateDue.In(workflow.IST).Format("2006-01-02"); got != due {
			t.Errorf("expected date %s, case due %s", due, got)
		}
		if m, ok := e.SMS.Last("+919862000012"); !ok || !strings.Contains(m.Body, "Contractor engaged") {
			waitSMSText(t, e, "+919862000012", "Contractor engaged")
		}

		// Resolve with an action-taken report.
		if r := o.act(t, "gro", g2.Ref, map[string]any{"action": "resolve"}); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("resolve without a report: %d", r.Status)
		}
		o.mustAct(t, "gro", g2.Ref, map[string]any{"action": "resolve", "comment": "Pothole filled with premix on 3 December"})
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances WHERE ref = $1 AND resolved_at IS NOT NULL`, g2.Ref); n != 1 {
			t.Error("resolved_at not set")
		}
		if r := o.act(t, "gro", g2.Ref, map[string]any{"action": "resolve", "comment": "again"}); r.Status != http.StatusConflict {
			t.Errorf("resolve a resolved grievance: %d", r.Status)
		}

		// Reject: a reason from the list; "not our department" is not one.
		g3 := o.file(t, "pothole", "Please build a new flyover", aizawl, o.citizenID)
		for _, reason := range []string{"", "not_our_department", "other"} {
			r := o.act(t, "gro", g3.Ref, map[string]any{"action": "reject", "reason": reason, "comment": "A suggestion"})
			if r.Status != http.StatusUnprocessableEntity || !fieldErr(t, r, "reason") {
				t.Errorf("reason %q: %d %s", reason, r.Status, r.Body)
			}
		}
		o.mustAct(t, "gro", g3.Ref, map[string]any{"action": "reject", "reason": "suggestion", "comment": "Sent to the planning wing as a suggestion"})
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances WHERE ref = $1 AND reject_reason = 'suggestion'`, g3.Ref); n != 1 {
			t.Error("reason not kept")
		}

		// Transfer: to another department; the officer loses it, the other gains it.
		g4 := o.file(t, "pothole", "Water pipe burst on the road", aizawl, o.citizenID)
		if r := o.act(t, "gro", g4.Ref, map[string]any{"action": "transfer", "comment": "Water pipe"}); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("transfer nowhere: %d", r.Status)
		}
		if r := o.act(t, "gro", g4.Ref, map[string]any{"action": "transfer", "department_id": 99999, "comment": "x"}); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("transfer to no department: %d", r.Status)
		}
		r := o.act(t, "gro", g4.Ref, map[string]any{"action": "transfer", "department_id": o.phed, "comment": "A PHED water main"})
		if r.Status != http.StatusOK || contains(r.Body, "late_transfer") {
			t.Fatalf("transfer: %d %s", r.Status, r.Body)
		}
		if r := o.browser(t, "gro").Get(t, "/grievances/office/"+g4.Ref); r.Status != http.StatusNotFound {
			t.Errorf("the old department still sees it: %d", r.Status)
		}
		if !has(o.inbox(t, "phed", "view=team").Rows, g4.Ref) {
			t.Error("PHED did not receive it")
		}
		// A late transfer is made, and recorded as late.
		g5 := o.file(t, "pothole", "Street light pole fallen", aizawl, o.citizenID)
		o.advance(t, 10*24*time.Hour)
		r = o.act(t, "gro", g5.Ref, map[string]any{"action": "transfer", "department_id": o.phed, "comment": "Late"})
		if r.Status != http.StatusOK || !contains(r.Body, `"late_transfer":true`) {
			t.Errorf("late transfer: %d %s", r.Status, r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'grievance.transfer_late' AND object_id = $1`, g5.Ref); n != 1 {
			t.Error("late transfer not audited")
		}

		// The case page shows internal steps and only the allowed forms.
		b := o.browser(t, "field")
		page := b.Get(t, "/grievances/office/"+g.Ref)
		if page.Status != http.StatusOK || !contains(page.Body, "Which side of the road?") || contains(page.Body, `value="reject"`) {
			t.Errorf("field officer's case page: %d", page.Status)
		}
	})
}

func needsInterim(rows []row, ref string) bool {
	for _, r := range rows {
		if r.Ref == ref {
			return r.NeedsInterim
		}
	}
	return false
}

func waitSMSText(t *testing.T, e *apptest.Env, to, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range e.SMS.Sent() {
			if m.To == to && strings.Contains(m.Body, text) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("no SMS to %s with %q", to, text)
}

func TestConcurrentActionsOneWins(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		g := o.file(t, "pothole", "Pothole at Mission Vengthlang", aizawl, o.citizenID)
		v := o.version(t, g.Ref)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		bodies := make([]string, 2)
		for i, body := range []map[string]any{
			{"action": "assign", "assignee_id": o.creds["field"].PersonID, "version": v},
			{"action": "reject", "reason": "no_action_possible", "comment": "x", "version": v},
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				who := []string{"gro", "hod"}[i]
				r := o.api[who].JSON(t, "POST", "/api/v1/grievances/"+g.Ref+"/act", body)
				statuses[i], bodies[i] = r.Status, r.Body
			}()
		}
		wg.Wait()
		ok, conflict := 0, 0
		for i, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
				conflict++
				if !contains(bodies[i], "case_changed") || !contains(bodies[i], "Reload") {
					t.Errorf("conflict without a clear message: %s", bodies[i])
				}
			}
		}
		if ok != 1 || conflict != 1 {
			t.Fatalf("statuses %v: %v", statuses, bodies)
		}
		if got := o.version(t, g.Ref); got != v+1 {
			t.Errorf("version %d, want %d", got, v+1)
		}
		// The same through the form: a stale version is a 409 page saying so.
		b := o.browser(t, "gro")
		r := b.Post(t, "/grievances/office/"+g.Ref, url.Values{"action": {"ask_info"}, "version": {itoa(int64(v))}, "comment": {"?"}})
		if r.Status != http.StatusConflict || !contains(r.Body, "This grievance changed") {
			t.Errorf("stale form: %d\n%s", r.Status, r.Body)
		}
	})
}

func TestMerge(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		kept := o.file(t, "pothole", "Big pothole near Bethlehem", aizawl, o.citizenID)
		dup := o.file(t, "pothole", "Same pothole near Bethlehem", aizawl, o.citizen2ID)
		other := o.file(t, "pothole", "Pothole in Lunglei", lunglei, o.citizen2ID)
		water := o.file(t, "water", "No water at Bethlehem", aizawl, o.citizenID)
		// A third person supports the duplicate; the kept grievance's own
		// citizen supports it too (and must not count on their own).
		ctx := t.Context()
		var third int64
		if err := e.App.DB.W().QueryRowContext(ctx, `INSERT INTO people (name, phone, lang, created_at) VALUES ('Third', '+919862000013', 'en', $1) RETURNING id`,
			e.Clock.Now()).Scan(&third); err != nil {
			t.Fatal(err)
		}
		for _, p := range []int64{third, o.citizenID} {
			if _, err := e.App.DB.W().ExecContext(ctx, `INSERT INTO grv_supporters (grievance_id, person_id, created_at) VALUES ($1, $2, $3)`,
				dup.CaseID, p, e.Clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct{ into, why string }{
			{"", "empty"}, {dup.Ref, "itself"}, {other.Ref, "another district (not the officer's)"}, {water.Ref, "another department"},
			{"MZ-GRV-2627-999999-1", "unknown"},
		} {
			r := o.act(t, "gro", dup.Ref, map[string]any{"action": "merge", "merge_into": tc.into, "comment": "Same place"})
			if r.Status != http.StatusUnprocessableEntity || !fieldErr(t, r, "merge_into") {
				t.Errorf("merge into %s: %d %s", tc.why, r.Status, r.Body)
			}
		}
		// The head of department sees both districts but may not merge across departments either.
		if r := o.act(t, "admin", dup.Ref, map[string]any{"action": "merge", "merge_into": water.Ref, "comment": "x"}); r.Status == http.StatusOK {
			t.Error("merged across departments")
		}
		r := o.act(t, "gro", dup.Ref, map[string]any{"action": "merge", "merge_into": kept.Ref, "comment": "Same pothole"})
		if r.Status != http.StatusOK || !contains(r.Body, kept.Ref) {
			t.Fatalf("merge: %d %s", r.Status, r.Body)
		}
		if o.state(t, dup.Ref) != "merged" {
			t.Error("duplicate not closed as merged")
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances WHERE case_id = $1 AND merged_into = $2`, dup.CaseID, kept.CaseID); n != 1 {
			t.Error("merged_into not set")
		}
		// Supporters: the duplicate's citizen and its third supporter; not
		// the kept grievance's own citizen.
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_supporters WHERE grievance_id = $1`, kept.CaseID); n != 2 {
			t.Errorf("%d supporters", n)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_supporters WHERE grievance_id = $1 AND person_id = $2`, kept.CaseID, o.citizenID); n != 0 {
			t.Error("the citizen supports their own grievance")
		}
		for _, rw := range o.inbox(t, "gro", "view=all").Rows {
			if rw.Ref == kept.Ref && (rw.Supporters != 2 || rw.Priority != 2) {
				t.Errorf("kept: %+v", rw)
			}
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'grievance.merged_in' AND object_id = $1`, kept.Ref); n != 1 {
			t.Error("merge not audited on the kept grievance")
		}
		// Nothing merges into a merged grievance.
		g := o.file(t, "pothole", "Another one", aizawl, o.citizenID)
		if r := o.act(t, "gro", g.Ref, map[string]any{"action": "merge", "merge_into": dup.Ref, "comment": "x"}); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("merge into a merged one: %d", r.Status)
		}
		// The form: an error re-renders the case page with the message by the field.
		b := o.browser(t, "gro")
		page := b.Post(t, "/grievances/office/"+g.Ref, url.Values{"action": {"merge"}, "version": {itoa(int64(o.version(t, g.Ref)))},
			"merge_into": {g.Ref}, "comment": {"x"}})
		if page.Status != http.StatusUnprocessableEntity || !contains(page.Body, `id="merge-merge_into-error"`) || !contains(page.Body, "error-summary") {
			t.Errorf("merge form error: %d\n%s", page.Status, page.Body)
		}
		page = b.Post(t, "/grievances/office/"+g.Ref, url.Values{"action": {"merge"}, "version": {itoa(int64(o.version(t, g.Ref)))},
			"merge_into": {kept.Ref}, "comment": {"Same pothole"}})
		if page.Status != http.StatusSeeOther || !contains(page.Header.Get("Location"), "done=merge") {
			t.Errorf("merge form: %d %s", page.Status, page.Header.Get("Location"))
		}
	})
}

func TestTransferWindowStartsOnArrival(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		g := o.file(t, "pothole", "A leaking water main under the road", aizawl, o.citizenID)
		filed := e.Clock.Now()
		o.advance(t, 3*24*time.Hour)
		// Transferred in time to PHED, which gets 5 working days of its own.
		if r := o.act(t, "gro", g.Ref, map[string]any{"action": "transfer", "department_id": o.phed, "comment": "PHED main"}); r.Status != http.StatusOK ||
			contains(r.Body, "late_transfer") {
			t.Fatalf("transfer: %d %s", r.Status, r.Body)
		}
		arrived := e.Clock.Now()
		cal, err := e.App.Workflow.Calendar(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		show := func(tm time.Time) string { return tm.In(workflow.IST).Format("02-01-2006 15:04") }
		want, old := show(cal.Add(arrived, workflow.WorkingDays(5))), show(cal.Add(filed, workflow.WorkingDays(5)))
		page := o.browser(t, "phed").Get(t, "/grievances/office/"+g.Ref)
		if !contains(page.Body, "transfer it by "+want) || (want != old && contains(page.Body, "transfer it by "+old)) {
			t.Errorf("transfer window: want %s (not %s)\n%s", want, old, page.Body)
		}
	})
}

func TestAppealDecidedByHeadOfDepartment(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		appeal := func(ref string, caseID, citizen int64) {
			t.Helper()
			err := e.App.DB.Tx(t.Context(), func(tx *db.Tx) error {
				_, err := e.App.Workflow.Act(t.Context(), tx, workflow.Act{CaseID: caseID, Action: "appeal", Version: o.version(t, ref),
					Actor: grievanceActor(citizen), Comment: "Nothing was done"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		g1 := o.file(t, "pothole", "Pothole at Ramhlun", aizawl, o.citizenID)
		g2 := o.file(t, "pothole", "Pothole at Ramhlun North", aizawl, o.citizen2ID)
		for _, g := range []string{g1.Ref, g2.Ref} {
			o.mustAct(t, "gro", g, map[string]any{"action": "resolve", "comment": "Filled"})
		}
		appeal(g1.Ref, g1.CaseID, o.citizenID)
		appeal(g2.Ref, g2.CaseID, o.citizen2ID)
		if !has(o.inbox(t, "hod", "view=team").Rows, g1.Ref) {
			t.Error("the appeal is not in the head of department's queue")
		}
		if r := o.act(t, "gro", g1.Ref, map[string]any{"action": "decide_appeal", "comment": "x"}); r.Status != http.StatusForbidden {
			t.Errorf("grievance officer decides an appeal: %d", r.Status)
		}
		o.mustAct(t, "hod", g1.Ref, map[string]any{"action": "decide_appeal", "comment": "The repair was inspected and is sound"})
		if o.state(t, g1.Ref) != "appeal_decided" {
			t.Error("appeal not decided")
		}
		o.mustAct(t, "hod", g2.Ref, map[string]any{"action": "remand", "comment": "Repair again; it failed in a week"})
		if o.state(t, g2.Ref) != "submitted" || !has(o.inbox(t, "gro", "view=team").Rows, g2.Ref) {
			t.Error("remanded grievance not back with the grievance officer")
		}
	})
}

func TestResolveWithPhotos(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		g := o.file(t, "pothole", "Pothole at Kulikawn", aizawl, o.citizenID)
		b := o.browser(t, "gro")
		post := func(name string, data []byte) *apptest.Response {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			for k, v := range map[string]string{"action": "resolve", "version": itoa(int64(o.version(t, g.Ref))), "comment": "Filled and rolled"} {
				mw.WriteField(k, v)
			}
			fw, _ := mw.CreateFormFile("photos", name)
			fw.Write(data)
			mw.Close()
			return b.Do(t, "POST", "/grievances/office/"+g.Ref, &body, mw.FormDataContentType())
		}
		if r := post("notes.txt", []byte("not a photo")); r.Status != http.StatusUnprocessableEntity || !contains(r.Body, `id="resolve-photos-error"`) {
			t.Errorf("text as a photo: %d", r.Status)
		}
		if o.state(t, g.Ref) != "submitted" {
			t.Fatal("resolved with a bad photo")
		}
		img := image.NewRGBA(image.Rect(0, 0, 8, 8))
		var png8 bytes.Buffer
		png.Encode(&png8, img)
		if r := post("done.png", png8.Bytes()); r.Status != http.StatusSeeOther {
			t.Fatalf("resolve with a photo: %d %s", r.Status, r.Body)
		}
		var atts string
		if err := e.App.DB.R().QueryRow(`SELECT h.attachments FROM wf_history h JOIN wf_cases c ON c.id = h.case_id
			WHERE c.ref = $1 AND h.action = 'resolve'`, g.Ref).Scan(&atts); err != nil || atts == "" {
			t.Fatalf("no attachment: %q %v", atts, err)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM files WHERE id = $1 AND type = 'image/png'`, atts); n != 1 {
			t.Error("the photo is not a stored file")
		}
		if page := b.Get(t, "/grievances/office/"+g.Ref); !contains(page.Body, "/grievances/photos/"+atts) {
			t.Error("the case page does not link the photo")
		}
	})
}
