package grievance

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// MaxRatingComment is the longest comment a rating may carry.
const MaxRatingComment = 1000

// Record is a grievance with its case and what only its owner and its
// officers may see besides (rating comment, reopen and appeal marks).
type Record struct {
	Grievance
	Case          workflow.Case
	RatingComment string
	RatedAt       time.Time
	AppealedAt    time.Time
	Reopened      int
}

// record loads a grievance by reference with its case (any spelling of the
// reference; an unknown or malformed one is ErrNotFound).
func (s *Service) record(ctx context.Context, q db.Querier, ref string) (Record, error) {
	g, err := s.GetByRef(ctx, q, ref)
	if err != nil {
		return Record{}, err
	}
	c, err := s.Workflow.Get(ctx, q, g.CaseID)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Grievance: g, Case: c}
	var rated, appealed sql.NullTime
	if err := q.QueryRowContext(ctx, `SELECT rating_comment, rated_at, appealed_at, reopened FROM grv_grievances WHERE case_id = $1`,
		g.CaseID).Scan(&rec.RatingComment, &rated, &appealed, &rec.Reopened); err != nil {
		return Record{}, err
	}
	rec.RatedAt, rec.AppealedAt = rated.Time, appealed.Time
	return rec, nil
}

// ownRecord is record for the grievance's owner: anyone else gets 404, the
// same answer as for a reference that does not exist.
func (s *Service) ownRecord(ctx context.Context, q db.Querier, p *auth.Principal, ref string) (Record, error) {
	rec, err := s.record(ctx, q, ref)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !IsOwner(p, rec.Case)) {
		return Record{}, web.NotFound()
	}
	return rec, err
}

// readableRecord is record for its owner or an officer of its jurisdiction (MayRead).
func (s *Service) readableRecord(ctx context.Context, q db.Querier, p *auth.Principal, ref string) (Record, error) {
	rec, err := s.record(ctx, q, ref)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !MayRead(p, rec.Case)) {
		return Record{}, web.NotFound()
	}
	return rec, err
}

// CanRate reports whether the owner may rate now: closed as resolved or
// rejected and not rated yet.
func (r Record) CanRate() bool {
	return r.Rating == 0 && (r.Case.State == StResolved || r.Case.State == StRejected)
}

// ReopenUntil is the last moment a resolved grievance may be reopened.
func (r Record) ReopenUntil() time.Time {
	if r.Case.State != StResolved || r.Case.ClosedAt.IsZero() {
		return time.Time{}
	}
	return r.Case.ClosedAt.AddDate(0, 0, ReopenDays)
}

// CanReopen reports whether the owner may reopen at now.
func (r Record) CanReopen(now time.Time) bool {
	u := r.ReopenUntil()
	return !u.IsZero() && !now.After(u)
}

// CanAppeal reports whether the owner may appeal: closed as resolved or
// rejected, rated 1 or 2, not appealed before.
func (r Record) CanAppeal() bool {
	return (r.Case.State == StResolved || r.Case.State == StRejected) && r.Rating >= 1 && r.Rating <= 2 && r.AppealedAt.IsZero()
}

// CitizenInput is one of the owner's actions on their grievance.
type CitizenInput struct {
	Action  string `json:"-"`                 // add_info, note, reopen, appeal or rate
	Version int    `json:"version"`           // the case version the citizen saw
	Comment string `json:"comment,omitempty"` // required for add_info, note, reopen and appeal
	Rating  int    `json:"rating,omitempty"`  // rate: 1 to 5
}

func changed() error { return web.NewError(http.StatusConflict, "case_changed", "workflow.changed") }

