package permits

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// CaseType is the workflow of applications at the issuing office.
const CaseType = "ilp"

// Workflow is how an application moves through the issuing office, on the
// core workflow engine. A case opens when an application reaches the
// office (after the sponsor, if any, has confirmed). The office has one
// working day to verify and two more to decide; late cases go up to the
// head of department. The state is mirrored on the application in the same
// transaction, for the visitor's pages and the reports.
func Workflow() *workflow.Definition {
	office := []string{RoleOfficer, auth.RoleHOD}
	return &workflow.Definition{
		Name:  CaseType,
		Start: StSubmitted,
		States: []workflow.State{
			{Name: StSubmitted, SLA: workflow.WorkingDays(1), Role: RoleOfficer},
			{Name: StVerification, SLA: workflow.WorkingDays(2)},
			{Name: StCorrection, SLA: workflow.Days(7), Paused: true},
			{Name: StApproved, SLA: workflow.Days(7), Paused: true},
			{Name: StIssued, Final: true},
			{Name: StRejected, Final: true},
			{Name: StCancelled, Final: true},
			{Name: "revoked", Final: true},
		},
		Actions: []workflow.Action{
			{Name: "verify", From: []string{StSubmitted}, To: StVerification, Roles: office},
			{Name: "ask_correction", From: []string{StSubmitted, StVerification}, To: StCorrection, Roles: office, Comment: true, Public: true,
				Notify: []workflow.Notice{{To: workflow.Owner, Template: "permits.correction"}}},
			{Name: "resubmit", From: []string{StCorrection}, To: StSubmitted, Roles: []string{workflow.Owner, workflow.System}, Public: true},
			{Name: "approve", From: []string{StVerification}, To: StApproved, Roles: office, Public: true,
				Notify: []workflow.Notice{{To: workflow.Owner, Template: "permits.approved"}}},
			{Name: "reject", From: []string{StSubmitted, StVerification, StCorrection}, To: StRejected, Roles: office, Comment: true, Public: true,
				Notify: []workflow.Notice{{To: workflow.Owner, Template: "permits.rejected"}}},
			{Name: "issue", From: []string{StApproved}, To: StIssued, Roles: []string{workflow.System}, Public: true,
				Notify: []workflow.Notice{{To: workflow.Owner, Template: "permits.issued"}}},
			{Name: "cancel", From: []string{StSubmitted, StVerification, StCorrection, StApproved, StIssued}, To: StCancelled,
				Roles: []string{workflow.Owner}, Public: true},
			{Name: "revoke", From: []string{StIssued}, To: "revoked", Roles: office, Comment: true, Public: true,
				Notify: []workflow.Notice{{To: workflow.Owner, Template: "permits.revoked"}}},
			{Name: "escalate", From: []string{StSubmitted, StVerification}, To: workflow.Stay, Roles: []string{workflow.System}},
		},
		Escalations: []workflow.Escalation{
			{State: StSubmitted, Action: "escalate", Role: auth.RoleHOD, Level: 1},
			{State: StVerification, Action: "escalate", Role: auth.RoleHOD, Level: 1},
		},
	}
}

// OfficeActions are the steps officers take (the others are the
// applicant's, the payment's and the sweep's).
var OfficeActions = []string{"verify", "ask_correction", "approve", "reject", "revoke"}

func ownerActor(person int64) workflow.Actor {
	return workflow.Actor{ID: person, Roles: func(int64, int64) []string { return nil }}
}

var systemActor = workflow.Actor{Label: "system:permits", Roles: func(int64, int64) []string { return []string{workflow.System} }}

