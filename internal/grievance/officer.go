package grievance

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// InterimDays: a grievance whose time limit ends within this many days and
// that has had no interim reply is marked for one (CPGRAMS: tell the
// citizen why it takes longer, and by when, before the limit is missed).
const InterimDays = 3

// RejectReasons are the reasons a grievance may be closed without action
// (what CPGRAMS does not take up, and what cannot be acted on). "Not our
// department" is deliberately not one: a misrouted grievance is transferred.
var RejectReasons = []string{"sub_judice", "personal_dispute", "rti_matter", "religious_matter", "suggestion", "service_matter",
	"no_action_possible", "insufficient_info"}

// officeCase loads a grievance for an officer: it must be in a department
// and district where p works grievances. Anything else is "not found", so
// that nobody learns what exists outside their jurisdiction.
func (s *Service) officeCase(ctx context.Context, q db.Querier, p *auth.Principal, ref string) (Grievance, workflow.Case, error) {
	g, err := s.GetByRef(ctx, q, ref)
	if errors.Is(err, db.ErrNotFound) {
		return g, workflow.Case{}, web.NotFound()
	}
	if err != nil {
		return g, workflow.Case{}, err
	}
	c, err := s.Workflow.Get(ctx, q, g.CaseID)
	if err != nil {
		return g, c, err
	}
	if !IsOfficer(p, c) {
		return g, c, web.NotFound()
	}
	return g, c, nil
}

// scopeSQL is the jurisdiction condition on the case row c for p's
// PermWork grants ("" when p may look everywhere; ok false when nowhere).
func scopeSQL(p *auth.Principal, arg func(any) string) (string, bool) {
	var ors []string
	for _, sc := range p.Scopes(PermWork) {
		if sc.DepartmentID == 0 && sc.DistrictID == 0 {
			return "", true
		}
		var and []string
		if sc.DepartmentID != 0 {
			and = append(and, "c.department_id = "+arg(sc.DepartmentID))
		}
		if sc.DistrictID != 0 {
			and = append(and, "c.district_id = "+arg(sc.DistrictID))
		}
		ors = append(ors, "("+strings.Join(and, " AND ")+")")
	}
	if len(ors) == 0 {
		return "", false
	}
	return "(" + strings.Join(ors, " OR ") + ")", true
}

// names are the labels of departments, districts and categories.
type names struct {
	lang       string
	depts      map[int64]auth.Department
	districts  map[int64][2]string
	categories map[int64]Category
}

func (n names) Dept(id int64) string {
	d, ok := n.depts[id]
	if !ok {
		return ""
	}
	if n.lang == "lus" && d.NameLus != "" {
		return d.NameLus
	}
	return d.Name
}

func (n names) District(id int64) string {
	d := n.districts[id]
	if n.lang == "lus" && d[1] != "" {
		return d[1]
	}
	return d[0]
}

func (n names) Category(id int64) string {
	c, ok := n.categories[id]
	if !ok {
		return ""
	}
	return c.Label(n.lang)
}

func (s *Service) names(ctx context.Context, lang string) (names, error) {
	n := names{lang: lang, depts: map[int64]auth.Department{}, districts: map[int64][2]string{}, categories: map[int64]Category{}}
	depts, err := s.Auth.Store.Departments(ctx)
	if err != nil {
		return n, err
	}
	for _, d := range depts {
		n.depts[d.ID] = d
	}
	ds, err := s.Geo.Districts(ctx)
	if err != nil {
		return n, err
	}
	for _, d := range ds {
		n.districts[d.ID] = [2]string{d.Name, d.NameLus}
	}
	cats, err := s.Categories(ctx, true)
	if err != nil {
		return n, err
	}
	for _, c := range cats {
		n.categories[c.ID] = c
	}
	return n, nil
}

// option is one choice of a select.
type option struct {
	ID    int64
	Label string
}

func (n names) deptOptions() []option {
	var out []option
	for id, d := range n.depts {
		if d.Active {
			out = append(out, option{id, n.Dept(id)})
		}
	}
	slices.SortFunc(out, func(a, b option) int { return strings.Compare(a.Label, b.Label) })
	return out
}

func (n names) districtOptions() []option {
	var out []option
	for id := range n.districts {
		out = append(out, option{id, n.District(id)})
	}
	slices.SortFunc(out, func(a, b option) int { return strings.Compare(a.Label, b.Label) })
	return out
}

func (n names) categoryOptions() []option {
	var out []option
	for id, c := range n.categories {
		out = append(out, option{id, c.Label(n.lang) + " (" + c.DepartmentCode + ")"})
	}
	slices.SortFunc(out, func(a, b option) int { return strings.Compare(a.Label, b.Label) })
	return out
}

// queryID reads an optional positive id from a query or form value; a
// value that is not one is a bad request, never a 500.
func queryID(v, key string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, web.BadRequest(key)
	}
	return id, nil
}

// formErr puts a refusal about the input on the form (prefixing field
// names with the form's id); errors that are not about the input (404,
// 5xx) pass through.
func formErr(f *web.Form, err error, field, prefix string) (int, error) {
	var e *web.Error
	if !errors.As(err, &e) {
		return 0, err
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests,
		http.StatusRequestEntityTooLarge:
	default:
		return 0, err
	}
	f.Errors = &web.Fields{}
	if !e.Fields.Empty() {
		for _, fe := range e.Fields.List {
			f.Errors.Add(prefix+fe.Field, fe.Key, fe.Args...)
		}
		return e.Status, nil
	}
	f.Errors.Add(prefix+field, e.Key, e.Args...)
	return e.Status, nil
}

// officerCSS serves the officers' pages' small stylesheet.
func (s *Service) officerCSS(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, err := w.Write(officerCSS)
	return err
}

// transferBy is when a grievance in the submitted state must have been
// transferred if it is misrouted: 5 working days after it reached this
// office (it was filed, sent back, or transferred here). An interim reply
// moves the state's due time, not this.
func (s *Service) transferBy(ctx context.Context, q db.Querier, c workflow.Case) (time.Time, error) {
	since := c.StateSince
	var last time.Time
	err := q.QueryRowContext(ctx, `SELECT at FROM wf_history WHERE case_id = $1 AND action = 'transfer' ORDER BY seq DESC LIMIT 1`,
		c.ID).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return time.Time{}, err
	case last.After(since):
		since = last
	}
	cal, err := s.Workflow.Calendar(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return cal.Add(since, workflow.WorkingDays(TransferDays)), nil
}
