package permits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/web"
)

// Sponsor is a local resident who vouches for visitors. They register their
// EPIC (voter ID) from their own account; the issuing office checks it
// against the electoral roll when it verifies an application.
type Sponsor struct {
	PersonID   int64     `json:"-"`
	EPIC       string    `json:"epic"`
	Name       string    `json:"name"`
	Locality   string    `json:"locality"`
	DistrictID int64     `json:"district_id"`
	Active     int       `json:"active" doc:"active sponsorships; at most 10"`
	CreatedAt  time.Time `json:"created_at"`
}

// SponsorInput registers or updates a sponsor.
type SponsorInput struct {
	EPIC       string `json:"epic" doc:"voter ID number, e.g. MZA1234567"`
	Name       string `json:"name" doc:"name as on the voter ID"`
	Locality   string `json:"locality" doc:"village or town and locality"`
	DistrictID int64  `json:"district_id"`
}

func scanSponsor(row interface{ Scan(...any) error }) (Sponsor, error) {
	var sp Sponsor
	err := row.Scan(&sp.PersonID, &sp.EPIC, &sp.Name, &sp.Locality, &sp.DistrictID, &sp.Active, &sp.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return sp, db.ErrNotFound
	}
	return sp, err
}

const sponsorCols = `person_id, epic, name, locality, district_id, active, created_at`

// SponsorOf returns person's sponsor registration.
func (s *Service) SponsorOf(ctx context.Context, q db.Querier, person int64) (Sponsor, error) {
	return scanSponsor(q.QueryRowContext(ctx, `SELECT `+sponsorCols+` FROM permit_sponsors WHERE person_id = $1`, person))
}

