package grievance

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/files"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// OfficerAct is an officer's step on a grievance (the case page's forms
// and the JSON API fill one).
type OfficerAct struct {
	Action       string         `json:"action" enum:"assign,transfer,ask_info,interim_reply,resolve,reject,merge,decide_appeal,remand"`
	Version      int            `json:"version" doc:"the case version the officer saw; a stale one gives 409"`
	Comment      string         `json:"comment,omitempty" doc:"required for every action but assign"`
	AssigneeID   int64          `json:"assignee_id,omitempty" doc:"assign: an active grievance or field officer of the case's department and district"`
	DepartmentID int64          `json:"department_id,omitempty" doc:"transfer: the department that handles it (0 keeps)"`
	DistrictID   int64          `json:"district_id,omitempty" doc:"transfer: the district (0 keeps)"`
	Due          string         `json:"due,omitempty" doc:"interim_reply: the new expected date, YYYY-MM-DD"`
	MergeInto    string         `json:"merge_into,omitempty" doc:"merge: the reference of the grievance that is kept"`
	Reason       string         `json:"reason,omitempty" enum:"sub_judice,personal_dispute,rti_matter,religious_matter,suggestion,service_matter,no_action_possible,insufficient_info" doc:"reject: why"`
	Photos       []files.Upload `json:"-"`
}

// ActResult is the grievance after an officer's step.
type ActResult struct {
	Ref      string        `json:"ref"`
	Case     workflow.Case `json:"case"`
	Kept     string        `json:"kept,omitempty" doc:"merge: the grievance that is kept"`
	LateNote bool          `json:"late_transfer,omitempty" doc:"transfer: made after the 5 working days a misrouted grievance has"`
}

// Act carries out an officer's step on the grievance ref: p must work
// grievances where it is (404 otherwise, before anything else), the action
// must be one officers take, allowed now and for p's role (409/403), its
// input complete (422); a stale version is a 409. Everything happens in
// one transaction with the history, the audit entries and the
// notifications.
func (s *Service) Act(ctx context.Context, p *auth.Principal, ref string, in OfficerAct) (ActResult, error) {
	var out ActResult
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		g, c, err := s.officeCase(ctx, tx, p, ref)
		if err != nil {
			return err
		}
		if !slices.Contains(OfficerActions, in.Action) {
			e := web.BadRequest("workflow.unknown_action", "action", in.Action)
			e.Code = "unknown_action"
			return e
		}
		out, err = s.actTx(ctx, tx, p, g, c, in)
		return err
	})
	if workflow.IsChanged(err) {
		return out, errChanged()
	}
	return out, err
}

