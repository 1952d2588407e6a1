package grievance

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// The public dashboard. Every figure is read from the summary tables of
// migration 016 (grv_dash_month, grv_dash_open), which RefreshDashboard
// keeps up to date; the page never scans grievances. Definitions (also on
// the page, in both languages):
//
//   - received: grievances filed in the period;
//   - resolved: grievances whose current state is resolved or
//     appeal_decided, counted in the month they were closed in;
//   - pending: open grievances now (any state but resolved, rejected,
//     appeal_decided and merged), whatever the period;
//   - overdue: pending grievances past their due time now: the category's
//     SLA from filing, moved on by the time spent waiting for the citizen
//     (who is not late then, so those are not counted), and for an appeal
//     the appellate authority's 30 days;
//   - median days to resolve: the median of the calendar days (IST) from
//     filing to resolution of the grievances resolved in the period (the
//     mean of the two middle values when their number is even);
//   - SLA compliance: of the grievances closed in the period as resolved or
//     rejected, the share closed by their due time (appeal decisions are
//     counted under appeals, not here);
//   - average rating: the mean of the ratings (1–5) citizens gave in the period;
//   - appeals: appeals made to the head of department in the period.

// DashPeriods are the periods the filter offers ("custom" takes from and to).
var DashPeriods = []string{"12m", "6m", "3m", "1m", "fy", "lfy", "custom"}

// DashMaxMonths is the longest period the dashboard shows.
const DashMaxMonths = 36

// DashFilter is what the dashboard is asked for.
type DashFilter struct {
	Department string // department code; "" for all
	District   string // district LGD code; "" for all
	Period     string // one of DashPeriods
	From, To   string // YYYY-MM (custom period); filled for every period once parsed

	deptID, distID int64
	from, to       int // YYYYMM
}

// Query is the filter as URL parameters (for links to the CSV and back).
func (f DashFilter) Query() string {
	v := url.Values{}
	if f.Department != "" {
		v.Set("department", f.Department)
	}
	if f.District != "" {
		v.Set("district", f.District)
	}
	if f.Period == "custom" {
		v.Set("from", f.From)
		v.Set("to", f.To)
	} else if f.Period != "" && f.Period != "12m" {
		v.Set("period", f.Period)
	}
	return v.Encode()
}

// DashDept and DashDistrict are the choices of the filter.
type DashDept struct {
	ID            int64
	Code          string
	Name, NameLus string
}

// Label is the name in lang.
func (d DashDept) Label(lang string) string {
	if lang == "lus" && d.NameLus != "" {
		return d.NameLus
	}
	return d.Name
}

// DashDistrict is a district the filter offers.
type DashDistrict struct {
	ID            int64
	LGD           int64
	Name, NameLus string
}

// Label is the name in lang.
func (d DashDistrict) Label(lang string) string {
	if lang == "lus" && d.NameLus != "" {
		return d.NameLus
	}
	return d.Name
}

var monthRE = regexp.MustCompile(`^(\d{4})-(\d{2})$`)

// parseMonth reads YYYY-MM as YYYYMM.
func parseMonth(v string) (int, bool) {
	m := monthRE.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	y, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	if y < 2000 || mm < 1 || mm > 12 {
		return 0, false
	}
	return y*100 + mm, true
}

// monthOf is the IST month of t as YYYYMM.
func monthOf(t time.Time) int {
	y, m, _ := t.In(workflow.IST).Date()
	return y*100 + int(m)
}

// monthStart is the first instant of an IST month.
func monthStart(ym int) time.Time {
	return time.Date(ym/100, time.Month(ym%100), 1, 0, 0, 0, 0, workflow.IST)
}

// addMonths moves a YYYYMM by n months.
func addMonths(ym, n int) int {
	t := monthStart(ym).AddDate(0, n, 0)
	return t.Year()*100 + int(t.Month())
}

// monthsBetween counts the months from a to b, both included.
func monthsBetween(a, b int) int { return (b/100-a/100)*12 + b%100 - a%100 + 1 }

func monthText(ym int) string { return fmt.Sprintf("%04d-%02d", ym/100, ym%100) }