// RegisterSponsor records (or updates) person's sponsor details. An EPIC
// belongs to one account; it cannot be changed while sponsorships are active.
func (s *Service) RegisterSponsor(ctx context.Context, person int64, in SponsorInput) (Sponsor, error) {
	f := &web.Fields{}
	in.EPIC = normID(in.EPIC)
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	in.Locality = strings.TrimSpace(in.Locality)
	if !reEPIC.MatchString(in.EPIC) {
		f.Add("epic", "permits.id_epic")
	}
	if n := len([]rune(in.Name)); n < 2 || n > 100 {
		f.Add("name", "permits.name_invalid")
	}
	if in.Locality == "" || len(in.Locality) > 200 {
		f.Add("locality", "permits.locality_invalid")
	}
	var out Sponsor
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM districts WHERE id = $1`, in.DistrictID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			f.Add("district_id", "form.invalid_choice")
		}
		if err := f.Err(); err != nil {
			return err
		}
		cur, err := s.SponsorOf(ctx, tx, person)
		switch {
		case errors.Is(err, db.ErrNotFound):
			_, err = tx.ExecContext(ctx, `INSERT INTO permit_sponsors (person_id, epic, name, locality, district_id, created_at)
				VALUES ($1, $2, $3, $4, $5, $6)`, person, in.EPIC, in.Name, in.Locality, in.DistrictID, db.Time(s.now()))
		case err != nil:
			return err
		case cur.EPIC != in.EPIC && cur.Active > 0:
			f.Add("epic", "permits.epic_locked")
			return f.Err()
		default:
			_, err = tx.ExecContext(ctx, `UPDATE permit_sponsors SET epic = $2, name = $3, locality = $4, district_id = $5 WHERE person_id = $1`,
				person, in.EPIC, in.Name, in.Locality, in.DistrictID)
		}
		if db.IsUnique(err) {
			f.Add("epic", "permits.epic_taken")
			return f.Err()
		}
		if err != nil {
			return err
		}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.sponsor_register", ObjectType: "permit_sponsor",
			ObjectID: fmt.Sprint(person), SubjectID: person, Summary: map[string]string{"epic": MaskID("epic", in.EPIC)}}); err != nil {
			return err
		}
		out, err = s.SponsorOf(ctx, tx, person)
		return err
	})
	return out, err
}

// askSponsor tells a registered sponsor that someone named them.
func (s *Service) askSponsor(ctx context.Context, tx *db.Tx, a Application) error {
	var person int64
	err := tx.QueryRowContext(ctx, `SELECT person_id FROM permit_sponsors WHERE epic = $1`, a.SponsorEPIC).Scan(&person)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // they will see it when they register
	}
	if err != nil {
		return err
	}
	_, err = s.Notify.EnqueueFor(ctx, tx, person, "permits.sponsor_request", map[string]string{"number": a.Number, "people": fmt.Sprint(len(a.Members))})
	return err
}

// SponsorRequests lists the applications that name person's EPIC, those
// waiting first.
func (s *Service) SponsorRequests(ctx context.Context, person int64) ([]Application, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+appCols+` FROM permit_applications
		WHERE sponsor_epic = (SELECT epic FROM permit_sponsors WHERE person_id = $1) AND status <> 'draft'
		ORDER BY CASE status WHEN 'sponsor_pending' THEN 0 ELSE 1 END, id DESC LIMIT 200`, person)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Application
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Members, err = s.members(ctx, s.DB.R(), out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sponsorApp loads an application that names person's EPIC.
func (s *Service) sponsorApp(ctx context.Context, tx *db.Tx, person, id int64) (Sponsor, Application, error) {
	sp, err := s.SponsorOf(ctx, tx, person)
	if errors.Is(err, db.ErrNotFound) {
		return sp, Application{}, web.Conflict("permits.sponsor_register_first")
	}
	if err != nil {
		return sp, Application{}, err
	}
	a, err := s.application(ctx, tx, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && (a.SponsorEPIC != sp.EPIC || a.Status == StDraft)) {
		return sp, a, web.NotFound()
	}
	return sp, a, err
}

// ConfirmSponsorship is the sponsor's yes. Each person on a new application
// takes one of the sponsor's ten places; the database refuses the eleventh
// however many confirm at once. An extension keeps the places it has, but
// must be confirmed by the same sponsor.
func (s *Service) ConfirmSponsorship(ctx context.Context, person, id int64) (Application, error) {
	var out Application
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		sp, a, err := s.sponsorApp(ctx, tx, person, id)
		if err != nil {
			return err
		}
		if a.Status != StSponsorPending {
			return web.Conflict("permits.not_waiting_sponsor")
		}
		if a.ApplicantID == person {
			return web.Conflict("permits.sponsor_self")
		}
		now := db.Time(s.now())
		if a.Kind == "extension" {
			parent, err := s.application(ctx, tx, a.ParentID)
			if err != nil {
				return err
			}
			if parent.SponsorID != 0 && parent.SponsorID != person {
				return web.Conflict("permits.sponsor_same")
			}
		} else {
			_, err := tx.ExecContext(ctx, `UPDATE permit_sponsors SET active = active + $2 WHERE person_id = $1`, person, len(a.Members))
			if db.IsCheck(err) {
				return web.Conflict("permits.sponsor_cap", "max", SponsorCap, "active", sp.Active, "asked", len(a.Members))
			}
			if err != nil {
				return err
			}
			for _, m := range a.Members {
				if _, err := tx.ExecContext(ctx, `INSERT INTO permit_sponsorships (member_id, sponsor_id, application_id, confirmed_at)
					VALUES ($1, $2, $3, $4)`, m.ID, person, a.ID, now); err != nil {
					return err
				}
			}
		}
		ok, err := touch(ctx, tx, a.ID, a.Version, s.now(), ", status = 'submitted', sponsor_id = $4, sponsor_at = $3", []any{person}, StSponsorPending)
		if err != nil || !ok {
			return staleOr(err)
		}
		if err := s.toOffice(ctx, tx, a.ID, systemActor); err != nil {
			return err
		}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.sponsor_confirm", ObjectType: "permit_application", ObjectID: a.Number,
			SubjectID: a.ApplicantID, Summary: map[string]any{"sponsor": MaskID("epic", sp.EPIC), "people": len(a.Members)}}); err != nil {
			return err
		}
		if _, err := s.Notify.EnqueueFor(ctx, tx, a.ApplicantID, "permits.sponsor_confirmed", map[string]string{"number": a.Number}); err != nil {
			return err
		}
		out, err = s.application(ctx, tx, a.ID)
		return err
	})
	return out, err
}

// DeclineSponsorship is the sponsor's no.
func (s *Service) DeclineSponsorship(ctx context.Context, person, id int64) (Application, error) {
	var out Application
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		_, a, err := s.sponsorApp(ctx, tx, person, id)
		if err != nil {
			return err
		}
		ok, err := touch(ctx, tx, a.ID, a.Version, s.now(), ", status = 'sponsor_declined'", nil, StSponsorPending)
		if err != nil {
			return err
		}
		if !ok {
			return web.Conflict("permits.not_waiting_sponsor")
		}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.sponsor_decline", ObjectType: "permit_application", ObjectID: a.Number,
			SubjectID: a.ApplicantID}); err != nil {
			return err
		}
		if _, err := s.Notify.EnqueueFor(ctx, tx, a.ApplicantID, "permits.sponsor_declined", map[string]string{"number": a.Number}); err != nil {
			return err
		}
		out, err = s.application(ctx, tx, a.ID)
		return err
	})
	return out, err
}

// releaseSponsorships frees the sponsor's places held by an application.
func (s *Service) releaseSponsorships(ctx context.Context, tx *db.Tx, appID int64, reason string) error {
	rows, err := tx.QueryContext(ctx, `SELECT sponsor_id, COUNT(*) FROM permit_sponsorships WHERE application_id = $1 AND released_at IS NULL GROUP BY sponsor_id`, appID)
	if err != nil {
		return err
	}
	counts := map[int64]int{}
	for rows.Next() {
		var sp int64
		var n int
		if err := rows.Scan(&sp, &n); err != nil {
			rows.Close()
			return err
		}
		counts[sp] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(counts) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE permit_sponsorships SET released_at = $2, release_reason = $3 WHERE application_id = $1 AND released_at IS NULL`,
		appID, db.Time(s.now()), reason); err != nil {
		return err
	}
	for sp, n := range counts {
		if _, err := tx.ExecContext(ctx, `UPDATE permit_sponsors SET active = active - $2 WHERE person_id = $1`, sp, n); err != nil {
			return err
		}
	}
	return nil
}

