package grievance

import (
	"crypto/sha256"
	_ "embed"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"mizogov/internal/web"
)

//go:embed dashboard.css
var dashCSS []byte

// dashCSSURL is the stylesheet's URL, versioned by its content.
var dashCSSURL = func() string {
	sum := sha256.Sum256(dashCSS)
	return "/grievances/dashboard.css?v=" + hex.EncodeToString(sum[:6])
}()

// dashboardStyles serves the dashboard's own stylesheet (the layout's
// site.css has no chart or figure styles; CSP forbids inline styles).
func (s *Service) dashboardStyles(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	if r.URL.RawQuery == dashCSSURL[len("/grievances/dashboard.css?"):] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	_, err := w.Write(dashCSS)
	return err
}

type dashPage struct {
	CSS string
	web.Form
	Dash      Dashboard
	Depts     []DashDept
	Dists     []DashDistrict
	Periods   []string
	Filter    DashFilter
	Query     string // the filter as URL parameters
	Flow      svgChart
	SLA       svgChart
	EveryMins int
}

// dashboardPage is the public dashboard (no sign-in).
func (s *Service) dashboardPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := web.LangOf(r)
	depts, dists, err := s.DashChoices(ctx)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f, errs := ParseDashFilter(q, depts, dists, s.now())
	d := &dashPage{CSS: dashCSSURL, Depts: depts, Dists: dists, Periods: DashPeriods, Filter: f, EveryMins: int(DashRefreshEvery / time.Minute),
		Form: web.Form{Values: map[string]string{"from": q.Get("from"), "to": q.Get("to")}, Errors: errs}}
	if !errs.Empty() {
		w.Header().Set("Cache-Control", "no-store")
		return s.Render.Page(w, r, http.StatusBadRequest, "grievance/dash_page.html", d)
	}
	d.Form.Values["from"], d.Form.Values["to"] = f.From, f.To
	if d.Dash, err = s.Dashboard(ctx, f, depts, dists, lang); err != nil {
		return err
	}
	d.Query = f.Query()
	T := func(k string, args ...any) string { return s.Render.Cat.T(lang, k, args...) }
	for i := range d.Dash.Months {
		d.Dash.Months[i].Label = monthLabel(d.Dash.Months[i].Key, T)
	}
	d.Flow = flowChart(d.Dash.Months, T)
	d.SLA = slaChart(d.Dash.Departments, T)
	return s.Render.Page(w, r, http.StatusOK, "grievance/dash_page.html", d)
}

// DashCSVBy are the tables the CSV download offers.
var DashCSVBy = []string{"department", "district", "month"}