func (s *Service) actTx(ctx context.Context, tx *db.Tx, p *auth.Principal, g Grievance, c workflow.Case, in OfficerAct) (ActResult, error) {
	if in.Version <= 0 {
		f := &web.Fields{}
		f.Add("version", "workflow.version_required")
		return ActResult{}, f.Err()
	}
	if in.Version != c.Version {
		return ActResult{}, errChanged()
	}
	actor := ActorOf(p)
	if !slices.ContainsFunc(s.Workflow.Allowed(c, actor), func(a workflow.Action) bool { return a.Name == in.Action }) {
		if a := s.Workflow.Definition(CaseType).Action(in.Action); a != nil && !slices.Contains(a.From, c.State) {
			return ActResult{}, web.NewError(http.StatusConflict, "action_not_allowed", "workflow.not_now", "action", in.Action, "state", c.State)
		}
		return ActResult{}, web.NewError(http.StatusForbidden, "role_not_allowed", "workflow.not_your_role")
	}
	now := s.now()
	act := workflow.Act{CaseID: c.ID, Action: in.Action, Version: in.Version, Actor: actor, Comment: in.Comment}
	f := &web.Fields{}
	var kept Grievance
	var keptCase workflow.Case
	switch in.Action {
	case "assign":
		if in.AssigneeID <= 0 {
			f.Add("assignee", "workflow.assignee_required")
		} else {
			people, err := s.assignees(ctx, tx, c.DepartmentID, c.DistrictID)
			if err != nil {
				return ActResult{}, err
			}
			if !slices.ContainsFunc(people, func(o option) bool { return o.ID == in.AssigneeID }) {
				f.Add("assignee", "grievance.office_assignee_unknown")
			}
		}
		act.AssigneeID = in.AssigneeID
	case "transfer":
		if in.DepartmentID != 0 {
			var active bool
			if err := tx.QueryRowContext(ctx, `SELECT active FROM departments WHERE id = $1`, in.DepartmentID).Scan(&active); err != nil || !active {
				f.Add("department", "grievance.office_department_unknown")
			}
		}
		if in.DistrictID != 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM districts WHERE id = $1`, in.DistrictID).Scan(&n); err != nil || n == 0 {
				f.Add("district", "grievance.district_unknown")
			}
		}
		act.DepartmentID, act.DistrictID = in.DepartmentID, in.DistrictID
	case "interim_reply":
		due, ok := parseDue(in.Due)
		switch {
		case strings.TrimSpace(in.Due) == "":
			f.Add("due", "grievance.office_due_required")
		case !ok:
			f.Add("due", "grievance.office_due_format")
		case !due.After(now):
			f.Add("due", "workflow.due_invalid")
		case due.After(now.AddDate(1, 0, 0)):
			f.Add("due", "grievance.office_due_far")
		}
		act.Due = due
	case "reject":
		if !slices.Contains(RejectReasons, in.Reason) {
			f.Add("reason", "grievance.office_reason_required")
		}
	case "resolve":
		if len(in.Photos) > MaxPhotos {
			f.Add("photos", "grievance.photos_too_many", "max", MaxPhotos)
		}
	case "merge":
		var err error
		kept, keptCase, err = s.mergeTarget(ctx, tx, p, g, c, in.MergeInto, f)
		if err != nil {
			return ActResult{}, err
		}
		if !f.Has("merge_into") {
			act.Comment = kept.Ref + ": " + strings.TrimSpace(in.Comment)
			if strings.TrimSpace(in.Comment) == "" {
				act.Comment = ""
			}
		}
	}
	if strings.TrimSpace(in.Comment) == "" && in.Action != "assign" {
		f.Add("comment", "workflow.comment_required")
	}
	if err := f.Err(); err != nil {
		return ActResult{}, err
	}
	if in.Action == "resolve" {
		for _, ph := range in.Photos {
			if err := s.Files.Store(ctx, ph); err != nil {
				return ActResult{}, err
			}
			file, err := s.Files.Record(ctx, tx, ph, p.ID)
			if err != nil {
				return ActResult{}, err
			}
			act.Attachments = append(act.Attachments, file.ID)
		}
	}
	var transferBy time.Time
	if in.Action == "transfer" {
		var err error
		if transferBy, err = s.transferBy(ctx, tx, c); err != nil {
			return ActResult{}, err
		}
	}
	step, err := s.Workflow.Act(ctx, tx, act)
	if err != nil {
		return ActResult{}, err
	}
	res := ActResult{Ref: g.Ref, Case: step.Case}
	stamp := db.Time(now)
	switch in.Action {
	case "resolve":
		_, err = tx.ExecContext(ctx, `UPDATE grv_grievances SET resolved_at = $2, reject_reason = '', updated_at = $2 WHERE case_id = $1`, g.CaseID, stamp)
	case "reject":
		_, err = tx.ExecContext(ctx, `UPDATE grv_grievances SET reject_reason = $2, updated_at = $3 WHERE case_id = $1`, g.CaseID, in.Reason, stamp)
	case "transfer":
		if _, err = tx.ExecContext(ctx, `UPDATE grv_grievances SET updated_at = $2 WHERE case_id = $1`, g.CaseID, stamp); err != nil {
			break
		}
		// A misrouted grievance has 5 working days (the submitted state's
		// limit) to reach the right office. A late transfer is still made
		// (refusing it would strand the citizen) but is recorded as late.
		if c.State == StSubmitted && now.After(transferBy) {
			res.LateNote = true
			_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "grievance.transfer_late", ObjectType: "grievance", ObjectID: g.Ref,
				SubjectID: g.CitizenID, Summary: map[string]any{"due": transferBy.UTC().Format(time.RFC3339),
					"hours_late": int(now.Sub(transferBy).Hours())}})
		}
	case "merge":
		err = s.merge(ctx, tx, g, kept, keptCase)
		res.Kept = kept.Ref
	default:
		_, err = tx.ExecContext(ctx, `UPDATE grv_grievances SET updated_at = $2 WHERE case_id = $1`, g.CaseID, stamp)
	}
	return res, err
}

// errChanged: someone acted on the grievance since the officer loaded it.
func errChanged() error {
	return web.NewError(http.StatusConflict, "case_changed", "grievance.office_changed")
}

// parseDue reads an expected date (YYYY-MM-DD, Indian time) as the end of
// that working day, 17:30 IST.
func parseDue(v string) (time.Time, bool) {
	d, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(v), workflow.IST)
	if err != nil {
		return time.Time{}, false
	}
	return d.Add(17*time.Hour + 30*time.Minute), true
}

// assignees are the active people who may take a grievance in (dept,
// district): holders of a grievance or field officer grant covering it.
func (s *Service) assignees(ctx context.Context, q db.Querier, dept, district int64) ([]option, error) {
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT p.id, p.name FROM grants g JOIN people p ON p.id = g.person_id
		WHERE g.role IN ($1, $2) AND (g.department_id IS NULL OR g.department_id = $3) AND (g.district_id IS NULL OR g.district_id = $4)
		AND p.disabled_at IS NULL ORDER BY p.name, p.id LIMIT 500`, RoleGRO, RoleField, dept, district)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []option
	for rows.Next() {
		var o option
		if err := rows.Scan(&o.ID, &o.Label); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// mergeTarget finds the grievance a duplicate is merged into: open, not
// the same one, in the same department and where p works. Problems are
// field errors; a reference p may not see reads as unknown.
func (s *Service) mergeTarget(ctx context.Context, tx *db.Tx, p *auth.Principal, g Grievance, c workflow.Case, ref string, f *web.Fields) (Grievance, workflow.Case, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		f.Add("merge_into", "grievance.office_merge_required")
		return Grievance{}, workflow.Case{}, nil
	}
	kept, kc, err := s.officeCase(ctx, tx, p, ref)
	if err != nil {
		if e := web.AsError(err); e.Status == http.StatusNotFound {
			f.Add("merge_into", "grievance.office_merge_unknown")
			return Grievance{}, workflow.Case{}, nil
		}
		return Grievance{}, workflow.Case{}, err
	}
	switch {
	case kept.CaseID == g.CaseID:
		f.Add("merge_into", "grievance.office_merge_self")
	case kc.DepartmentID != c.DepartmentID:
		f.Add("merge_into", "grievance.office_merge_department")
	case !kc.Open || kept.MergedInto != 0:
		f.Add("merge_into", "grievance.office_merge_closed")
	}
	return kept, kc, nil
}

// merge finishes merging g into kept (g's case is already in "merged"):
// g points at kept; g's supporters and its citizen support kept (kept's
// own citizen is not a supporter of their own grievance); kept's count
// and priority follow. The kept case must still be open.
func (s *Service) merge(ctx context.Context, tx *db.Tx, g, kept Grievance, kc workflow.Case) error {
	now := db.Time(s.now())
	if _, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET merged_into = $2, updated_at = $3 WHERE case_id = $1`,
		g.CaseID, kept.CaseID, now); err != nil {
		return err
	}
	owner := kept.CitizenID
	before := kept.Supporters
	if _, err := tx.ExecContext(ctx, `INSERT INTO grv_supporters (grievance_id, person_id, created_at)
		SELECT $1, s.person_id, s.created_at FROM grv_supporters s WHERE s.grievance_id = $2 AND s.person_id <> $3
		ON CONFLICT (grievance_id, person_id) DO NOTHING`, kept.CaseID, g.CaseID, owner); err != nil {
		return err
	}
	if g.CitizenID != 0 && g.CitizenID != owner {
		if _, err := tx.ExecContext(ctx, `INSERT INTO grv_supporters (grievance_id, person_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (grievance_id, person_id) DO NOTHING`, kept.CaseID, g.CitizenID, g.CreatedAt); err != nil {
			return err
		}
	}
	var count int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM grv_supporters WHERE grievance_id = $1`, kept.CaseID).Scan(&count); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET supporters = $2, updated_at = $3 WHERE case_id = $1`,
		kept.CaseID, count, now); err != nil {
		return err
	}
	// The priority is the number of people affected; the conditional
	// update also makes sure the kept case is still open (and locks it).
	res, err := tx.ExecContext(ctx, `UPDATE wf_cases SET priority = $2 WHERE id = $1 AND open`, kc.ID, count)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return errChanged()
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "grievance.merged_in", ObjectType: "grievance", ObjectID: kept.Ref,
		SubjectID: kept.CitizenID, Summary: map[string]any{"from": g.Ref, "supporters_before": before, "supporters": count}})
	if err != nil {
		return fmt.Errorf("merge audit: %w", err)
	}
	return nil
}
