package grievance

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/files"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

type officeData struct {
	web.Form
	G            Grievance
	Case         workflow.Case
	Category     Category
	Answers      []answer
	Department   string
	District     string
	Village      string
	Citizen      *auth.Person
	FiledBy      string
	MergedInto   string
	RejectReason string
	Photos       []int64
	History      []historyRow
	Allowed      []string
	Overdue      bool
	NeedsInterim bool
	TransferBy   time.Time // submitted: the 5 working days a misrouted grievance has
	TransferLate bool
	Assignee     string
	Assignees    []option
	Depts        []option
	Districts    []option
	Reasons      []string
	Done         string
	Kept         string
	Today        string
	Late         bool
}

type answer struct {
	Label  string
	Values []string
}

type historyRow struct {
	workflow.Entry
	ActorName string
}

// Location is the grievance's point, if given.
func (d *officeData) Location() string {
	if d.G.Lat == nil || d.G.Lng == nil {
		return ""
	}
	return strconv.FormatFloat(*d.G.Lat, 'f', 5, 64) + ", " + strconv.FormatFloat(*d.G.Lng, 'f', 5, 64)
}

// Lines splits a text into its lines (shown with line breaks).
func (d *officeData) Lines(s string) []string { return strings.Split(s, "\n") }

// Allows is used by the template: may the officer take this action now.
func (d *officeData) Allows(action string) bool { return slices.Contains(d.Allowed, action) }

func (s *Service) renderOffice(w http.ResponseWriter, r *http.Request, status int, ref string, f *web.Form) error {
	ctx := r.Context()
	p := me(r)
	g, c, err := s.officeCase(ctx, s.DB.R(), p, ref)
	if err != nil {
		return err
	}
	if err := s.Audit.Read(ctx, s.DB, audit.Event{Action: "grievance.read", ObjectType: "grievance", ObjectID: g.Ref,
		SubjectID: g.CitizenID}); err != nil {
		return err
	}
	lang := web.LangOf(r)
	n, err := s.names(ctx, lang)
	if err != nil {
		return err
	}
	now := s.now()
	q := r.URL.Query()
	d := &officeData{G: g, Case: c, Department: n.Dept(c.DepartmentID), District: n.District(c.DistrictID), Overdue: c.Overdue(now),
		Reasons: RejectReasons, Done: q.Get("done"), Kept: q.Get("kept"), Late: q.Get("late") == "1",
		Today: now.In(workflow.IST).Format("2006-01-02")}
	if !slices.Contains(OfficerActions, d.Done) {
		d.Done = ""
	}
	if cat, ok := n.categories[g.CategoryID]; ok {
		d.Category = cat
	}
	if err := s.caseDetails(ctx, d, g); err != nil {
		return err
	}
	d.History, err = s.history(ctx, c.ID)
	if err != nil {
		return err
	}
	hadInterim := slices.ContainsFunc(d.History, func(h historyRow) bool { return h.Action == "interim_reply" })
	d.NeedsInterim = needsInterim(c, hadInterim, now)
	if c.State == StSubmitted {
		if d.TransferBy, err = s.transferBy(ctx, s.DB.R(), c); err != nil {
			return err
		}
		d.TransferLate = now.After(d.TransferBy)
	}
	for _, a := range s.Workflow.Allowed(c, ActorOf(p)) {
		if slices.Contains(OfficerActions, a.Name) {
			d.Allowed = append(d.Allowed, a.Name)
		}
	}
	if d.Allows("assign") {
		if d.Assignees, err = s.assignees(ctx, s.DB.R(), c.DepartmentID, c.DistrictID); err != nil {
			return err
		}
	}
	if c.AssigneeID != 0 {
		if a, err := s.Auth.Store.PersonByID(ctx, s.DB.R(), c.AssigneeID); err == nil {
			d.Assignee = a.Name
		}
	}
	d.Depts, d.Districts = n.deptOptions(), n.districtOptions()
	if f == nil {
		f = &web.Form{Values: map[string]string{}}
	}
	d.Form = *f
	return s.Render.Page(w, r, status, "grievance/officer_case.html", d)
}