// CitizenStep carries out the owner's action on their grievance in one
// transaction: the version must be the one they saw (409 otherwise), the
// rules of each action are checked before anything changes, and the step
// is recorded and audited.
func (s *Service) CitizenStep(ctx context.Context, p *auth.Principal, ref string, in CitizenInput) (Record, error) {
	if !slices.Contains(CitizenActions, in.Action) && in.Action != "rate" {
		return Record{}, web.NotFound()
	}
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		rec, err := s.ownRecord(ctx, tx, p, ref)
		if err != nil {
			return err
		}
		if in.Version <= 0 {
			f := &web.Fields{}
			f.Add("version", "workflow.version_required")
			return f.Err()
		}
		if in.Version != rec.Case.Version {
			return changed()
		}
		now := db.Time(s.now())
		in.Comment = strings.TrimSpace(strings.ReplaceAll(in.Comment, "\r\n", "\n"))
		switch in.Action {
		case "rate":
			return s.rate(ctx, tx, rec, in, now)
		case "reopen":
			if rec.Case.State == StResolved && !rec.CanReopen(now) {
				return web.Conflict("grievance.cz_reopen_late", "days", ReopenDays)
			}
		case "appeal":
			if rec.Case.State == StResolved || rec.Case.State == StRejected {
				if !rec.AppealedAt.IsZero() {
					return web.Conflict("grievance.cz_appealed_already")
				}
				if rec.Rating == 0 || rec.Rating > 2 {
					return web.Conflict("grievance.cz_appeal_needs_rating")
				}
			}
		}
		if _, err := s.Workflow.Act(ctx, tx, workflow.Act{CaseID: rec.CaseID, Action: in.Action, Version: in.Version,
			Actor: ActorOf(p), Comment: in.Comment}); err != nil {
			return err
		}
		set := ""
		switch in.Action {
		case "reopen":
			set = ", reopened = reopened + 1"
		case "appeal":
			set = ", appealed_at = $2"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET updated_at = $2`+set+` WHERE case_id = $1`, rec.CaseID, now); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return Record{}, err
	}
	return s.ownRecord(ctx, s.DB.R(), p, ref)
}

// rate stores the owner's rating of a closed grievance, once.
func (s *Service) rate(ctx context.Context, tx *db.Tx, rec Record, in CitizenInput, now time.Time) error {
	if rec.Case.State != StResolved && rec.Case.State != StRejected {
		return web.Conflict("grievance.cz_rate_not_now")
	}
	if rec.Rating != 0 {
		return web.Conflict("grievance.cz_rated_already")
	}
	f := &web.Fields{}
	if in.Rating < 1 || in.Rating > 5 {
		f.Add("rating", "grievance.cz_rating_range")
	}
	if len([]rune(in.Comment)) > MaxRatingComment {
		f.Add("comment", "grievance.cz_comment_long", "max", MaxRatingComment)
	}
	if err := f.Err(); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET rating = $2, rating_comment = $3, rated_at = $4, updated_at = $4
		WHERE case_id = $1 AND rating IS NULL`, rec.CaseID, in.Rating, in.Comment, now)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return web.Conflict("grievance.cz_rated_already")
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "grievance.rate", ObjectType: CaseType, ObjectID: rec.Ref,
		SubjectID: rec.CitizenID, Summary: map[string]any{"rating": in.Rating, "state": rec.Case.State}})
	return err
}

