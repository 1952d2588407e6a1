package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/jobs"
	"mizogov/internal/notify"
	"mizogov/internal/web"
)

// permitFlow is a small application workflow of the kind the permits
// service declares: verify, send back to the applicant, approve, reject,
// revoke, with a pause while the applicant corrects.
func permitFlow() *Definition {
	return &Definition{
		Name:  "permit",
		Start: "submitted",
		SLA:   WorkingDays(5),
		States: []State{
			{Name: "submitted", Role: "officer"},
			{Name: "verified", Role: "hod", SLA: Hours(24)},
			{Name: "correction", Role: Owner, Paused: true, SLA: Days(7)},
			{Name: "approved", Final: true},
			{Name: "rejected", Final: true},
			{Name: "revoked", Final: true},
		},
		Actions: []Action{
			{Name: "verify", From: []string{"submitted"}, To: "verified", Roles: []string{"officer"}},
			{Name: "assign", From: []string{"submitted"}, To: Stay, Roles: []string{"officer"}, Assign: true},
			{Name: "ask_correction", From: []string{"submitted", "verified"}, To: "correction", Roles: []string{"officer", "hod"}, Comment: true, Public: true,
				Notify: []Notice{{To: Owner, Template: "permit.correction"}}},
			{Name: "resubmit", From: []string{"correction"}, To: Previous, Roles: []string{Owner}, Public: true},
			{Name: "approve", From: []string{"verified"}, To: "approved", Roles: []string{"hod"}, Public: true,
				Notify: []Notice{{To: Owner, Template: "permit.decided"}}},
			{Name: "reject", From: []string{"submitted", "verified"}, To: "rejected", Roles: []string{"officer", "hod"}, Comment: true, Public: true},
			{Name: "revoke", From: []string{"approved"}, To: "revoked", Roles: []string{"hod"}, Comment: true, Attachment: true},
			{Name: "transfer", From: []string{"submitted"}, To: "submitted", Roles: []string{"officer"}, Transfer: true, Comment: true},
			{Name: "note", From: []string{"submitted", "verified"}, To: Stay, Roles: []string{"officer", "hod", Assignee}},
			{Name: "interim", From: []string{"submitted"}, To: Stay, Roles: []string{"officer"}, SetsDue: true, Comment: true},
			{Name: "escalate", From: []string{"submitted", "verified"}, To: Stay, Roles: []string{System},
				Notify: []Notice{{To: "hod", Template: "permit.escalated"}}},
			{Name: "expire", From: []string{"correction"}, To: "rejected", Roles: []string{System}, Public: true},
		},
		Escalations: []Escalation{
			{State: "submitted", After: 0, Action: "escalate", Role: "hod", Level: 1},
			{State: "submitted", After: 48 * time.Hour, Action: "escalate", Role: "admin", Level: 2},
			{State: "correction", After: 0, Action: "expire", Level: 1},
		},
	}
}

var testTemplates = fstest.MapFS{
	"permit.correction.sms.en.txt":  {Data: []byte("Correct {{.ref}}: {{.comment}}")},
	"permit.correction.sms.lus.txt": {Data: []byte("Siam ṭha rawh {{.ref}}: {{.comment}}")},
	"permit.decided.sms.en.txt":     {Data: []byte("{{.ref}} decided")},
	"permit.decided.sms.lus.txt":    {Data: []byte("{{.ref}} thutlukna")},
	"permit.escalated.sms.en.txt":   {Data: []byte("{{.ref}} is overdue (level {{.level}})")},
	"permit.escalated.sms.lus.txt":  {Data: []byte("{{.ref}} a tlai (level {{.level}})")},
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	e                      *Engine
	d                      *db.DB
	clk                    *clock
	dept1, dept2           int64
	owner, off, hod, other int64
}

