package opd

import (
	"context"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"mizogov/internal/audit"
	"mizogov/internal/db"
)

// Plan creates the sessions of every active weekly template for the days
// from today to each hospital's planning horizon, skipping holidays and days
// that already have the template's session. It is safe to run on several
// nodes at once: UNIQUE (template_id, day) keeps one session per template
// and day.
func (s *Service) Plan(ctx context.Context, actor *audit.Actor) (int, error) {
	now := s.now()
	hs, err := s.Hospitals(ctx, true)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, h := range hs {
		n, err := s.planHospital(ctx, h, now, actor)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (s *Service) planHospital(ctx context.Context, h Hospital, now time.Time, actor *audit.Actor) (int, error) {
	ts, err := s.Templates(ctx, h.ID)
	if err != nil {
		return 0, err
	}
	today, _ := ParseDay(Today(now))
	created := 0
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		holidays := map[string]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT day FROM opd_holidays WHERE hospital_id = $1 AND day >= $2`, h.ID, today.Format(DayLayout))
		if err != nil {
			return err
		}
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				rows.Close()
				return err
			}
			holidays[d] = true
		}
		rows.Close()
		for i := 0; i <= h.PlanDaysAhead; i++ {
			day := today.AddDate(0, 0, i)
			ds := day.Format(DayLayout)
			if holidays[ds] {
				continue
			}
			for _, t := range ts {
				if !t.Active || int(day.Weekday()) != t.Weekday {
					continue
				}
				var doctor any
				if t.DoctorID != 0 {
					doctor = t.DoctorID
				}
				res, err := tx.ExecContext(ctx, `INSERT INTO opd_sessions (hospital_id, department_id, doctor_id, template_id, day,
					starts_at, ends_at, opens_at, online_capacity, counter_quota, created_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (template_id, day) DO NOTHING`,
					h.ID, t.DepartmentID, doctor, t.ID, ds, db.Time(At(day, t.StartMinute)), db.Time(At(day, t.EndMinute)),
					db.Time(h.OpensAt(day)), t.OnlineCapacity, t.CounterQuota, db.Time(now))
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				created += int(n)
			}
		}
		if created == 0 {
			return nil
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "opd.sessions.plan", ObjectType: "opd_hospital", ObjectID: strconv.FormatInt(h.ID, 10),
			Summary: map[string]any{"created": created, "through": today.AddDate(0, 0, h.PlanDaysAhead).Format(DayLayout)}, Actor: actor})
		return err
	})
	return created, err
}

// PlanArgs is the periodic job that plans sessions and sweeps no-shows.
type PlanArgs struct{}

// Kind names the job.
func (PlanArgs) Kind() string { return "opd_plan" }

// PlanWorker runs PlanArgs.
type PlanWorker struct {
	river.WorkerDefaults[PlanArgs]
	S *Service
}

// Work plans sessions ahead and marks yesterday's absentees.
func (w *PlanWorker) Work(ctx context.Context, job *river.Job[PlanArgs]) error {
	if _, err := w.S.Plan(ctx, audit.System("opd")); err != nil {
		return err
	}
	_, err := w.S.sweepNoShows(ctx, w.S.now())
	return err
}