// caseDetails fills what the officer sees beyond the case: the attribute
// answers, the place, the citizen (name and contact: officers of the
// jurisdiction need them to act), photos, the merge and the reason.
func (s *Service) caseDetails(ctx context.Context, d *officeData, g Grievance) error {
	q := s.DB.R()
	lang := langOf(ctx)
	rows, err := q.QueryContext(ctx, `SELECT code, value FROM grv_attribute_values WHERE grievance_id = $1 ORDER BY code, value`, g.CaseID)
	if err != nil {
		return err
	}
	vals := map[string][]string{}
	for rows.Next() {
		var code, v string
		if err := rows.Scan(&code, &v); err != nil {
			rows.Close()
			return err
		}
		vals[code] = append(vals[code], v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range d.Category.Attributes {
		if len(vals[a.Code]) == 0 {
			continue
		}
		ans := answer{Label: a.Label(lang)}
		for _, v := range vals[a.Code] {
			label := v
			for _, av := range a.Values {
				if av.Key == v {
					label = av.Name
					if lang == "lus" && av.NameLus != "" {
						label = av.NameLus
					}
				}
			}
			ans.Values = append(ans.Values, label)
		}
		d.Answers = append(d.Answers, ans)
	}
	if g.VillageID != 0 {
		if v, err := s.Geo.Village(ctx, g.VillageID); err == nil {
			d.Village = v.Name
		}
	}
	if g.CitizenID != 0 {
		if p, err := s.Auth.Store.PersonByID(ctx, q, g.CitizenID); err == nil {
			d.Citizen = &p
		}
	}
	if g.FiledBy != 0 {
		if p, err := s.Auth.Store.PersonByID(ctx, q, g.FiledBy); err == nil {
			d.FiledBy = p.Name
		}
	}
	if g.MergedInto != 0 {
		if k, err := s.Get(ctx, q, g.MergedInto); err == nil {
			d.MergedInto = k.Ref
		}
	}
	if err := q.QueryRowContext(ctx, `SELECT reject_reason FROM grv_grievances WHERE case_id = $1`, g.CaseID).Scan(&d.RejectReason); err != nil {
		return err
	}
	prow, err := q.QueryContext(ctx, `SELECT file_id FROM grv_photos WHERE grievance_id = $1 ORDER BY position`, g.CaseID)
	if err != nil {
		return err
	}
	defer prow.Close()
	for prow.Next() {
		var id int64
		if err := prow.Scan(&id); err != nil {
			return err
		}
		d.Photos = append(d.Photos, id)
	}
	return prow.Err()
}

// history is every step of a case, non-public ones included, with the
// names of the people who took them.
func (s *Service) history(ctx context.Context, caseID int64) ([]historyRow, error) {
	entries, err := s.Workflow.History(ctx, s.DB.R(), caseID, false)
	if err != nil {
		return nil, err
	}
	ids := map[int64]string{}
	for _, e := range entries {
		if e.ActorID != 0 {
			ids[e.ActorID] = ""
		}
	}
	for id := range ids {
		if p, err := s.Auth.Store.PersonByID(ctx, s.DB.R(), id); err == nil {
			ids[id] = p.Name
		}
	}
	out := make([]historyRow, len(entries))
	for i, e := range entries {
		out[i] = historyRow{Entry: e, ActorName: ids[e.ActorID]}
	}
	return out, nil
}

func (s *Service) officePage(w http.ResponseWriter, r *http.Request) error {
	return s.renderOffice(w, r, http.StatusOK, r.PathValue("ref"), nil)
}

// officeFields are the case page forms' fields.
var officeFields = []string{"action", "version", "comment", "assignee", "department", "district", "due", "merge_into", "reason"}

func (s *Service) officeActPost(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("ref")
	// The jurisdiction first: nothing about the form is said about a
	// grievance the officer may not see.
	if _, _, err := s.officeCase(r.Context(), s.DB.R(), me(r), ref); err != nil {
		return err
	}
	f := web.NewForm(r, officeFields...)
	action := f.Values["action"]
	in := OfficerAct{Action: action, Comment: f.Values["comment"], Due: f.Values["due"], MergeInto: f.Values["merge_into"],
		Reason: f.Values["reason"]}
	in.Version, _ = strconv.Atoi(f.Values["version"])
	bad := &web.Fields{}
	for _, id := range []struct {
		name string
		p    *int64
	}{{"assignee", &in.AssigneeID}, {"department", &in.DepartmentID}, {"district", &in.DistrictID}} {
		var err error
		if *id.p, err = queryID(f.Values[id.name], ""); err != nil {
			bad.Add(id.name, "grievance.office_choose")
		}
	}
	if action == "resolve" && bad.Empty() {
		var err error
		if in.Photos, err = files.FromForm(r, "photos", MaxPhotos, MaxPhoto, files.Images...); err != nil {
			e := web.AsError(err)
			if e.Status >= 500 {
				return err
			}
			bad.Add("photos", e.Key, e.Args...)
		}
	}
	var err error
	if bad.Empty() {
		var res ActResult
		res, err = s.Act(r.Context(), me(r), ref, in)
		if err == nil {
			q := url.Values{"done": {action}}
			if res.Kept != "" {
				q.Set("kept", res.Kept)
			}
			if res.LateNote {
				q.Set("late", "1")
			}
			http.Redirect(w, r, "/grievances/office/"+url.PathEscape(res.Ref)+"?"+q.Encode(), http.StatusSeeOther)
			return nil
		}
	} else {
		err = bad.Err()
	}
	prefix := ""
	if slices.Contains(OfficerActions, action) {
		prefix = action + "-"
	}
	status, err := formErr(f, err, "comment", prefix)
	if err != nil {
		return err
	}
	return s.renderOffice(w, r, status, ref, f)
}