// Support records that p, who did not file it, has the same problem as an
// open grievance ("me too"): once per person, the count goes up by one and
// the case's priority becomes the number of supporters, so that officers'
// inboxes sorted by priority show the most shared problems first.
func (s *Service) Support(ctx context.Context, p *auth.Principal, ref string) (int, error) {
	var n int
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		rec, err := s.record(ctx, tx, ref)
		if errors.Is(err, db.ErrNotFound) {
			return web.NotFound()
		}
		if err != nil {
			return err
		}
		if IsOwner(p, rec.Case) {
			return web.Conflict("grievance.cz_support_own")
		}
		if !rec.Case.Open {
			return web.Conflict("grievance.cz_support_closed")
		}
		// The primary key keeps one row per person and grievance.
		_, err = tx.ExecContext(ctx, `INSERT INTO grv_supporters (grievance_id, person_id, created_at) VALUES ($1, $2, $3)`,
			rec.CaseID, p.ID, db.Time(s.now()))
		if db.IsUnique(err) {
			return web.Conflict("grievance.cz_support_twice")
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `UPDATE grv_grievances SET supporters = supporters + 1 WHERE case_id = $1 RETURNING supporters`,
			rec.CaseID).Scan(&n); err != nil {
			return err
		}
		if err := s.Workflow.SetPriority(ctx, tx, rec.CaseID, n); err != nil {
			return err
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "grievance.support", ObjectType: CaseType, ObjectID: rec.Ref,
			SubjectID: p.ID, Summary: map[string]any{"supporters": n}})
		return err
	})
	return n, err
}

// Supported reports whether person supports the grievance.
func (s *Service) Supported(ctx context.Context, caseID, person int64) (bool, error) {
	var n int
	err := s.DB.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM grv_supporters WHERE grievance_id = $1 AND person_id = $2`,
		caseID, person).Scan(&n)
	return n > 0, err
}

// Photos lists the file ids of a grievance's photos in order.
func (s *Service) Photos(ctx context.Context, q db.Querier, caseID int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT file_id FROM grv_photos WHERE grievance_id = $1 ORDER BY position`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// AttributeValues lists a grievance's answers to its category's questions.
func (s *Service) AttributeValues(ctx context.Context, q db.Querier, caseID int64) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT code, value FROM grv_attribute_values WHERE grievance_id = $1 ORDER BY code, value`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var code, v string
		if err := rows.Scan(&code, &v); err != nil {
			return nil, err
		}
		out[code] = append(out[code], v)
	}
	return out, rows.Err()
}

// MineItem is one line of a citizen's list of grievances.
type MineItem struct {
	Ref        string    `json:"ref"`
	State      string    `json:"state"`
	Category   string    `json:"category"`
	CategoryID int64     `json:"-"`
	Filed      time.Time `json:"filed_at"`
	Updated    time.Time `json:"updated_at"`
	Due        time.Time `json:"due_at,omitzero"`
	Open       bool      `json:"open"`
}

// MinePage is one page of a citizen's grievances, newest first.
type MinePage struct {
	Items []MineItem `json:"items"`
	Page  int        `json:"page"`
	More  bool       `json:"more"`
	Total int        `json:"total"`
}

// MinePerPage is how many grievances a page of "my grievances" holds.
const MinePerPage = 20

// Mine lists person's grievances, newest first, page 1 onwards.
func (s *Service) Mine(ctx context.Context, person int64, page int) (MinePage, error) {
	if page < 1 {
		page = 1
	}
	out := MinePage{Page: page, Items: []MineItem{}}
	q := s.DB.R()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM grv_grievances WHERE citizen_id = $1`, person).Scan(&out.Total); err != nil {
		return out, err
	}
	rows, err := q.QueryContext(ctx, `SELECT g.ref, c.state, cat.code, cat.id, g.created_at, c.updated_at, c.due_at, c.open
		FROM grv_grievances g JOIN wf_cases c ON c.id = g.case_id JOIN grv_categories cat ON cat.id = g.category_id
		WHERE g.citizen_id = $1 ORDER BY g.created_at DESC, g.case_id DESC LIMIT $2 OFFSET $3`,
		person, MinePerPage+1, (page-1)*MinePerPage)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var it MineItem
		var due sql.NullTime
		if err := rows.Scan(&it.Ref, &it.State, &it.Category, &it.CategoryID, &it.Filed, &it.Updated, &due, &it.Open); err != nil {
			return out, err
		}
		it.Due = due.Time
		out.Items = append(out.Items, it)
	}
	if len(out.Items) > MinePerPage {
		out.Items, out.More = out.Items[:MinePerPage], true
	}
	return out, rows.Err()
}