// openCase starts the office's case when an application reaches it.
func (s *Service) openCase(ctx context.Context, tx *db.Tx, a Application, actor workflow.Actor) error {
	c, err := s.Workflow.Create(ctx, tx, workflow.NewCase{Type: CaseType, Ref: a.Number, DepartmentID: s.homeDept(ctx),
		DistrictID: a.DistrictID, OwnerID: a.ApplicantID, Actor: actor, Public: true, Data: map[string]string{"number": a.Number}})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE permit_applications SET case_id = $2, status = $3 WHERE id = $1`, a.ID, c.ID, c.State)
	return err
}

// step takes a workflow action on an application's case and mirrors the
// new state on the application.
func (s *Service) step(ctx context.Context, tx *db.Tx, a Application, action string, actor workflow.Actor, version int, comment string) (workflow.Step, error) {
	if a.CaseID == 0 {
		return workflow.Step{}, web.Conflict("permits.not_at_office")
	}
	if version == 0 && actor.ID != 0 {
		c, err := s.Workflow.Get(ctx, tx, a.CaseID)
		if err != nil {
			return workflow.Step{}, err
		}
		version = c.Version
	}
	st, err := s.Workflow.Act(ctx, tx, workflow.Act{CaseID: a.CaseID, Action: action, Version: version, Actor: actor, Comment: comment,
		Data: map[string]string{"number": a.Number}})
	if err != nil {
		return st, err
	}
	set := `UPDATE permit_applications SET status = $2, version = version + 1, updated_at = $3`
	args := []any{a.ID, st.Case.State, db.Time(s.now())}
	if comment != "" {
		set += `, status_note = $4`
		args = append(args, comment)
	}
	if !st.Case.Open {
		set += `, decided_at = $3`
	}
	_, err = tx.ExecContext(ctx, set+` WHERE id = $1`, args...)
	return st, err
}

// markIssued is the payment's step: approved → issued.
func (s *Service) markIssued(ctx context.Context, tx *db.Tx, a Application) error {
	_, err := s.step(ctx, tx, a, "issue", systemActor, 0, "")
	return err
}

// OfficeAct is an officer's action on an application.
type OfficeAct struct {
	Action  string `json:"action" enum:"verify,ask_correction,approve,reject,revoke"`
	Version int    `json:"version" doc:"the case version the officer saw (from the application's case)"`
	Comment string `json:"comment,omitempty" doc:"required to ask for a correction, to reject and to revoke"`
}

// officeApp loads an application the officer may act on: its case must be
// in a department and district the officer's grants cover.
func (s *Service) officeApp(ctx context.Context, q db.Querier, p *auth.Principal, id int64) (Application, workflow.Case, error) {
	a, err := s.application(ctx, q, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && a.CaseID == 0) {
		return a, workflow.Case{}, web.NotFound()
	}
	if err != nil {
		return a, workflow.Case{}, err
	}
	c, err := s.Workflow.Get(ctx, q, a.CaseID)
	if err != nil {
		return a, c, err
	}
	if !p.CanIn(PermProcess, c.DepartmentID, c.DistrictID) {
		return a, c, web.NotFound()
	}
	return a, c, nil
}

// Act carries out an officer's action with its effects: approval makes the
// fee due; a correction, rejection or revocation keeps the officer's reason
// for the applicant; revocation revokes the permits' documents, which gates
// then refuse.
func (s *Service) Act(ctx context.Context, p *auth.Principal, id int64, in OfficeAct) (Application, error) {
	var out Application
	known := false
	for _, a := range OfficeActions {
		known = known || a == in.Action
	}
	if !known {
		e := web.BadRequest("workflow.unknown_action", "action", in.Action)
		e.Code = "unknown_action"
		return out, e
	}
	err := s.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		a, _, err := s.officeApp(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if err := s.actTx(ctx, tx, a, workflow.Actor{ID: p.ID, Roles: p.RolesIn}, in); err != nil {
			return err
		}
		out, err = s.application(ctx, tx, a.ID)
		return err
	})
	return out, err
}

// actTx is an office step with its effects, inside tx.
func (s *Service) actTx(ctx context.Context, tx *db.Tx, a Application, actor workflow.Actor, in OfficeAct) error {
	if _, err := s.step(ctx, tx, a, in.Action, actor, in.Version, in.Comment); err != nil {
		return err
	}
	switch in.Action {
	case "approve":
		return s.approved(ctx, tx, a)
	case "reject":
		return s.releaseSponsorships(ctx, tx, a.ID, "rejected")
	case "revoke":
		target := a.ID
		if a.Kind == "extension" {
			target = a.ParentID
		}
		return s.endPermits(ctx, tx, target, PermitRevoked, in.Comment)
	}
	return nil
}

// approved is the effect of approval: the fee becomes due (nothing to pay
// makes the permits issue at once).
func (s *Service) approved(ctx context.Context, tx *db.Tx, a Application) error {
	if a.TotalPaise() == 0 {
		a, err := s.application(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		return s.issueNow(ctx, tx, a, "")
	}
	id, err := s.raiseFee(ctx, tx, a)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE permit_applications SET demand_id = $2 WHERE id = $1`, a.ID, id)
	return err
}

