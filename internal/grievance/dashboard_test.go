package grievance_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/grievance"
	"mizogov/internal/workflow"
)

var ist = workflow.IST

// dashWorld is a hand-made set of grievances whose figures are known.
type dashWorld struct {
	e           *apptest.Env
	s           *grievance.Service
	pwd, phed   int64
	aizawl      int64
	lunglei     int64
	officer     workflow.Actor
	citizen     workflow.Actor
	g           map[string]int64 // name → case id
	version     map[string]int
	lungleiCode string
}

func newDashWorld(t *testing.T, e *apptest.Env) *dashWorld {
	t.Helper()
	ctx := context.Background()
	a := e.App
	w := &dashWorld{e: e, g: map[string]int64{}, version: map[string]int{},
		s: &grievance.Service{DB: a.DB, Audit: a.Audit, Notify: a.Notify, Jobs: a.Jobs, Workflow: a.Workflow, Files: a.Files,
			Geo: a.Geo, Auth: a.Auth, Limits: a.Limits, Render: a.Render, Now: a.Now}}
	var err error
	if w.pwd, err = a.Auth.SaveDepartment(ctx, nil, auth.Department{Code: "PWD", Name: "Public Works Department", NameLus: "PWD Lus"}); err != nil {
		t.Fatal(err)
	}
	if w.phed, err = a.Auth.SaveDepartment(ctx, nil, auth.Department{Code: "PHED", Name: "Public Health Engineering", NameLus: "PHE Lus"}); err != nil {
		t.Fatal(err)
	}
	a.DB.R().QueryRow(`SELECT id FROM districts WHERE name = 'Aizawl'`).Scan(&w.aizawl)
	a.DB.R().QueryRow(`SELECT id, lgd_code FROM districts WHERE name = 'Lunglei'`).Scan(&w.lunglei, &w.lungleiCode)
	err = a.DB.Tx(ctx, func(tx *db.Tx) error {
		if _, err := w.s.SaveCategory(ctx, tx, grievance.Category{Code: "road", DepartmentID: w.pwd, Name: "Road", NameLus: "Kawng", SLADays: 21, Active: true}); err != nil {
			return err
		}
		_, err := w.s.SaveCategory(ctx, tx, grievance.Category{Code: "water", DepartmentID: w.phed, Name: "Water", NameLus: "Tui", SLADays: 10, Active: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	gro := e.Officer(t, "gro.test", grievance.RoleGRO, 0, 0)
	w.officer = workflow.Actor{ID: gro.PersonID, Roles: func(int64, int64) []string { return []string{grievance.RoleGRO} }}
	var citizen int64
	if err := a.DB.W().QueryRow(`INSERT INTO people (name, phone, created_at) VALUES ('Citizen', '+919862000555', $1) RETURNING id`,
		db.Time(e.Clock.Now())).Scan(&citizen); err != nil {
		t.Fatal(err)
	}
	w.citizen = workflow.Actor{ID: citizen, Roles: func(int64, int64) []string { return []string{auth.RoleCitizen} }}
	return w
}

// at moves the clock to an IST time in 2026.
func (w *dashWorld) at(t *testing.T, month time.Month, day, hour int) {
	t.Helper()
	target := time.Date(2026, month, day, hour, 0, 0, 0, ist)
	d := target.Sub(w.e.Clock.Now())
	if d < 0 {
		t.Fatalf("clock would go back to %v", target)
	}
	w.e.Clock.Advance(d)
}

func (w *dashWorld) file(t *testing.T, name, category string, district int64) {
	t.Helper()
	g, err := w.s.File(context.Background(), grievance.NewGrievance{Category: category, Description: "Test grievance " + name,
		DistrictID: district, Lang: "en", CitizenID: w.citizen.ID, Channel: grievance.ChannelWeb, Actor: w.citizen})
	if err != nil {
		t.Fatalf("file %s: %v", name, err)
	}
	w.g[name], w.version[name] = g.CaseID, 1
}

func (w *dashWorld) act(t *testing.T, name, action string, actor workflow.Actor) {
	t.Helper()
	err := w.e.App.DB.Tx(context.Background(), func(tx *db.Tx) error {
		st, err := w.e.App.Workflow.Act(context.Background(), tx, workflow.Act{CaseID: w.g[name], Action: action, Version: w.version[name],
			Actor: actor, Comment: "Done: " + action})
		w.version[name] = st.Case.Version
		return err
	})
	if err != nil {
		t.Fatalf("%s %s: %v", action, name, err)
	}
}

func (w *dashWorld) rate(t *testing.T, name string, rating int) {
	t.Helper()
	now := db.Time(w.e.Clock.Now())
	if _, err := w.e.App.DB.W().Exec(`UPDATE grv_grievances SET rating = $1, rated_at = $2, updated_at = $2 WHERE case_id = $3`,
		rating, now, w.g[name]); err != nil {
		t.Fatal(err)
	}
}

func (w *dashWorld) refresh(t *testing.T) grievance.DashRefresh {
	t.Helper()
	r, err := w.s.RefreshDashboard(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// build files and works seven grievances between January and March 2026:
//
//	G1 PWD Aizawl   filed 5 Jan, resolved 8 Jan (3 days, in time), rated 4 on 9 Jan
//	G2 PWD Aizawl   filed 6 Jan, resolved 10 Feb (35 days, late: due 27 Jan)
//	G3 PWD Lunglei  filed 7 Jan, rejected 9 Jan (in time)
//	G4 PHED Aizawl  filed 10 Jan, resolved 15 Jan, rated 1 on 16 Jan, appealed 17 Jan (appeal due 16 Feb)
//	G5 PHED Lunglei filed 2 Feb, still submitted (due 12 Feb)
//	G7 PWD Aizawl   filed 3 Feb, information asked 4 Feb (waiting for the citizen)
//	G6 PWD Aizawl   filed 1 Mar, still submitted (due 22 Mar)
//
// and stops the clock on 10 March 2026, 12:00 IST.
func (w *dashWorld) build(t *testing.T) {
	w.at(t, time.January, 5, 10)
	w.file(t, "G1", "road", w.aizawl)
	w.at(t, time.January, 6, 10)
	w.file(t, "G2", "road", w.aizawl)
	w.at(t, time.January, 7, 10)
	w.file(t, "G3", "road", w.lunglei)
	w.at(t, time.January, 8, 10)
	w.act(t, "G1", "resolve", w.officer)
	w.at(t, time.January, 9, 10)
	w.act(t, "G3", "reject", w.officer)
	w.rate(t, "G1", 4)
	w.at(t, time.January, 10, 10)
	w.file(t, "G4", "water", w.aizawl)
	w.at(t, time.January, 15, 10)
	w.act(t, "G4", "resolve", w.officer)
	w.at(t, time.January, 16, 10)
	w.rate(t, "G4", 1)
	w.at(t, time.January, 17, 10)
	w.act(t, "G4", "appeal", w.citizen)
	w.at(t, time.February, 2, 10)
	w.file(t, "G5", "water", w.lunglei)
	w.at(t, time.February, 3, 10)
	w.file(t, "G7", "road", w.aizawl)
	w.at(t, time.February, 4, 10)
	w.act(t, "G7", "ask_info", w.officer)
	w.at(t, time.February, 10, 10)
	w.act(t, "G2", "resolve", w.officer)
	w.at(t, time.March, 1, 10)
	w.file(t, "G6", "road", w.aizawl)
	w.at(t, time.March, 10, 12)
}

func dashboard(t *testing.T, w *dashWorld, q string) grievance.Dashboard {
	t.Helper()
	ctx := context.Background()
	depts, dists, err := dashChoices(w)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := url.ParseQuery(q)
	f, errs := grievance.ParseDashFilter(v, depts, dists, w.e.Clock.Now())
	if !errs.Empty() {
		t.Fatalf("filter %q: %v", q, errs.List)
	}
	d, err := w.s.Dashboard(ctx, f, depts, dists, "en")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func dashChoices(w *dashWorld) ([]grievance.DashDept, []grievance.DashDistrict, error) {
	return w.s.DashChoices(context.Background())
}

func dashRowOf(t *testing.T, rows []grievance.DashRow, key string) grievance.DashRow {
	t.Helper()
	for _, r := range rows {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no row %q", key)
	return grievance.DashRow{}
}

type want struct {
	received, resolved, rejected, pending, overdue, appeals int
	median, sla, rating                                     string
}

func check(t *testing.T, what string, g grievance.DashFigures, w want) {
	t.Helper()
	got := want{g.Received, g.Resolved, g.Rejected, g.Pending, g.Overdue, g.Appeals, g.MedianText(), g.ComplianceText(), g.RatingText()}
	if got != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, w)
	}
}

func TestDashboardFigures(t *testing.T) {
	clock := apptest.At(time.Date(2026, time.January, 5, 9, 0, 0, 0, ist))
	apptest.Each(t, apptest.Options{Clock: clock}, func(t *testing.T, e *apptest.Env) {
		w := newDashWorld(t, e)
		w.build(t)
		r := w.refresh(t)
		if r.Months == 0 {
			t.Fatalf("refresh computed no month: %+v", r)
		}
		d := dashboard(t, w, "")
		if d.Filter.From != "2025-04" || d.Filter.To != "2026-03" || len(d.Months) != 12 {
			t.Fatalf("period %s..%s, %d months", d.Filter.From, d.Filter.To, len(d.Months))
		}
		// Resolved: G1 (3 days) and G2 (35 days): median 19. Closed for
		// the SLA: G1, G3 in time, G2 late. Ratings 4 and 1. Pending: G4
		// (appeal, overdue since 16 Feb), G5 (overdue since 12 Feb), G6,
		// G7 (waiting for the citizen, never overdue).
		check(t, "total", d.Total, want{7, 2, 1, 4, 2, 1, "19", "66.7", "2.50"})
		if d.Total.Waiting != 1 {
			t.Errorf("waiting = %d, want 1", d.Total.Waiting)
		}
		check(t, "January", dashRowOf(t, d.Months, "2026-01").DashFigures, want{4, 1, 1, 0, 0, 1, "3", "100.0", "2.50"})
		check(t, "February", dashRowOf(t, d.Months, "2026-02").DashFigures, want{2, 1, 0, 0, 0, 0, "35", "0.0", ""})
		check(t, "March", dashRowOf(t, d.Months, "2026-03").DashFigures, want{1, 0, 0, 0, 0, 0, "", "", ""})
		check(t, "December", dashRowOf(t, d.Months, "2025-12").DashFigures, want{})
		check(t, "PWD", dashRowOf(t, d.Departments, "PWD").DashFigures, want{5, 2, 1, 2, 0, 0, "19", "66.7", "4.00"})
		check(t, "PHED", dashRowOf(t, d.Departments, "PHED").DashFigures, want{2, 0, 0, 2, 2, 1, "", "", "1.00"})
		check(t, "Aizawl", dashRowOf(t, d.Districts, "261").DashFigures, want{5, 2, 0, 3, 1, 1, "19", "50.0", "2.50"})
		check(t, "Lunglei", dashRowOf(t, d.Districts, w.lungleiCode).DashFigures, want{2, 0, 1, 1, 1, 0, "", "100.0", ""})

		// Filters: one district; one department and one district; a custom period.
		check(t, "Lunglei only", dashboard(t, w, "district="+w.lungleiCode).Total, want{2, 0, 1, 1, 1, 0, "", "100.0", ""})
		pa := dashboard(t, w, "department=PWD&district=261")
		check(t, "PWD Aizawl", pa.Total, want{4, 2, 0, 2, 0, 0, "19", "50.0", "4.00"})
		if len(pa.Departments) != 1 || len(pa.Districts) != 1 {
			t.Errorf("filtered tables: %d departments, %d districts", len(pa.Departments), len(pa.Districts))
		}
		feb := dashboard(t, w, "from=2026-02&to=2026-03")
		check(t, "Feb–Mar", feb.Total, want{3, 1, 0, 4, 2, 0, "35", "0.0", ""})
		if len(feb.Months) != 2 {
			t.Errorf("Feb–Mar has %d months", len(feb.Months))
		}
		check(t, "this month", dashboard(t, w, "period=1m").Total, want{1, 0, 0, 4, 2, 0, "", "", ""})

		// Changes after the refresh reach the figures at the next one, in
		// the months they touch: G6 is resolved in March; G2 is reopened,
		// so February no longer counts it as resolved.
		w.act(t, "G6", "resolve", w.officer)
		w.act(t, "G2", "reopen", w.citizen)
		r = w.refresh(t)
		if r.Full || r.Months == 0 || r.Months > 3 {
			t.Errorf("second refresh: %+v (want a few months, not all)", r)
		}
		d = dashboard(t, w, "")
		check(t, "total after", d.Total, want{7, 2, 1, 4, 2, 1, "6", "100.0", "2.50"})
		check(t, "February after", dashRowOf(t, d.Months, "2026-02").DashFigures, want{2, 0, 0, 0, 0, 0, "", "", ""})
		check(t, "March after", dashRowOf(t, d.Months, "2026-03").DashFigures, want{1, 1, 0, 0, 0, 0, "9", "100.0", ""})
	})
}

func TestDashboardMedianEvenAndOdd(t *testing.T) {
	for _, c := range []struct {
		days []int
		want string
	}{
		{[]int{0, 0, 0, 1}, "3"},
		{[]int{1, 1}, "0.5"},
		{[]int{0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1}, "2"},
		{[]int{2, 0, 0, 0, 0, 0, 0, 1, 1}, "3.5"},
		{nil, ""},
	} {
		if got := (grievance.DashFigures{Days: c.days}).MedianText(); got != c.want {
			t.Errorf("median of %v = %q, want %q", c.days, got, c.want)
		}
	}
}

func TestDashboardPagesAndCSV(t *testing.T) {
	clock := apptest.At(time.Date(2026, time.January, 5, 9, 0, 0, 0, ist))
	apptest.Each(t, apptest.Options{Clock: clock}, func(t *testing.T, e *apptest.Env) {
		w := newDashWorld(t, e)
		w.build(t)
		// The periodic job builds the figures (here queued at once).
		ctx := context.Background()
		if err := e.App.DB.Tx(ctx, func(tx *db.Tx) error { return e.App.Jobs.Insert(ctx, tx, grievance.DashRefreshArgs{}, nil) }); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for e.Count(t, `SELECT COALESCE(SUM(received), 0) FROM grv_dash_month`) != 7 {
			if time.Now().After(deadline) {
				t.Fatal("the refresh job did not build the figures")
			}
			time.Sleep(20 * time.Millisecond)
		}
		c := e.Client()
		for _, lang := range []string{"en", "lus"} {
			r := c.Get(t, "/grievances/dashboard?lang="+lang)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", lang, r.Status, r.Body)
			}
			body := r.Body
			for _, s := range []string{"<svg", "<title id=\"chart-flow-t\">", "<desc id=\"chart-sla-d\">", "<table", "2026-03",
				`href="/grievances/dashboard.csv?by=department"`} {
				if !strings.Contains(body, s) {
					t.Errorf("%s page lacks %q", lang, s)
				}
			}
			if strings.Contains(body, "style=") || strings.Contains(body, "<script>") {
				t.Errorf("%s page has inline style or script", lang)
			}
			if n := len(body); n > 30*1024 {
				t.Errorf("%s page is %d bytes", lang, n)
			}
			title := map[string]string{"en": "How departments handle grievances", "lus": "Department-ten thlen an enkawl dan"}[lang]
			if !strings.Contains(body, title) {
				t.Errorf("%s page lacks its title %q", lang, title)
			}
		}
		css := c.Get(t, "/grievances/dashboard.css")
		if css.Status != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") || !strings.Contains(css.Body, ".dash-charts") {
			t.Errorf("stylesheet: %d %s", css.Status, css.Header.Get("Content-Type"))
		}
		lus := c.Get(t, "/grievances/dashboard?lang=lus").Body
		if !strings.Contains(lus, "PHE Lus") || !strings.Contains(lus, "Thla azirin") {
			t.Error("the Mizo page does not use Mizo names")
		}

		// CSV: a header row and one row per department, same filters.
		r := c.Get(t, "/grievances/dashboard.csv?district=261")
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv; charset=utf-8") {
			t.Fatalf("csv: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
		recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 || recs[0][0] != "period_from" || recs[0][2] != "department_code" || recs[0][6] != "received" {
			t.Fatalf("csv: %q", recs)
		}
		byCode := map[string][]string{}
		for _, rec := range recs[1:] {
			byCode[rec[2]] = rec
			if len(rec) != len(recs[0]) {
				t.Errorf("row %q has %d cells, header %d", rec, len(rec), len(recs[0]))
			}
		}
		head := recs[0]
		cell := func(code, col string) string {
			for i, h := range head {
				if h == col {
					return byCode[code][i]
				}
			}
			t.Fatalf("no column %s", col)
			return ""
		}
		for _, c := range []struct{ code, col, want string }{
			{"PWD", "period_from", "2025-04"}, {"PWD", "district_lgd", "261"}, {"PWD", "district", "Aizawl"},
			{"PWD", "received", "4"}, {"PWD", "resolved", "2"}, {"PWD", "pending", "2"}, {"PWD", "median_days_to_resolve", "19"},
			{"PWD", "sla_compliance_pct", "50.0"}, {"PWD", "average_rating", "4.00"},
			{"PHED", "received", "1"}, {"PHED", "appeals", "1"}, {"PHED", "overdue", "1"}, {"PHED", "median_days_to_resolve", ""},
		} {
			if got := cell(c.code, c.col); got != c.want {
				t.Errorf("csv %s %s = %q, want %q", c.code, c.col, got, c.want)
			}
		}
		months, _ := csv.NewReader(strings.NewReader(c.Get(t, "/grievances/dashboard.csv?by=month&from=2026-01&to=2026-03").Body)).ReadAll()
		if len(months) != 4 || months[0][0] != "month" || months[1][0] != "2026-01" || months[1][5] != "4" {
			t.Errorf("csv by month: %q", months)
		}

		// Bad filters: a clear 400 with the problem named, never a 500.
		for _, q := range []string{"department=NOPE", "district=999", "district=abc", "period=7y", "from=2026-13", "from=26-01",
			"from=2026-03&to=2026-01", "to=2099-01", "from=2020-01&to=2026-03", "from=1999-12"} {
			r := c.Get(t, "/grievances/dashboard?"+q)
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "error-summary") {
				t.Errorf("%s: %d", q, r.Status)
			}
			r = c.Get(t, "/grievances/dashboard.csv?"+q)
			if r.Status < 400 || r.Status >= 500 {
				t.Errorf("csv %s: %d", q, r.Status)
			}
		}
		if r := c.Get(t, "/grievances/dashboard?lang=lus&period=7y"); !strings.Contains(r.Body, "List aṭangin hun chhung thlang rawh") {
			t.Error("the Mizo error message is missing")
		}
		if r := c.Get(t, "/grievances/dashboard.csv?by=year"); r.Status < 400 || r.Status >= 500 {
			t.Errorf("csv by=year: %d", r.Status)
		}
	})
}