// dashboardCSV sends one of the page's tables as CSV with the same filters.
func (s *Service) dashboardCSV(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	depts, dists, err := s.DashChoices(ctx)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f, errs := ParseDashFilter(q, depts, dists, s.now())
	by := q.Get("by")
	if by == "" {
		by = "department"
	}
	if by != "department" && by != "district" && by != "month" {
		errs.Add("by", "grievance.dash_bad_by")
	}
	if !errs.Empty() {
		return errs.Err()
	}
	dash, err := s.Dashboard(ctx, f, depts, dists, "en")
	if err != nil {
		return err
	}
	header := []string{"period_from", "period_to", "department_code", "department", "district_lgd", "district"}
	figures := []string{"received", "resolved", "rejected", "pending", "overdue", "median_days_to_resolve",
		"sla_closed", "sla_met", "sla_compliance_pct", "ratings", "average_rating", "appeals", "refreshed_at"}
	var rows []DashRow
	deptName, distName := "", ""
	if f.deptID != 0 {
		deptName = dash.Departments[0].Label
	}
	if f.distID != 0 {
		distName = dash.Districts[0].Label
	}
	switch by {
	case "department":
		rows = dash.Departments
	case "district":
		rows = dash.Districts
	case "month":
		rows = dash.Months
		header = append([]string{"month"}, header[2:]...)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="grievances-by-%s-%s-%s.csv"`, by, f.From, f.To))
	w.Header().Set("Cache-Control", "no-cache")
	cw := csv.NewWriter(w)
	cw.Write(append(header, figures...))
	refreshed := ""
	if !dash.RefreshedAt.IsZero() {
		refreshed = dash.RefreshedAt.UTC().Format(time.RFC3339)
	}
	for _, row := range rows {
		var lead []string
		switch by {
		case "department":
			lead = []string{f.From, f.To, row.Key, row.Label, f.District, distName}
		case "district":
			lead = []string{f.From, f.To, f.Department, deptName, row.Key, row.Label}
		case "month":
			lead = []string{row.Key, f.Department, deptName, f.District, distName}
		}
		g := row.DashFigures
		pending, overdue := strconv.Itoa(g.Pending), strconv.Itoa(g.Overdue)
		if by == "month" {
			pending, overdue = "", "" // a snapshot of now, not of a month
		}
		cells := append(lead, strconv.Itoa(g.Received), strconv.Itoa(g.Resolved), strconv.Itoa(g.Rejected), pending, overdue,
			g.MedianText(), strconv.Itoa(g.SLAClosed), strconv.Itoa(g.SLAMet), g.ComplianceText(), strconv.Itoa(g.RatingCount),
			g.RatingText(), strconv.Itoa(g.Appeals), refreshed)
		for i, c := range cells {
			// A cell a spreadsheet would run as a formula is quoted with '.
			if c != "" && (c[0] == '=' || c[0] == '+' || c[0] == '-' || c[0] == '@') {
				cells[i] = "'" + c
			}
		}
		cw.Write(cells)
	}
	cw.Flush()
	return cw.Error()
}

// svgChart is a chart drawn by the server as inline SVG elements.
type svgChart struct {
	ID     string
	Title  string
	Desc   string
	W, H   int
	Rects  []svgRect
	Lines  []svgLine
	Texts  []svgText
	Legend []svgLegend
	Empty  bool
}

type svgRect struct {
	X, Y, W, H float64
	Fill       string
	Label      string // a tooltip (<title>)
}

type svgLine struct{ X1, Y1, X2, Y2 float64 }

type svgText struct {
	X, Y   float64
	Anchor string
	Text   string
}

type svgLegend struct{ Class, Text string }

const (
	colReceived = "#0b4f8a"
	colResolved = "#0b5f3a"
)

// niceMax rounds v up to 1, 2 or 5 times a power of ten (at least 4).
func niceMax(v int) int {
	if v <= 4 {
		return 4
	}
	p := math.Pow(10, math.Floor(math.Log10(float64(v))))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if float64(v) <= m*p {
			return int(m * p)
		}
	}
	return int(10 * p)
}

// flowChart draws received and resolved by month as pairs of bars.
func flowChart(months []DashRow, T func(string, ...any) string) svgChart {
	c := svgChart{ID: "chart-flow", Title: T("grievance.dash_chart_flow"), Desc: T("grievance.dash_chart_flow_desc"), W: 400, H: 230,
		Legend: []svgLegend{{"received", T("grievance.dash_received")}, {"resolved", T("grievance.dash_resolved")}}}
	const left, right, top, bottom = 44.0, 6.0, 8.0, 40.0
	peak := 0
	for _, m := range months {
		peak = max(peak, m.Received, m.Resolved)
	}
	c.Empty = peak == 0
	top100 := niceMax(peak)
	plotW, plotH := float64(c.W)-left-right, float64(c.H)-top-bottom
	y := func(v int) float64 { return top + plotH - plotH*float64(v)/float64(top100) }
	for i := 0; i <= 4; i++ {
		v := top100 * i / 4
		c.Lines = append(c.Lines, svgLine{left, y(v), float64(c.W) - right, y(v)})
		c.Texts = append(c.Texts, svgText{left - 4, y(v) + 4, "end", strconv.Itoa(v)})
	}
	slot := plotW / float64(max(len(months), 1))
	bar := slot * 0.38
	every := (len(months) + 11) / 12 // at most 12 month labels
	for i, m := range months {
		x := left + slot*float64(i) + slot*0.1
		c.Rects = append(c.Rects,
			svgRect{x, y(m.Received), bar, y(0) - y(m.Received), colReceived, fmt.Sprintf("%s: %s %d", monthLabel(m.Key, T), T("grievance.dash_received"), m.Received)},
			svgRect{x + bar + 1, y(m.Resolved), bar, y(0) - y(m.Resolved), colResolved, fmt.Sprintf("%s: %s %d", monthLabel(m.Key, T), T("grievance.dash_resolved"), m.Resolved)})
		if i%every == 0 {
			ym, _ := parseMonth(m.Key)
			cx := left + slot*float64(i) + slot/2
			c.Texts = append(c.Texts, svgText{cx, y(0) + 16, "middle", T(fmt.Sprintf("grievance.dash_mon_%d", ym%100))},
				svgText{cx, y(0) + 31, "middle", fmt.Sprintf("%02d", (ym/100)%100)})
		}
	}
	return c
}

// slaChart draws each department's SLA compliance as a horizontal bar.
func slaChart(depts []DashRow, T func(string, ...any) string) svgChart {
	const left, right, row, top = 64.0, 48.0, 24.0, 6.0
	c := svgChart{ID: "chart-sla", Title: T("grievance.dash_chart_sla"), Desc: T("grievance.dash_chart_sla_desc"), W: 400,
		H: int(top + row*float64(max(len(depts), 1)) + 22)}
	plotW := float64(c.W) - left - right
	base := top + row*float64(len(depts))
	for _, p := range []int{0, 50, 100} {
		x := left + plotW*float64(p)/100
		c.Lines = append(c.Lines, svgLine{x, top, x, base})
		c.Texts = append(c.Texts, svgText{x, base + 16, "middle", strconv.Itoa(p) + "%"})
	}
	c.Empty = true
	for i, d := range depts {
		yy := top + row*float64(i)
		c.Texts = append(c.Texts, svgText{left - 6, yy + row/2 + 4, "end", d.Key})
		v, ok := d.Compliance()
		if !ok {
			c.Texts = append(c.Texts, svgText{left + 4, yy + row/2 + 4, "start", T("grievance.dash_none")})
			continue
		}
		c.Empty = false
		c.Rects = append(c.Rects, svgRect{left, yy + 4, plotW * v / 100, row - 8, colResolved,
			fmt.Sprintf("%s: %s%%", d.Label, d.ComplianceText())})
		c.Texts = append(c.Texts, svgText{left + plotW*v/100 + 4, yy + row/2 + 4, "start", d.ComplianceText() + "%"})
	}
	return c
}

// monthLabel is "Jan 2026" in the page's language.
func monthLabel(key string, T func(string, ...any) string) string {
	ym, ok := parseMonth(key)
	if !ok {
		return key
	}
	return T(fmt.Sprintf("grievance.dash_mon_%d", ym%100)) + " " + strconv.Itoa(ym/100)
}