// --- pages -----------------------------------------------------------------

type officeData struct {
	View   string
	State  string
	Cases  []officeRow
	Next   string
	Views  []string
	States []string
}

type officeRow struct {
	workflow.Case
	App     appView
	Overdue bool
}

func workflowScopes(p *auth.Principal) ([]workflow.Scope, []workflow.RoleScope) {
	var scopes []workflow.Scope
	for _, sc := range p.Scopes(PermProcess) {
		scopes = append(scopes, workflow.Scope{DepartmentID: sc.DepartmentID, DistrictID: sc.DistrictID})
	}
	var roles []workflow.RoleScope
	for _, g := range p.Grants {
		roles = append(roles, workflow.RoleScope{Role: g.Role, DepartmentID: g.DepartmentID, DistrictID: g.DistrictID})
	}
	return scopes, roles
}

// Inbox is one page of the office's applications for p.
func (s *Service) Inbox(ctx context.Context, p *auth.Principal, view, state, after string) (workflow.Page, []Application, error) {
	scopes, roles := workflowScopes(p)
	page, err := s.Workflow.Inbox(ctx, workflow.Query{Type: CaseType, View: workflow.View(view), PersonID: p.ID, Roles: roles,
		Scopes: scopes, State: state, Order: workflow.ByDue, After: after, Now: s.now()})
	if err != nil {
		return page, nil, err
	}
	apps := make([]Application, 0, len(page.Cases))
	for _, c := range page.Cases {
		a, err := scanApp(s.DB.R().QueryRowContext(ctx, `SELECT `+appCols+` FROM permit_applications WHERE case_id = $1`, c.ID))
		if err != nil {
			return page, nil, err
		}
		if a.Members, err = s.members(ctx, s.DB.R(), a.ID); err != nil {
			return page, nil, err
		}
		apps = append(apps, a)
	}
	return page, apps, nil
}

var officeViews = []string{string(workflow.ViewTeam), string(workflow.ViewMine), string(workflow.ViewOverdue), string(workflow.ViewToday), string(workflow.ViewAll)}

func (s *Service) officePage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	view := q.Get("view")
	if view == "" {
		view = string(workflow.ViewTeam)
	}
	d := officeData{View: view, State: q.Get("state"), Views: officeViews,
		States: []string{StSubmitted, StVerification, StCorrection, StApproved, StIssued, StRejected, StCancelled, "revoked"}}
	page, apps, err := s.Inbox(r.Context(), me(r), view, d.State, q.Get("after"))
	if err != nil {
		return err
	}
	now := s.now()
	for i, c := range page.Cases {
		d.Cases = append(d.Cases, officeRow{Case: c, App: viewApp(apps[i], web.LangOf(r)), Overdue: c.Overdue(now)})
	}
	d.Next = page.Next
	return s.Render.Page(w, r, http.StatusOK, "permits/office.html", d)
}

type officeCaseData struct {
	web.Form
	App      appView
	Case     workflow.Case
	Members  []memberView
	Allowed  []workflow.Action
	History  []workflow.Entry
	Sponsor  *Sponsor
	Permits  []permitView
	Type     PermitType
	Done     string
	Overdue  bool
	Previous []appView // earlier applications of the same people
}

