package grievance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"mizogov/internal/db"
	"mizogov/internal/workflow"
)

// DashRefreshEvery is how often the periodic job refreshes the dashboard.
const DashRefreshEvery = time.Minute

// dashOverlap is how far before its last run a refresh looks for changes:
// a change is stamped with its time when its transaction starts, so one
// that committed late is still found. Recomputing a month twice is harmless.
const dashOverlap = 10 * time.Minute

// DashRefreshArgs is the periodic job that refreshes the dashboard.
type DashRefreshArgs struct{}

// Kind names the job.
func (DashRefreshArgs) Kind() string { return "grievance_dash_refresh" }

// DashRefreshWorker runs RefreshDashboard for River. Register it with
// jobs.Register and schedule it with Jobs.Every(DashRefreshEvery, DashRefreshArgs{}).
type DashRefreshWorker struct {
	river.WorkerDefaults[DashRefreshArgs]
	S *Service
}

// Work runs one refresh.
func (w *DashRefreshWorker) Work(ctx context.Context, _ *river.Job[DashRefreshArgs]) error {
	r, err := w.S.RefreshDashboard(ctx)
	if err == nil && r.Full && w.S.Log != nil {
		w.S.Log.Info("grievance dashboard built", "months", r.Months, "took", r.Took)
	}
	return err
}

// DashRefresh says what a refresh did.
type DashRefresh struct {
	Full   bool // every month was computed (the first run)
	Months int  // months recomputed
	Took   time.Duration
}

// dashClosures are the closed states the dashboard counts.
const dashClosures = `('` + StResolved + `', '` + StRejected + `', '` + StAppealed + `')`

// RefreshDashboard brings the summary tables up to date: the first time it
// computes every month from the first grievance on; afterwards only the
// months in which a grievance that changed since the last run (a step in
// its history, or a rating) is counted, or was counted before the change.
// The open-grievance snapshot (pending, overdue) is recomputed every time.
func (s *Service) RefreshDashboard(ctx context.Context) (DashRefresh, error) {
	start := time.Now()
	now := db.Time(s.now())
	var res DashRefresh
	var built bool
	var mark *time.Time
	if err := s.DB.R().QueryRowContext(ctx, `SELECT built, mark FROM grv_dash_state WHERE id = 1`).Scan(&built, &mark); err != nil {
		return res, fmt.Errorf("dashboard state: %w", err)
	}
	var months []int
	var err error
	if !built || mark == nil {
		res.Full = true
		months, err = s.allDashMonths(ctx, now)
	} else {
		months, err = s.changedDashMonths(ctx, db.Time(mark.Add(-dashOverlap)))
	}
	if err != nil {
		return res, err
	}
	for _, m := range months {
		if err := s.recomputeMonth(ctx, m); err != nil {
			return res, fmt.Errorf("dashboard month %d: %w", m, err)
		}
	}
	res.Months = len(months)
	if err := s.recomputeOpen(ctx, now); err != nil {
		return res, fmt.Errorf("dashboard open grievances: %w", err)
	}
	_, err = s.DB.W().ExecContext(ctx, `UPDATE grv_dash_state SET built = TRUE, refreshed_at = $1,
		mark = CASE WHEN mark IS NULL OR mark < $1 THEN $1 ELSE mark END WHERE id = 1`, now)
	res.Took = time.Since(start)
	return res, err
}

// allDashMonths lists every month from the first grievance to now.
func (s *Service) allDashMonths(ctx context.Context, now time.Time) ([]int, error) {
	var first time.Time
	err := s.DB.R().QueryRowContext(ctx, `SELECT created_at FROM wf_cases WHERE type = $1 ORDER BY created_at LIMIT 1`, CaseType).Scan(&first)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []int
	for m, last := max(monthOf(first), dashFirstMonth), min(monthOf(now), dashLastMonth); m <= last; m = addMonths(m, 1) {
		out = append(out, m)
	}
	return out, nil
}