// DashChoices loads the departments (those with grievance categories or
// figures) and districts the filter offers.
func (s *Service) DashChoices(ctx context.Context) ([]DashDept, []DashDistrict, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT id, code, name, name_lus FROM departments
		WHERE id IN (SELECT department_id FROM grv_categories) OR id IN (SELECT department_id FROM grv_dash_open)
		OR id IN (SELECT DISTINCT department_id FROM grv_dash_month) ORDER BY code`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var depts []DashDept
	for rows.Next() {
		var d DashDept
		if err := rows.Scan(&d.ID, &d.Code, &d.Name, &d.NameLus); err != nil {
			return nil, nil, err
		}
		depts = append(depts, d)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	drows, err := s.DB.R().QueryContext(ctx, `SELECT id, lgd_code, name, name_lus FROM districts ORDER BY name`)
	if err != nil {
		return nil, nil, err
	}
	defer drows.Close()
	var dists []DashDistrict
	for drows.Next() {
		var d DashDistrict
		if err := drows.Scan(&d.ID, &d.LGD, &d.Name, &d.NameLus); err != nil {
			return nil, nil, err
		}
		dists = append(dists, d)
	}
	return depts, dists, drows.Err()
}

// ParseDashFilter reads and checks the dashboard's query parameters against
// the choices. Problems come back as field errors (a 400, never a 500).
func ParseDashFilter(q url.Values, depts []DashDept, dists []DashDistrict, now time.Time) (DashFilter, *web.Fields) {
	f := DashFilter{Department: strings.TrimSpace(q.Get("department")), District: strings.TrimSpace(q.Get("district")),
		Period: strings.TrimSpace(q.Get("period")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	errs := &web.Fields{}
	if f.Department != "" {
		i := slices.IndexFunc(depts, func(d DashDept) bool { return strings.EqualFold(d.Code, f.Department) })
		if i < 0 {
			errs.Add("department", "grievance.dash_bad_department")
		} else {
			f.Department, f.deptID = depts[i].Code, depts[i].ID
		}
	}
	if f.District != "" {
		i := slices.IndexFunc(dists, func(d DashDistrict) bool { return strconv.FormatInt(d.LGD, 10) == f.District })
		if i < 0 {
			errs.Add("district", "grievance.dash_bad_district")
		} else {
			f.distID = dists[i].ID
		}
	}
	this := monthOf(now)
	if f.Period == "" {
		f.Period = "12m"
		if f.From != "" || f.To != "" {
			f.Period = "custom"
		}
	}
	switch f.Period {
	case "12m", "6m", "3m", "1m":
		n, _ := strconv.Atoi(strings.TrimSuffix(f.Period, "m"))
		f.from, f.to = addMonths(this, 1-n), this
	case "fy", "lfy":
		// India's financial year runs from April to March.
		start := (this/100)*100 + 4
		if this%100 < 4 {
			start -= 100
		}
		if f.Period == "lfy" {
			start -= 100
		}
		f.from, f.to = start, min(addMonths(start, 11), this)
	case "custom":
		from, okFrom := parseMonth(f.From)
		to, okTo := parseMonth(f.To)
		switch {
		case f.From == "" && f.To == "":
			errs.Add("from", "grievance.dash_month_required")
		case f.From != "" && !okFrom:
			errs.Add("from", "grievance.dash_bad_month")
		case f.To != "" && !okTo:
			errs.Add("to", "grievance.dash_bad_month")
		}
		if f.From == "" && okTo {
			from, okFrom = addMonths(to, -11), true
		}
		if f.To == "" && okFrom {
			to, okTo = this, true
		}
		if okFrom && okTo && errs.Empty() {
			switch {
			case to > this:
				errs.Add("to", "grievance.dash_future")
			case from > to:
				errs.Add("to", "grievance.dash_to_before_from")
			case monthsBetween(from, to) > DashMaxMonths:
				errs.Add("from", "grievance.dash_too_long", "max", DashMaxMonths)
			}
		}
		f.from, f.to = from, to
	default:
		errs.Add("period", "grievance.dash_bad_period")
	}
	if errs.Empty() {
		f.From, f.To = monthText(f.from), monthText(f.to)
	}
	return f, errs
}

// DashFigures are the figures of one row (a department, a district, a
// month, or everything chosen).
type DashFigures struct {
	Received, Resolved, Rejected int
	Pending, Waiting, Overdue    int
	SLAClosed, SLAMet            int
	RatingSum, RatingCount       int
	Appeals                      int
	Days                         []int // Days[d]: how many took d days to resolve
}

func (f *DashFigures) add(o DashFigures) {
	f.Received += o.Received
	f.Resolved += o.Resolved
	f.Rejected += o.Rejected
	f.Pending += o.Pending
	f.Waiting += o.Waiting
	f.Overdue += o.Overdue
	f.SLAClosed += o.SLAClosed
	f.SLAMet += o.SLAMet
	f.RatingSum += o.RatingSum
	f.RatingCount += o.RatingCount
	f.Appeals += o.Appeals
	for d, k := range o.Days {
		f.addDays(d, k)
	}
}

// addDays counts k grievances that took d days.
func (f *DashFigures) addDays(d, k int) {
	if k == 0 {
		return
	}
	d = max(d, 0)
	if d >= len(f.Days) {
		f.Days = append(f.Days, make([]int, d+1-len(f.Days))...)
	}
	f.Days[d] += k
}

// Median is the median days to resolve; ok is false when nothing was resolved.
func (f DashFigures) Median() (float64, bool) {
	total := 0
	for _, k := range f.Days {
		total += k
	}
	if total == 0 {
		return 0, false
	}
	// The k-th smallest value (0-based).
	nth := func(k int) int {
		for d, c := range f.Days {
			if k < c {
				return d
			}
			k -= c
		}
		return len(f.Days) - 1
	}
	if total%2 == 1 {
		return float64(nth(total / 2)), true
	}
	return float64(nth(total/2-1)+nth(total/2)) / 2, true
}

// Compliance is the SLA compliance in per cent; ok is false when nothing closed.
func (f DashFigures) Compliance() (float64, bool) {
	if f.SLAClosed == 0 {
		return 0, false
	}
	return 100 * float64(f.SLAMet) / float64(f.SLAClosed), true
}

// Rating is the average rating; ok is false without ratings.
func (f DashFigures) Rating() (float64, bool) {
	if f.RatingCount == 0 {
		return 0, false
	}
	return float64(f.RatingSum) / float64(f.RatingCount), true
}

// The figures as text ("" when there is nothing to measure), for the page and CSV.
func (f DashFigures) MedianText() string { return numText(f.Median()) }
func (f DashFigures) ComplianceText() string {
	v, ok := f.Compliance()
	return fixed(v, ok, 1)
}
func (f DashFigures) RatingText() string {
	v, ok := f.Rating()
	return fixed(v, ok, 2)
}

func numText(v float64, ok bool) string {
	if !ok {
		return ""
	}
	if v == float64(int(v)) {
		return strconv.Itoa(int(v))
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func fixed(v float64, ok bool, prec int) string {
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// DashRow is one line of a table.
type DashRow struct {
	Key   string // department code, district LGD code or YYYY-MM
	Label string
	DashFigures
}

// Dashboard is everything the page shows.
type Dashboard struct {
	Filter      DashFilter
	Departments []DashRow
	Districts   []DashRow
	Months      []DashRow // every month of the period, oldest first
	Total       DashFigures
	Built       bool      // false until the first refresh has run
	RefreshedAt time.Time // when the figures were computed
}

// encodeDays and decodeDays store a days histogram as "days:count …".
func encodeDays(h []int) string {
	var b strings.Builder
	for d, k := range h {
		if k == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(d))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(k))
	}
	return b.String()
}

// decodeDays adds a stored histogram to each of into. It reads the digits
// itself: a year of the whole state is some hundred thousand entries.
func decodeDays(s string, into ...*DashFigures) error {
	d, k, inK, digits := 0, 0, false, 0
	flush := func() error {
		if digits == 0 || !inK {
			return fmt.Errorf("dashboard: bad days histogram %q", s)
		}
		for _, f := range into {
			f.addDays(d, k)
		}
		d, k, inK, digits = 0, 0, false, 0
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if inK {
				k = k*10 + int(c-'0')
			} else {
				d = d*10 + int(c-'0')
			}
			digits++
			if digits > 9 {
				return fmt.Errorf("dashboard: bad days histogram %q", s)
			}
		case c == ':' && !inK && digits > 0:
			inK, digits = true, 0
		case c == ' ':
			if err := flush(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("dashboard: bad days histogram %q", s)
		}
	}
	if len(s) > 0 {
		return flush()
	}
	return nil
}

// Dashboard builds the figures for f (parsed by ParseDashFilter) in lang.
func (s *Service) Dashboard(ctx context.Context, f DashFilter, depts []DashDept, dists []DashDistrict, lang string) (Dashboard, error) {
	out := Dashboard{Filter: f}
	var refreshed *time.Time
	if err := s.DB.R().QueryRowContext(ctx, `SELECT built, refreshed_at FROM grv_dash_state WHERE id = 1`).Scan(&out.Built, &refreshed); err != nil {
		return out, err
	}
	if refreshed != nil {
		out.RefreshedAt = *refreshed
	}
	args := []any{f.from, f.to}
	where := `month >= $1 AND month <= $2`
	owhere := `TRUE`
	if f.deptID != 0 {
		args = append(args, f.deptID)
		where += ` AND department_id = $3`
		owhere += ` AND department_id = $1`
	}
	if f.distID != 0 {
		args = append(args, f.distID)
		where += ` AND district_id = $` + strconv.Itoa(len(args))
		owhere += ` AND district_id = $` + strconv.Itoa(len(args)-2)
	}
	byDept, byDist, byMonth := map[int64]*DashFigures{}, map[int64]*DashFigures{}, map[int]*DashFigures{}
	get := func(m map[int64]*DashFigures, k int64) *DashFigures {
		if m[k] == nil {
			m[k] = &DashFigures{}
		}
		return m[k]
	}
	rows, err := s.DB.R().QueryContext(ctx, `SELECT month, department_id, district_id, received, resolved, rejected, sla_closed, sla_met,
		days, rating_sum, rating_count, appeals FROM grv_dash_month WHERE `+where, args...)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var month int
		var dept, dist int64
		var days string
		var g DashFigures
		if err := rows.Scan(&month, &dept, &dist, &g.Received, &g.Resolved, &g.Rejected, &g.SLAClosed, &g.SLAMet, &days,
			&g.RatingSum, &g.RatingCount, &g.Appeals); err != nil {
			return out, err
		}
		if byMonth[month] == nil {
			byMonth[month] = &DashFigures{}
		}
		targets := []*DashFigures{get(byDept, dept), get(byDist, dist), byMonth[month], &out.Total}
		for _, t := range targets {
			t.add(g)
		}
		if err := decodeDays(days, targets...); err != nil {
			return out, err
		}
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	orows, err := s.DB.R().QueryContext(ctx, `SELECT department_id, district_id, pending, waiting, overdue FROM grv_dash_open WHERE `+owhere, args[2:]...)
	if err != nil {
		return out, err
	}
	defer orows.Close()
	for orows.Next() {
		var dept, dist int64
		var g DashFigures
		if err := orows.Scan(&dept, &dist, &g.Pending, &g.Waiting, &g.Overdue); err != nil {
			return out, err
		}
		get(byDept, dept).add(g)
		get(byDist, dist).add(g)
		out.Total.add(g)
	}
	if err := orows.Err(); err != nil {
		return out, err
	}
	for _, d := range depts {
		if f.deptID != 0 && d.ID != f.deptID {
			continue
		}
		out.Departments = append(out.Departments, DashRow{Key: d.Code, Label: d.Label(lang), DashFigures: *get(byDept, d.ID)})
	}
	sort.SliceStable(out.Departments, func(i, j int) bool { return out.Departments[i].Label < out.Departments[j].Label })
	for _, d := range dists {
		if f.distID != 0 && d.ID != f.distID {
			continue
		}
		out.Districts = append(out.Districts, DashRow{Key: strconv.FormatInt(d.LGD, 10), Label: d.Label(lang), DashFigures: *get(byDist, d.ID)})
	}
	sort.SliceStable(out.Districts, func(i, j int) bool { return out.Districts[i].Label < out.Districts[j].Label })
	for m := f.from; m <= f.to; m = addMonths(m, 1) {
		row := DashRow{Key: monthText(m)}
		if g := byMonth[m]; g != nil {
			row.DashFigures = *g
		}
		out.Months = append(out.Months, row)
	}
	return out, nil
}