// setup registers the permit flow on a fresh database with two
// departments and four people; the clock starts on Monday 2 Nov 2026, 10:00 IST.
func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, IST)}
	ts := notify.NewTemplates(nil)
	if err := ts.Add(testTemplates); err != nil {
		t.Fatal(err)
	}
	j := jobs.New(d, nil)
	n := &notify.Service{DB: d, Jobs: j, Templates: ts, Now: clk.Now}
	e := &Engine{DB: d, Audit: &audit.Log{Now: clk.Now}, Notify: n, Now: clk.Now}
	if err := e.Register(permitFlow()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{e: e, d: d, clk: clk}
	err := d.Tx(ctx, func(tx *db.Tx) error {
		for i, p := range []*int64{&f.dept1, &f.dept2} {
			if err := tx.QueryRowContext(ctx, `INSERT INTO departments (code, name, name_lus, created_at) VALUES ($1, $1, $1, $2) RETURNING id`,
				fmt.Sprintf("D%d", i+1), db.Time(clk.Now())).Scan(p); err != nil {
				return err
			}
		}
		for i, p := range []*int64{&f.owner, &f.off, &f.hod, &f.other} {
			if err := tx.QueryRowContext(ctx, `INSERT INTO people (name, phone, created_at) VALUES ($1, $2, $3) RETURNING id`,
				fmt.Sprintf("P%d", i), fmt.Sprintf("+9198620000%02d", i), db.Time(clk.Now())).Scan(p); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO grants (person_id, role, department_id, district_id, created_at) VALUES ($1, 'hod', $2, NULL, $3)`,
			f.hod, f.dept1, db.Time(clk.Now()))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// roles gives an actor fixed roles within one department (district 1 or any).
func roles(id int64, dept int64, rs ...string) Actor {
	return Actor{ID: id, Roles: func(dp, dist int64) []string {
		if dept != 0 && dp != dept {
			return nil
		}
		return rs
	}}
}

func (f *fixture) create(t *testing.T, ref string) Case {
	t.Helper()
	var c Case
	err := f.d.Tx(context.Background(), func(tx *db.Tx) error {
		var err error
		c, err = f.e.Create(context.Background(), tx, NewCase{Type: "permit", Ref: ref, DepartmentID: f.dept1, DistrictID: 1,
			OwnerID: f.owner, Actor: roles(f.owner, 0), Public: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) act(in Act) (Step, error) {
	var s Step
	err := f.d.Tx(context.Background(), func(tx *db.Tx) error {
		var err error
		s, err = f.e.Act(context.Background(), tx, in)
		return err
	})
	return s, err
}

func code(err error) string {
	var we *web.Error
	if errors.As(err, &we) {
		if we.Fields != nil && len(we.Fields.List) > 0 {
			return we.Code + ":" + we.Fields.List[0].Field
		}
		return we.Code
	}
	if err != nil {
		return "other:" + err.Error()
	}
	return ""
}

func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.R().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDefinitionsRefusedWhenInvalid(t *testing.T) {
	cases := []struct {
		name string
		edit func(d *Definition)
		want string
	}{
		{"bad name", func(d *Definition) { d.Name = "Permit!" }, "name"},
		{"unknown start", func(d *Definition) { d.Start = "nowhere" }, "start state"},
		{"paused start", func(d *Definition) { d.Start = "correction" }, "must be open"},
		{"duplicate state", func(d *Definition) { d.States = append(d.States, State{Name: "approved", Final: true}) }, "declared twice"},
		{"final with SLA", func(d *Definition) { d.States[3].SLA = Days(1) }, "final state has no clock"},
		{"paused without deadline", func(d *Definition) { d.States[2].SLA = Span{} }, "paused state needs an SLA"},
		{"open state without any SLA", func(d *Definition) { d.SLA = Span{} }, "needs an SLA"},
		{"unknown from", func(d *Definition) { d.Actions[0].From = []string{"verifed"} }, "not declared"},
		{"unknown target", func(d *Definition) { d.Actions[0].To = "verifed" }, "target"},
		{"no roles", func(d *Definition) { d.Actions[0].Roles = nil }, "no roles"},
		{"bad role code", func(d *Definition) { d.Actions[0].Roles = []string{"Chief Officer"} }, "not a role code"},
		{"unknown role", func(d *Definition) { d.Actions[0].Roles = []string{"wizard"} }, "not known"},
		{"previous from open state", func(d *Definition) { d.Actions[3].From = []string{"submitted"} }, "no previous state"},
		{"duplicate action", func(d *Definition) { d.Actions = append(d.Actions, d.Actions[0]) }, "declared twice"},
		{"sets due while moving", func(d *Definition) { d.Actions[0].SetsDue = true }, "only a Stay action"},
		{"missing template", func(d *Definition) { d.Actions[4].Notify[0].Template = "permit.nope" }, "does not exist"},
		{"escalation without system role", func(d *Definition) { d.Escalations[0].Action = "verify" }, "system role"},
		{"escalation needing input", func(d *Definition) { d.Escalations[0].Action = "reject"; d.Actions[5].Roles = []string{System} }, "needs input"},
		{"escalation levels not rising", func(d *Definition) { d.Escalations[1].Level = 1 }, "levels must rise"},
		{"escalation on final state", func(d *Definition) { d.Escalations[0].State = "approved" }, "final state"},
		{"unreachable state", func(d *Definition) {
			d.States = append(d.States, State{Name: "limbo", Final: true})
		}, "cannot be reached"},
	}
	ts := notify.NewTemplates(nil)
	if err := ts.Add(testTemplates); err != nil {
		t.Fatal(err)
	}
	known := func(r string) bool { return r == "officer" || r == "hod" || r == "admin" }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &Engine{Notify: &notify.Service{Templates: ts}, KnownRole: known}
			d := permitFlow()
			tc.edit(d)
			err := e.Register(d)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
	e := &Engine{Notify: &notify.Service{Templates: ts}, KnownRole: known}
	if err := e.Register(permitFlow()); err != nil {
		t.Fatalf("valid definition refused: %v", err)
	}
	if err := e.Register(permitFlow()); err == nil {
		t.Fatal("registered twice")
	}
}

func TestActionsByStateAndRole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		c := f.create(t, "P-1")
		if c.State != "submitted" || c.Role != "officer" || c.Version != 1 || !c.Open {
			t.Fatalf("new case: %+v", c)
		}
		// 5 working days from Monday 2 Nov: Monday 9 Nov, end of day.
		if got := c.DueAt.In(IST).Format("2006-01-02 15:04"); got != "2026-11-09 23:59" {
			t.Fatalf("due %s", got)
		}
		officer := roles(f.off, f.dept1, "officer")
		hod := roles(f.hod, f.dept1, "hod")
		owner := roles(f.owner, 0)
		stranger := roles(f.other, f.dept2, "officer") // an officer of another department

		for _, tc := range []struct {
			name string
			in   Act
			want string
		}{
			{"unknown action", Act{CaseID: c.ID, Action: "teleport", Version: 1, Actor: officer}, "unknown_action"},
			{"approve before verify", Act{CaseID: c.ID, Action: "approve", Version: 1, Actor: hod}, "action_not_allowed"},
			{"owner cannot verify", Act{CaseID: c.ID, Action: "verify", Version: 1, Actor: owner}, "role_not_allowed"},
			{"other department", Act{CaseID: c.ID, Action: "verify", Version: 1, Actor: stranger}, "role_not_allowed"},
			{"cannot claim owner", Act{CaseID: c.ID, Action: "resubmit", Version: 1, Actor: roles(f.other, 0, Owner)}, "action_not_allowed"},
			{"cannot claim system", Act{CaseID: c.ID, Action: "escalate", Version: 1, Actor: roles(f.off, 0, System)}, "role_not_allowed"},
			{"comment required", Act{CaseID: c.ID, Action: "reject", Version: 1, Actor: officer, Comment: "  "}, "invalid:comment"},
			{"comment too long", Act{CaseID: c.ID, Action: "reject", Version: 1, Actor: officer, Comment: strings.Repeat("a", MaxComment+1)}, "invalid:comment"},
			{"assignee required", Act{CaseID: c.ID, Action: "assign", Version: 1, Actor: officer}, "invalid:assignee"},
			{"transfer to same", Act{CaseID: c.ID, Action: "transfer", Version: 1, Actor: officer, Comment: "x", DepartmentID: f.dept1}, "invalid:department"},
			{"due in the past", Act{CaseID: c.ID, Action: "interim", Version: 1, Actor: officer, Comment: "x", Due: f.clk.Now().Add(-time.Hour)}, "invalid:due"},
			{"stale version", Act{CaseID: c.ID, Action: "verify", Version: 7, Actor: officer}, "case_changed"},
			{"no version", Act{CaseID: c.ID, Action: "verify", Actor: officer}, "invalid:version"},
			{"missing case", Act{CaseID: c.ID + 99, Action: "verify", Version: 1, Actor: officer}, "not_found"},
			{"unknown assignee", Act{CaseID: c.ID, Action: "assign", Version: 1, Actor: officer, AssigneeID: 424242}, "bad_request"},
		} {
			if _, err := f.act(tc.in); code(err) != tc.want {
				t.Errorf("%s: got %v (%s), want %s", tc.name, err, code(err), tc.want)
			}
		}
		if n := count(t, d, `SELECT COUNT(*) FROM wf_history WHERE case_id = $1`, c.ID); n != 1 {
			t.Fatalf("refused actions left %d history rows", n)
		}
		got, _ := f.e.Get(context.Background(), d.R(), c.ID)
		if got.Version != 1 || got.State != "submitted" {
			t.Fatalf("refused actions changed the case: %+v", got)
		}
		// What each actor may do now.
		names := func(as []Action) string {
			var s []string
			for _, a := range as {
				s = append(s, a.Name)
			}
			return strings.Join(s, ",")
		}
		if got := names(f.e.Allowed(c, officer)); got != "verify,assign,ask_correction,reject,transfer,note,interim" {
			t.Errorf("officer may: %s", got)
		}
		if got := names(f.e.Allowed(c, owner)); got != "" {
			t.Errorf("owner may: %s", got)
		}

		// Assign, then the assignee (without the officer role) may note.
		s, err := f.act(Act{CaseID: c.ID, Action: "assign", Version: 1, Actor: officer, AssigneeID: f.other})
		if err != nil || s.Case.AssigneeID != f.other || s.Case.Version != 2 {
			t.Fatalf("assign: %v %+v", err, s.Case)
		}
		if _, err := f.act(Act{CaseID: c.ID, Action: "note", Version: 2, Actor: roles(f.other, 0), Comment: "seen"}); err != nil {
			t.Fatalf("assignee note: %v", err)
		}
		// Transfer moves the case and empties the assignment.
		s, err = f.act(Act{CaseID: c.ID, Action: "transfer", Version: 3, Actor: officer, Comment: "wrong office", DepartmentID: f.dept2})
		if err != nil || s.Case.DepartmentID != f.dept2 || s.Case.AssigneeID != 0 || s.Case.Role != "officer" {
			t.Fatalf("transfer: %v %+v", err, s.Case)
		}
		// Now the officer of dept1 has no say; the one of dept2 has.
		if _, err := f.act(Act{CaseID: c.ID, Action: "verify", Version: 4, Actor: officer}); code(err) != "role_not_allowed" {
			t.Fatalf("old department verified: %v", err)
		}
		if _, err := f.act(Act{CaseID: c.ID, Action: "verify", Version: 4, Actor: stranger}); err != nil {
			t.Fatal(err)
		}
		// verified has its own 24-hour SLA.
		got, _ = f.e.Get(context.Background(), d.R(), c.ID)
		if !got.StateDue.Equal(f.clk.Now().Add(24*time.Hour).UTC()) || got.Role != "hod" {
			t.Fatalf("verified: due %v role %s", got.StateDue, got.Role)
		}
		hod2 := roles(f.hod, f.dept2, "hod")
		if _, err := f.act(Act{CaseID: c.ID, Action: "approve", Version: 5, Actor: hod2}); err != nil {
			t.Fatal(err)
		}
		got, _ = f.e.Get(context.Background(), d.R(), c.ID)
		if got.Open || got.ClosedAt.IsZero() || !got.StateDue.IsZero() {
			t.Fatalf("approved case: %+v", got)
		}
		// Revoking needs a comment and an attachment.
		if _, err := f.act(Act{CaseID: c.ID, Action: "revoke", Version: 6, Actor: hod2, Comment: "forged"}); code(err) != "invalid:attachments" {
			t.Fatalf("revoke without attachment: %v", err)
		}
		if _, err := f.act(Act{CaseID: c.ID, Action: "revoke", Version: 6, Actor: hod2, Comment: "forged", Attachments: []int64{7, 9}}); err != nil {
			t.Fatal(err)
		}
		// History and audit: one row each per step, in the same transactions.
		hist, err := f.e.History(context.Background(), d.R(), c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		var steps []string
		for _, h := range hist {
			steps = append(steps, h.Action+":"+h.Role)
		}
		if got := strings.Join(steps, " "); got != "create:owner assign:officer note:assignee transfer:officer verify:officer approve:hod revoke:hod" {
			t.Fatalf("history: %s", got)
		}
		last := hist[len(hist)-1]
		if last.Seq != 7 || last.Comment != "forged" || len(last.Attachments) != 2 || last.Attachments[1] != 9 || last.From != "approved" || last.To != "revoked" {
			t.Fatalf("last entry: %+v", last)
		}
		if pub, _ := f.e.History(context.Background(), d.R(), c.ID, true); len(pub) != 2 { // create and approve, not the rest
			t.Fatalf("public history has %d entries", len(pub))
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'permit' AND object_id = 'P-1'`); n != 7 {
			t.Fatalf("%d audit entries", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'permit.transfer' AND summary LIKE '%"department":%'`); n != 1 {
			t.Fatal("transfer not audited with its destination")
		}
		// The approval notified the owner, in the owner's language.
		if n := count(t, d, `SELECT COUNT(*) FROM outbox WHERE template = 'permit.decided' AND recipient = '+919862000000'`); n != 1 {
			t.Fatalf("approval notices: %d", n)
		}
		// The history cannot be rewritten.
		if _, err := d.W().ExecContext(context.Background(), `UPDATE wf_history SET comment = 'x' WHERE case_id = $1`, c.ID); err == nil {
			t.Fatal("history row updated")
		}
	})
}

func TestConcurrentActsOneWins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		c := f.create(t, "P-2")
		officer := roles(f.off, f.dept1, "officer")
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				action := "verify"
				if i%2 == 1 {
					action = "reject"
				}
				_, errs[i] = f.act(Act{CaseID: c.ID, Action: action, Version: 1, Actor: officer, Comment: "by " + fmt.Sprint(i)})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case IsChanged(err):
				var we *web.Error
				errors.As(err, &we)
				if we.Status != 409 || we.Key != "workflow.changed" {
					t.Fatalf("conflict error: %+v", we)
				}
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d acts succeeded, want exactly 1", ok)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM wf_history WHERE case_id = $1`, c.ID); n != 2 {
			t.Fatalf("%d history rows", n)
		}
	})
}

func TestPauseStopsTheClock(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		c := f.create(t, "P-3")
		officer := roles(f.off, f.dept1, "officer")
		due := c.DueAt
		f.clk.Advance(2 * time.Hour)
		s, err := f.act(Act{CaseID: c.ID, Action: "ask_correction", Version: 1, Actor: officer, Comment: "photo unreadable"})
		if err != nil {
			t.Fatal(err)
		}
		if !s.Case.Paused || s.Case.Role != Owner || s.Case.ReturnState != "submitted" || !s.Case.StateDue.Equal(f.clk.Now().AddDate(0, 0, 7).UTC()) {
			t.Fatalf("paused case: %+v", s.Case)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM outbox WHERE template = 'permit.correction' AND data LIKE '%photo unreadable%'`); n != 1 {
			t.Fatal("owner not asked")
		}
		// Only the owner may resubmit, and only the owner's own case.
		if _, err := f.act(Act{CaseID: c.ID, Action: "resubmit", Version: 2, Actor: officer}); code(err) != "role_not_allowed" {
			t.Fatalf("officer resubmitted: %v", err)
		}
		f.clk.Advance(3 * 24 * time.Hour)
		s, err = f.act(Act{CaseID: c.ID, Action: "resubmit", Version: 2, Actor: roles(f.owner, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if s.Case.State != "submitted" || s.Case.Paused || s.Case.Role != "officer" {
			t.Fatalf("resumed: %+v", s.Case)
		}
		if want := due.Add(3 * 24 * time.Hour); !s.Case.DueAt.Equal(want) || !s.Case.StateDue.Equal(want) {
			t.Fatalf("due %v, want %v (moved by the 3 days of the pause)", s.Case.DueAt, want)
		}
		// An interim reply sets a new due time for the state, not the case.
		newDue := f.clk.Now().Add(10 * 24 * time.Hour)
		s, err = f.act(Act{CaseID: c.ID, Action: "interim", Version: 3, Actor: officer, Comment: "site visit on Friday", Due: newDue})
		if err != nil || !s.Case.StateDue.Equal(db.Time(newDue)) || !s.Case.DueAt.Equal(due.Add(3*24*time.Hour)) {
			t.Fatalf("interim: %v %+v", err, s.Case)
		}
	})
}

func TestSweepEscalatesAndIsolatesFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		var ids []int64
		for i := range 5 {
			ids = append(ids, f.create(t, fmt.Sprintf("S-%d", i)).ID)
		}
		// One case waits for its owner's correction.
		if _, err := f.act(Act{CaseID: ids[4], Action: "ask_correction", Version: 1, Actor: roles(f.off, f.dept1, "officer"), Comment: "x"}); err != nil {
			t.Fatal(err)
		}
		res, err := f.e.Sweep(ctx)
		if err != nil || res.Escalated != 0 {
			t.Fatalf("nothing is due yet: %+v %v", res, err)
		}
		// Past the 5 working days (Monday 9 Nov, end of day).
		f.clk.Advance(8 * 24 * time.Hour)
		jobsBefore := count(t, d, `SELECT COUNT(*) FROM river_job WHERE kind = 'notify_deliver_batch'`)
		f.e.failCase = func(id int64) error {
			if id == ids[1] {
				return errors.New("boom")
			}
			return nil
		}
		res, err = f.e.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Escalated != 4 || res.Failed != 1 { // four submitted (one fails) and the expired correction
			t.Fatalf("first sweep: %+v", res)
		}
		c, _ := f.e.Get(ctx, d.R(), ids[0])
		if c.Level != 1 || c.Role != "hod" || c.State != "submitted" || c.Version != 2 {
			t.Fatalf("escalated case: %+v", c)
		}
		failed, _ := f.e.Get(ctx, d.R(), ids[1])
		if failed.Level != 0 || failed.Version != 1 {
			t.Fatalf("the failing case changed: %+v", failed)
		}
		expired, _ := f.e.Get(ctx, d.R(), ids[4])
		if expired.State != "rejected" || expired.Open {
			t.Fatalf("the unanswered correction: %+v", expired)
		}
		h, _ := f.e.History(ctx, d.R(), ids[0], false)
		if last := h[len(h)-1]; last.Action != "escalate" || last.Role != System || last.Level != 1 || last.Queue != "hod" {
			t.Fatalf("escalation history: %+v", last)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'permit.escalate' AND actor = 'system:workflow'`); n != 3 {
			t.Fatalf("%d escalations audited", n)
		}
		// The holder of hod in dept1 is told, once per case.
		if n := count(t, d, `SELECT COUNT(*) FROM outbox WHERE template = 'permit.escalated' AND recipient = '+919862000002'`); n != 3 {
			t.Fatalf("%d escalation notices", n)
		}
		// A batch's notices go out with one delivery job, not one each.
		if n := count(t, d, `SELECT COUNT(*) FROM river_job WHERE kind = 'notify_deliver_batch'`) - jobsBefore; n != 1 {
			t.Fatalf("the sweep queued %d delivery jobs", n)
		}
		// The next sweep does the failed case and nothing twice.
		f.e.failCase = nil
		res, _ = f.e.Sweep(ctx)
		if res.Escalated != 1 || res.Failed != 0 {
			t.Fatalf("second sweep: %+v", res)
		}
		// Two days later the second rung puts them with the admin.
		f.clk.Advance(49 * time.Hour)
		res, _ = f.e.Sweep(ctx)
		if res.Escalated != 4 {
			t.Fatalf("second rung: %+v", res)
		}
		c, _ = f.e.Get(ctx, d.R(), ids[0])
		if c.Level != 2 || c.Role != "admin" {
			t.Fatalf("level 2: %+v", c)
		}
		if res, _ := f.e.Sweep(ctx); res.Escalated != 0 {
			t.Fatalf("a third sweep escalated again: %+v", res)
		}
	})
}