func (s *Service) renderOfficeCase(w http.ResponseWriter, r *http.Request, status int, id int64, f *web.Form) error {
	ctx := r.Context()
	p := me(r)
	a, c, err := s.officeApp(ctx, s.DB.R(), p, id)
	if err != nil {
		return err
	}
	if err := s.Audit.Read(ctx, s.DB, readEvent(a)); err != nil {
		return err
	}
	lang := web.LangOf(r)
	now := s.now()
	d := &officeCaseData{App: viewApp(a, lang), Case: c, Done: r.URL.Query().Get("done"), Overdue: c.Overdue(now)}
	if t, err := s.TypeByID(ctx, s.DB.R(), a.TypeID); err == nil {
		d.Type, d.App.TypeLabel = t, t.Label(lang)
	}
	for _, m := range a.Members {
		d.Members = append(d.Members, memberView{Member: m, Age: age(m.BirthDate, now)})
	}
	for _, act := range s.Workflow.Allowed(c, workflow.Actor{ID: p.ID, Roles: p.RolesIn}) {
		for _, o := range OfficeActions {
			if act.Name == o {
				d.Allowed = append(d.Allowed, act)
			}
		}
	}
	if d.History, err = s.Workflow.History(ctx, s.DB.R(), c.ID, false); err != nil {
		return err
	}
	if a.SponsorEPIC != "" {
		var sp Sponsor
		sp, err = scanSponsor(s.DB.R().QueryRowContext(ctx, `SELECT `+sponsorCols+` FROM permit_sponsors WHERE epic = $1`, a.SponsorEPIC))
		if err == nil {
			d.Sponsor = &sp
		}
	}
	owner := a.ID
	if a.Kind == "extension" {
		owner = a.ParentID
	}
	list, err := s.PermitsOf(ctx, s.DB.R(), owner)
	if err != nil {
		return err
	}
	for _, pm := range list {
		d.Permits = append(d.Permits, permitView{Permit: pm, StateMsg: "permits.state_" + pm.State(now)})
	}
	if f == nil {
		f = &web.Form{Values: map[string]string{}}
	}
	d.Form = *f
	return s.Render.Page(w, r, status, "permits/office_case.html", d)
}

func (s *Service) officeCasePage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderOfficeCase(w, r, http.StatusOK, id, nil)
}

func (s *Service) officeActPost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := web.NewForm(r, "action", "version", "comment")
	version, _ := strconv.Atoi(f.Values["version"])
	if _, err := s.Act(r.Context(), me(r), id, OfficeAct{Action: f.Values["action"], Version: version, Comment: f.Values["comment"]}); err != nil {
		if err := f.Refused(err, "comment"); err != nil {
			return err
		}
		return s.renderOfficeCase(w, r, http.StatusUnprocessableEntity, id, f)
	}
	http.Redirect(w, r, fmt.Sprintf("/permits/office/%d?done=%s", id, f.Values["action"]), http.StatusSeeOther)
	return nil
}

// OfficeList is a page of the office's applications.
type OfficeList struct {
	Applications []Application   `json:"applications"`
	Cases        []workflow.Case `json:"cases"`
	Next         string          `json:"next,omitempty" doc:"pass as ?after= for the next page"`
}

func (s *Service) apiOffice(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	view := q.Get("view")
	if view == "" {
		view = string(workflow.ViewAll)
	}
	page, apps, err := s.Inbox(r.Context(), me(r), view, q.Get("state"), q.Get("after"))
	if err != nil {
		return err
	}
	out := OfficeList{Applications: apps, Cases: page.Cases, Next: page.Next}
	if out.Cases == nil {
		out.Cases = []workflow.Case{}
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) apiOfficeAct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in OfficeAct
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	a, err := s.Act(r.Context(), me(r), id, in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, a)
	return nil
}
