package permits

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/web"
)

// Report is a table: the same data serves the page, the JSON API and CSV.
type Report struct {
	Name    string     `json:"name" enum:"daily,inside,overstays,sponsors"`
	From    string     `json:"from,omitempty"`
	To      string     `json:"to,omitempty"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// ReportNames lists the reports.
var ReportNames = []string{"daily", "inside", "overstays", "sponsors"}

// reportRange reads from/to (IST days, inclusive); the default is the last 30 days.
func (s *Service) reportRange(r *http.Request) (time.Time, time.Time, error) {
	today := dayStart(s.now())
	from, to := today.AddDate(0, 0, -29), today
	f := &web.Fields{}
	q := r.URL.Query()
	if v := q.Get("from"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, ist)
		if err != nil {
			f.Add("from", "form.date_invalid")
		}
		from = t
	}
	if v := q.Get("to"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, ist)
		if err != nil {
			f.Add("to", "form.date_invalid")
		}
		to = t
	}
	if f.Empty() && (to.Before(from) || to.Sub(from) > 366*24*time.Hour) {
		f.Add("to", "permits.report_range")
	}
	return from, to, f.Err()
}

// scope says whether the reader may see records of a district.
func (s *Service) scope(ctx context.Context, p *auth.Principal) func(district int64) bool {
	dept := s.homeDept(ctx)
	return func(district int64) bool { return p.CanIn(PermReports, dept, district) }
}

// Build makes one report for reader p.
func (s *Service) Build(ctx context.Context, p *auth.Principal, name string, from, to time.Time, lang string) (Report, error) {
	ok := s.scope(ctx, p)
	now := s.now()
	rep := Report{Name: name, From: from.Format("2006-01-02"), To: to.Format("2006-01-02"), Rows: [][]string{}}
	T := func(k string) string { return s.Render.Cat.T(lang, k) }
	entry := func(code string) string {
		if e, found := EntryPointByCode(code); found {
			return e.Label(lang)
		}
		return code
	}
	stamp := func(t time.Time) string { return t.In(ist).Format("2006-01-02 15:04") }
	switch name {
	case "daily":
		rep.Columns = []string{T("permits.col_day"), T("permits.col_type"), T("permits.col_entry"), T("permits.col_permits")}
		rows, err := s.DB.R().QueryContext(ctx, `SELECT issued_at, type_code, entry_point, COALESCE(district_id, 0) FROM permits
			WHERE issued_at >= $1 AND issued_at < $2`, db.Time(from), db.Time(to.AddDate(0, 0, 1)))
		if err != nil {
			return rep, err
		}
		defer rows.Close()
		type key struct{ day, typ, ep string }
		counts := map[key]int{}
		for rows.Next() {
			var at time.Time
			var typ, ep string
			var district int64
			if err := rows.Scan(&at, &typ, &ep, &district); err != nil {
				return rep, err
			}
			if ok(district) {
				counts[key{at.In(ist).Format("2006-01-02"), typ, ep}]++
			}
		}
		if err := rows.Err(); err != nil {
			return rep, err
		}
		keys := make([]key, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, b := keys[i], keys[j]
			if a.day != b.day {
				return a.day < b.day
			}
			if a.typ != b.typ {
				return a.typ < b.typ
			}
			return a.ep < b.ep
		})
		for _, k := range keys {
			rep.Rows = append(rep.Rows, []string{k.day, k.typ, entry(k.ep), strconv.Itoa(counts[k])})
		}
	case "inside", "overstays":
		// The latest gate event of each permit decides whether its holder is inside.
		q := `SELECT p.number, p.holder_name, p.type_code, p.valid_to, COALESCE(p.district_id, 0), e.kind, e.gate, e.at
			FROM permits p LEFT JOIN permit_gate_events e ON e.permit_id = p.id AND NOT EXISTS (
				SELECT 1 FROM permit_gate_events x WHERE x.permit_id = p.id AND (x.at > e.at OR (x.at = e.at AND x.id > e.id)))
			WHERE p.status = 'active' AND `
		if name == "inside" {
			q += `e.kind = 'entry' ORDER BY e.at DESC LIMIT 5000`
			rep.Columns = []string{T("permits.col_number"), T("permits.col_holder"), T("permits.col_type"), T("permits.col_entered_at"),
				T("permits.col_gate"), T("permits.col_valid_to"), T("permits.col_state")}
		} else {
			q += `p.valid_to <= $1 AND (e.kind IS NULL OR e.kind = 'entry') ORDER BY p.valid_to LIMIT 5000`
			rep.Columns = []string{T("permits.col_number"), T("permits.col_holder"), T("permits.col_type"), T("permits.col_valid_to"),
				T("permits.col_days_over"), T("permits.col_entered_at"), T("permits.col_gate")}
		}
		var args []any
		if name == "overstays" {
			args = append(args, db.Time(now))
		}
		rows, err := s.DB.R().QueryContext(ctx, q, args...)
		if err != nil {
			return rep, err
		}
		defer rows.Close()
		for rows.Next() {
			var number, holder, typ string
			var validTo time.Time
			var district int64
			var kind, gate *string
			var at *time.Time
			if err := rows.Scan(&number, &holder, &typ, &validTo, &district, &kind, &gate, &at); err != nil {
				return rep, err
			}
			if !ok(district) {
				continue
			}
			entered, gateName := T("permits.no_entry_recorded"), ""
			if at != nil {
				entered = stamp(*at)
			}
			if gate != nil {
				gateName = entry(*gate)
			}
			last := validTo.Add(-time.Second).In(ist).Format("2006-01-02")
			if name == "inside" {
				state := T("permits.state_valid")
				if !now.Before(validTo) {
					state = T("permits.state_expired")
				}
				rep.Rows = append(rep.Rows, []string{number, holder, typ, entered, gateName, last, state})
			} else {
				over := int(now.Sub(validTo).Hours()/24) + 1
				rep.Rows = append(rep.Rows, []string{number, holder, typ, last, strconv.Itoa(over), entered, gateName})
			}
		}
		if err := rows.Err(); err != nil {
			return rep, err
		}
	case "sponsors":
		rep.Columns = []string{T("permits.col_epic"), T("permits.col_name"), T("permits.col_locality"), T("permits.col_district"),
			T("permits.col_active"), T("permits.col_cap")}
		rows, err := s.DB.R().QueryContext(ctx, `SELECT s.epic, s.name, s.locality, s.district_id, d.name, s.active
			FROM permit_sponsors s JOIN districts d ON d.id = s.district_id WHERE s.active > 0 ORDER BY s.active DESC, s.epic LIMIT 5000`)
		if err != nil {
			return rep, err
		}
		defer rows.Close()
		for rows.Next() {
			var epic, nm, locality, district string
			var districtID int64
			var active int
			if err := rows.Scan(&epic, &nm, &locality, &districtID, &district, &active); err != nil {
				return rep, err
			}
			if ok(districtID) {
				rep.Rows = append(rep.Rows, []string{epic, nm, locality, district, strconv.Itoa(active), strconv.Itoa(SponsorCap)})
			}
		}
		if err := rows.Err(); err != nil {
			return rep, err
		}
	default:
		return rep, web.NotFound()
	}
	return rep, nil
}

// writeCSV sends a report as CSV (UTF-8 with a byte-order mark, so that
// spreadsheet programs read Mizo letters right).
func writeCSV(w http.ResponseWriter, rep Report) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="ilp-%s-%s-%s.csv"`, rep.Name, rep.From, rep.To))
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("\xEF\xBB\xBF"))
	cw := csv.NewWriter(w)
	cw.Write(rep.Columns)
	for _, row := range rep.Rows {
		safe := make([]string, len(row))
		for i, c := range row {
			// Cells a spreadsheet would run as a formula are quoted with '.
			if c != "" && (c[0] == '=' || c[0] == '+' || c[0] == '-' || c[0] == '@') {
				c = "'" + c
			}
			safe[i] = c
		}
		cw.Write(safe)
	}
	cw.Flush()
	return cw.Error()
}