func TestInboxViews(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		officer := roles(f.off, f.dept1, "officer")
		var ids []int64
		for i := range 30 {
			ids = append(ids, f.create(t, fmt.Sprintf("I-%02d", i)).ID)
			f.clk.Advance(time.Hour)
		}
		// 5 to the officer, 3 transferred to dept2, 2 verified (hod queue, due in 24 h).
		for _, id := range ids[:5] {
			if _, err := f.act(Act{CaseID: id, Action: "assign", Version: 1, Actor: officer, AssigneeID: f.off}); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids[5:8] {
			if _, err := f.act(Act{CaseID: id, Action: "transfer", Version: 1, Actor: officer, DepartmentID: f.dept2, Comment: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids[8:10] {
			if _, err := f.act(Act{CaseID: id, Action: "verify", Version: 1, Actor: officer}); err != nil {
				t.Fatal(err)
			}
		}
		q := func(qq Query) []int64 {
			t.Helper()
			qq.Type = "permit"
			var out []int64
			for {
				p, err := f.e.Inbox(ctx, qq)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range p.Cases {
					out = append(out, c.ID)
				}
				if p.Next == "" {
					return out
				}
				qq.After = p.Next
			}
		}
		if got := q(Query{View: ViewMine, PersonID: f.off, Limit: 2}); len(got) != 5 || got[0] != ids[0] {
			t.Fatalf("mine: %v", got)
		}
		team := q(Query{View: ViewTeam, Roles: []RoleScope{{Role: "officer", DepartmentID: f.dept1}}, Limit: 7})
		if len(team) != 20 { // 30 − 5 assigned − 3 transferred − 2 verified
			t.Fatalf("team: %d", len(team))
		}
		if got := q(Query{View: ViewTeam, Roles: []RoleScope{{Role: "hod", DepartmentID: f.dept1, DistrictID: 1}}}); len(got) != 2 {
			t.Fatalf("hod team: %v", got)
		}
		if got := q(Query{View: ViewTeam, Roles: []RoleScope{{Role: "officer", DepartmentID: f.dept2}}}); len(got) != 3 {
			t.Fatalf("dept2 team: %v", got)
		}
		if got := q(Query{View: ViewAll, Scopes: []Scope{{DepartmentID: f.dept1}}, Order: ByCreated, Limit: 4}); len(got) != 27 || got[0] != ids[29] {
			t.Fatalf("all by created: %d %v", len(got), got[:1])
		}
		if got := q(Query{View: ViewAll, Scopes: []Scope{{DistrictID: 2}}}); len(got) != 0 {
			t.Fatalf("another district sees %v", got)
		}
		if got := q(Query{View: ViewAll}); len(got) != 0 {
			t.Fatalf("no scope sees %v", got)
		}
		if got := q(Query{View: ViewAll, Scopes: []Scope{{}}, State: "verified"}); len(got) != 2 {
			t.Fatalf("state filter: %v", got)
		}
		// Nothing is overdue yet; the verified ones are due within 24 h, not today.
		if got := q(Query{View: ViewOverdue, Scopes: []Scope{{}}}); len(got) != 0 {
			t.Fatalf("overdue now: %v", got)
		}
		// Monday 9 Nov: the 12 cases filed on Monday 2 Nov and still submitted are due today.
		f.clk.t = time.Date(2026, 11, 9, 9, 0, 0, 0, IST)
		if got := q(Query{View: ViewToday, Scopes: []Scope{{}}}); len(got) != 12 {
			t.Fatalf("due today: %d", len(got))
		}
		if got := q(Query{View: ViewOverdue, Scopes: []Scope{{DepartmentID: f.dept1}}, Limit: 1}); len(got) != 2 {
			t.Fatalf("overdue: %v", got)
		}
		// Priority order: raised ones first.
		if err := d.Tx(ctx, func(tx *db.Tx) error { return f.e.SetPriority(ctx, tx, ids[20], 3) }); err != nil {
			t.Fatal(err)
		}
		if got := q(Query{View: ViewAll, Scopes: []Scope{{}}, Order: ByPriority, Limit: 3}); len(got) != 30 || got[0] != ids[20] {
			t.Fatalf("priority: %v", got[:2])
		}
		// A cursor from another order, or garbage, is refused.
		p, _ := f.e.Inbox(ctx, Query{Type: "permit", View: ViewAll, Scopes: []Scope{{}}, Limit: 1})
		if _, err := f.e.Inbox(ctx, Query{Type: "permit", View: ViewAll, Scopes: []Scope{{}}, Order: ByCreated, After: p.Next}); err != ErrCursor {
			t.Fatalf("foreign cursor: %v", err)
		}
		if _, err := f.e.Inbox(ctx, Query{Type: "permit", View: ViewAll, Scopes: []Scope{{}}, After: "!!"}); err != ErrCursor {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestWorkingDays(t *testing.T) {
	cal := NewCalendar(map[string]string{"2026-12-25": "Christmas", "2026-12-24": "Christmas Eve"})
	start := time.Date(2026, 12, 23, 15, 0, 0, 0, IST) // Wednesday
	got := cal.Add(start, WorkingDays(2)).In(IST)
	// Thu 24 and Fri 25 are holidays, Sat and Sun are off: Mon 28, Tue 29.
	if got.Format("2006-01-02 15:04:05") != "2026-12-29 23:59:59" {
		t.Fatalf("got %s", got)
	}
	if n := cal.WorkingDaysBetween(start, got); n != 2 {
		t.Fatalf("between: %d", n)
	}
	if cal.WorkingDay(time.Date(2026, 12, 26, 12, 0, 0, 0, IST)) {
		t.Fatal("Saturday is a working day")
	}
	if got := cal.Add(start, Hours(30)); !got.Equal(start.Add(30 * time.Hour)) {
		t.Fatal("hours")
	}
	for _, s := range []Span{Hours(48), Days(30), WorkingDays(21)} {
		back, err := ParseSpan(s.String())
		if err != nil || back != s {
			t.Fatalf("%v → %q → %v %v", s, s.String(), back, err)
		}
	}
	for _, bad := range []string{"21", "wd", "-3d", "3x", "d"} {
		if _, err := ParseSpan(bad); err == nil {
			t.Fatalf("ParseSpan(%q) accepted", bad)
		}
	}
}

func TestHolidaysInTheDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		err := d.Tx(ctx, func(tx *db.Tx) error {
			return f.e.SetHoliday(ctx, tx, Holiday{Day: "2026-11-03", Name: "Test holiday"})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Tx(ctx, func(tx *db.Tx) error { return f.e.SetHoliday(ctx, tx, Holiday{Day: "3 Nov", Name: "x"}) }); err == nil {
			t.Fatal("bad date accepted")
		}
		c := f.create(t, "H-1") // Monday 2 Nov; Tuesday is now a holiday
		if got := c.DueAt.In(IST).Format("2006-01-02"); got != "2026-11-10" {
			t.Fatalf("due %s", got)
		}
	})
}

// TestInboxPlansUseIndexes checks on SQLite that no inbox query reads the
// whole case table (the benchmark with a million cases checks both databases).
func TestInboxPlansUseIndexes(t *testing.T) {
	d := dbtest.SQLite(t)
	f := setup(t, d)
	ctx := context.Background()
	base := Query{Type: "permit", Now: f.clk.Now(), Limit: 50}
	var queries []Query
	for _, o := range []Order{ByDue, ByCreated, ByPriority} {
		for _, v := range []Query{
			{View: ViewMine, PersonID: f.off},
			{View: ViewTeam, Roles: []RoleScope{{Role: "officer", DepartmentID: f.dept1, DistrictID: 1}}},
			{View: ViewTeam, Roles: []RoleScope{{Role: "officer", DepartmentID: f.dept1}}},
			{View: ViewOverdue, Scopes: []Scope{{}}},
			{View: ViewOverdue, Scopes: []Scope{{DepartmentID: f.dept1}}},
			{View: ViewToday, Scopes: []Scope{{DistrictID: 1}}},
			{View: ViewAll, Scopes: []Scope{{DepartmentID: f.dept1, DistrictID: 1}}},
			{View: ViewAll, Scopes: []Scope{{}}, State: "approved"},
		} {
			v.Type, v.Now, v.Limit, v.Order = base.Type, base.Now, base.Limit, o
			queries = append(queries, v)
		}
	}
	for _, q := range queries {
		sqlText, args, _, err := f.e.InboxSQL(q)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := d.R().QueryContext(ctx, "EXPLAIN QUERY PLAN "+sqlText, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		t.Logf("%s/%s: %s", q.View, q.Order, p)
		if !strings.Contains(p, "INDEX") || strings.Contains(p, "SCAN c\x00") || p == "SCAN c" {
			t.Errorf("%s/%s: plan %q", q.View, q.Order, p)
		}
	}
}