// changedDashMonths lists the months to recompute for the changes since
// since. The statements are driven by the time indexes (wf_history_at,
// grv_grievances_rated); the case type is checked on the rows found, not
// in SQL, where a planner would rather walk every grievance by type.
func (s *Service) changedDashMonths(ctx context.Context, since time.Time) ([]int, error) {
	set := map[int]bool{}
	collect := func(q string) error {
		rows, err := s.DB.R().QueryContext(ctx, q, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var typ string
			var a, b sql.NullTime
			if err := rows.Scan(&typ, &a, &b); err != nil {
				return err
			}
			if typ != CaseType {
				continue
			}
			for _, t := range []sql.NullTime{a, b} {
				if t.Valid {
					set[monthOf(t.Time)] = true
				}
			}
		}
		return rows.Err()
	}
	changed := `SELECT x.case_id FROM wf_history x WHERE x.at >= $1`
	// Where each changed grievance is counted as received and rated.
	if err := collect(`SELECT c.type, c.created_at, g.rated_at FROM wf_cases c LEFT JOIN grv_grievances g ON g.case_id = c.id
		WHERE c.id IN (` + changed + `)`); err != nil {
		return nil, err
	}
	// Its steps since then (appeals), and every closure it ever had: a
	// reopened or appealed grievance leaves the month it was closed in.
	if err := collect(`SELECT c.type, h.at, NULL FROM wf_history h JOIN wf_cases c ON c.id = h.case_id
		WHERE h.case_id IN (` + changed + `) AND (h.at >= $1 OR h.to_state IN ` + dashClosures + `)`); err != nil {
		return nil, err
	}
	if err := collect(`SELECT '` + CaseType + `', rated_at, NULL FROM grv_grievances WHERE rated_at >= $1`); err != nil {
		return nil, err
	}
	out := make([]int, 0, len(set))
	for m := range set {
		if m >= dashFirstMonth && m <= dashLastMonth { // a clock gone wrong must not stop the refresh
			out = append(out, m)
		}
	}
	sort.Ints(out)
	return out, nil
}

// The months the summary can hold (migration 016's CHECK).
const dashFirstMonth, dashLastMonth = 200001, 299912

type dashKey struct{ dept, dist int64 }

// recomputeMonth computes one month's rows from the grievances and replaces them.
func (s *Service) recomputeMonth(ctx context.Context, month int) error {
	from, to := db.Time(monthStart(month)), db.Time(monthStart(addMonths(month, 1)))
	groups := map[dashKey]*DashFigures{}
	get := func(dept, dist int64) *DashFigures {
		k := dashKey{dept, dist}
		if groups[k] == nil {
			groups[k] = &DashFigures{}
		}
		return groups[k]
	}
	counts := func(q string, set func(g *DashFigures, a, b int), args ...any) error {
		rows, err := s.DB.R().QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var dept, dist int64
			var a, b int
			if err := rows.Scan(&dept, &dist, &a, &b); err != nil {
				return err
			}
			set(get(dept, dist), a, b)
		}
		return rows.Err()
	}
	// As in recomputeOpen, the inner ORDER BY keeps SQLite on the time index.
	if err := counts(`SELECT department_id, district_id, COUNT(*), 0 FROM (SELECT department_id, district_id FROM wf_cases
		WHERE type = $1 AND created_at >= $2 AND created_at < $3 AND department_id IS NOT NULL AND district_id IS NOT NULL
		ORDER BY created_at) o GROUP BY department_id, district_id`, func(g *DashFigures, a, _ int) { g.Received = a }, CaseType, from, to); err != nil {
		return err
	}
	// Every grv_grievances row is a grievance's case: no type to check.
	if err := counts(`SELECT c.department_id, c.district_id, SUM(g.rating), COUNT(*) FROM grv_grievances g JOIN wf_cases c ON c.id = g.case_id
		WHERE g.rated_at >= $1 AND g.rated_at < $2 AND g.rating IS NOT NULL
		AND c.department_id IS NOT NULL AND c.district_id IS NOT NULL
		GROUP BY c.department_id, c.district_id`, func(g *DashFigures, a, b int) { g.RatingSum, g.RatingCount = a, b }, from, to); err != nil {
		return err
	}
	if err := counts(`SELECT h.department_id, h.district_id, COUNT(*), 0 FROM wf_history h JOIN wf_cases c ON c.id = h.case_id
		WHERE c.type = $1 AND h.action = 'appeal' AND h.at >= $2 AND h.at < $3
		AND h.department_id IS NOT NULL AND h.district_id IS NOT NULL
		GROUP BY h.department_id, h.district_id`, func(g *DashFigures, a, _ int) { g.Appeals = a }, CaseType, from, to); err != nil {
		return err
	}
	rows, err := s.DB.R().QueryContext(ctx, `SELECT department_id, district_id, state, created_at, closed_at, due_at FROM wf_cases
		WHERE type = $1 AND closed_at >= $2 AND closed_at < $3 AND state IN `+dashClosures+`
		AND department_id IS NOT NULL AND district_id IS NOT NULL`, CaseType, from, to)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var dept, dist int64
		var state string
		var created, closed time.Time
		var due sql.NullTime
		if err := rows.Scan(&dept, &dist, &state, &created, &closed, &due); err != nil {
			return err
		}
		g := get(dept, dist)
		if state == StResolved || state == StAppealed {
			g.Resolved++
			g.addDays(istDay(closed)-istDay(created), 1)
		} else {
			g.Rejected++
		}
		if state == StResolved || state == StRejected {
			g.SLAClosed++
			if due.Valid && !closed.After(due.Time) {
				g.SLAMet++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	keys := make([]dashKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].dept < keys[j].dept || (keys[i].dept == keys[j].dept && keys[i].dist < keys[j].dist)
	})
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM grv_dash_month WHERE month = $1`, month); err != nil {
			return err
		}
		const cols = 12
		for len(keys) > 0 {
			n := min(len(keys), 200)
			var marks []string
			args := make([]any, 0, n*cols)
			for i, k := range keys[:n] {
				g := groups[k]
				p := make([]string, cols)
				for j := range p {
					p[j] = fmt.Sprintf("$%d", i*cols+j+1)
				}
				marks = append(marks, "("+strings.Join(p, ", ")+")")
				args = append(args, month, k.dept, k.dist, g.Received, g.Resolved, g.Rejected, g.SLAClosed, g.SLAMet,
					encodeDays(g.Days), g.RatingSum, g.RatingCount, g.Appeals)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO grv_dash_month (month, department_id, district_id, received, resolved, rejected,
				sla_closed, sla_met, days, rating_sum, rating_count, appeals) VALUES `+strings.Join(marks, ", "), args...); err != nil {
				return err
			}
			keys = keys[n:]
		}
		return nil
	})
}