type reportsData struct {
	web.Form
	Reports  []Report
	From, To string
}

func (s *Service) reportsPage(w http.ResponseWriter, r *http.Request) error {
	from, to, err := s.reportRange(r)
	if err != nil {
		return err
	}
	d := reportsData{From: from.Format("2006-01-02"), To: to.Format("2006-01-02"), Form: web.Form{Values: map[string]string{}}}
	for _, name := range ReportNames {
		rep, err := s.Build(r.Context(), me(r), name, from, to, web.LangOf(r))
		if err != nil {
			return err
		}
		if len(rep.Rows) > 50 {
			rep.Rows = rep.Rows[:50]
		}
		d.Reports = append(d.Reports, rep)
	}
	return s.Render.Page(w, r, http.StatusOK, "permits/reports.html", d)
}

func (s *Service) reportCSV(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if len(name) < 5 || name[len(name)-4:] != ".csv" {
		return web.NotFound()
	}
	from, to, err := s.reportRange(r)
	if err != nil {
		return err
	}
	rep, err := s.Build(r.Context(), me(r), name[:len(name)-4], from, to, web.LangOf(r))
	if err != nil {
		return err
	}
	return writeCSV(w, rep)
}

func (s *Service) apiReport(w http.ResponseWriter, r *http.Request) error {
	from, to, err := s.reportRange(r)
	if err != nil {
		return err
	}
	rep, err := s.Build(r.Context(), me(r), r.PathValue("name"), from, to, web.LangOf(r))
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("format") {
	case "csv":
		return writeCSV(w, rep)
	case "", "json":
		web.WriteJSON(w, http.StatusOK, rep)
		return nil
	}
	f := &web.Fields{}
	f.Add("format", "form.invalid_choice")
	return f.Err()
}