// resetSponsor forgets a confirmation when the group changes during a
// correction: the sponsor must confirm the new group.
func (s *Service) resetSponsor(ctx context.Context, tx *db.Tx, appID int64) error {
	if err := s.releaseSponsorships(ctx, tx, appID, "group changed"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE permit_applications SET sponsor_id = NULL, sponsor_at = NULL WHERE id = $1`, appID)
	return err
}

// SweepArgs is the periodic job that frees the places of expired permits.
type SweepArgs struct{}

// Kind names the job.
func (SweepArgs) Kind() string { return "permits_sweep" }

// SweepWorker frees sponsors' places once permits have expired.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	S *Service
}

// Work runs Sweep.
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.S.Sweep(ctx)
	return err
}

// Sweep frees the sponsors' places held by applications whose permits have
// all expired. It returns how many applications it freed.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := db.Time(s.now())
	rows, err := s.DB.R().QueryContext(ctx, `SELECT DISTINCT sp.application_id FROM permit_sponsorships sp
		WHERE sp.released_at IS NULL AND EXISTS (SELECT 1 FROM permits p WHERE p.application_id = sp.application_id)
		AND NOT EXISTS (SELECT 1 FROM permits p WHERE p.application_id = sp.application_id AND p.status = 'active' AND p.valid_to > $1)
		LIMIT 1000`, now)
	if err != nil {
		return 0, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		err := s.DB.Tx(ctx, func(tx *db.Tx) error {
			if err := s.releaseSponsorships(ctx, tx, id, "expired"); err != nil {
				return err
			}
			_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.sponsor_release", ObjectType: "permit_application",
				ObjectID: fmt.Sprint(id), Summary: map[string]string{"reason": "expired"}, Actor: audit.System("permits")})
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