// recomputeOpen replaces the snapshot of open grievances.
func (s *Service) recomputeOpen(ctx context.Context, now time.Time) error {
	// The inner ORDER BY makes SQLite read the open cases from a partial
	// index (WHERE open) instead of walking every case in department order
	// to save the GROUP BY a sort.
	rows, err := s.DB.R().QueryContext(ctx, `SELECT department_id, district_id, COUNT(*),
		SUM(CASE WHEN paused THEN 1 ELSE 0 END),
		SUM(CASE WHEN NOT paused AND ((state = $3 AND state_due < $2) OR (state <> $3 AND due_at < $2)) THEN 1 ELSE 0 END)
		FROM (SELECT department_id, district_id, paused, state, state_due, due_at FROM wf_cases
			WHERE type = $1 AND open ORDER BY state_due, id) o
		GROUP BY department_id, district_id`, CaseType, now, StAppeal)
	if err != nil {
		return err
	}
	defer rows.Close()
	type openRow struct {
		dept, dist             int64
		pending, waiting, late int
	}
	var list []openRow
	for rows.Next() {
		var o openRow
		var dept, dist sql.NullInt64
		if err := rows.Scan(&dept, &dist, &o.pending, &o.waiting, &o.late); err != nil {
			return err
		}
		if dept.Valid && dist.Valid {
			o.dept, o.dist = dept.Int64, dist.Int64
			list = append(list, o)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM grv_dash_open`); err != nil {
			return err
		}
		for len(list) > 0 {
			n := min(len(list), 200)
			var marks []string
			var args []any
			for i, o := range list[:n] {
				marks = append(marks, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d)", i*5+1, i*5+2, i*5+3, i*5+4, i*5+5))
				args = append(args, o.dept, o.dist, o.pending, o.waiting, o.late)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO grv_dash_open (department_id, district_id, pending, waiting, overdue) VALUES `+
				strings.Join(marks, ", "), args...); err != nil {
				return err
			}
			list = list[n:]
		}
		return nil
	})
}

// istDay numbers the IST calendar day of t (days since 1970-01-01 IST).
func istDay(t time.Time) int {
	y, m, d := t.In(workflow.IST).Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}
