package workflow

import (
	"context"
	"fmt"
	"sync"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
)

// IST is the zone in which days begin and end for SLAs.
var IST = time.FixedZone("IST", 5*3600+1800)

// Calendar knows which days are working days: Monday to Friday, except the
// holidays in the wf_holidays table.
type Calendar struct {
	holidays map[string]string // "2026-12-25" → name
}

// NewCalendar builds a calendar from holidays given as "YYYY-MM-DD" → name.
func NewCalendar(holidays map[string]string) *Calendar {
	if holidays == nil {
		holidays = map[string]string{}
	}
	return &Calendar{holidays: holidays}
}

// WorkingDay reports whether the IST date of t is a working day.
func (c *Calendar) WorkingDay(t time.Time) bool {
	t = t.In(IST)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, holiday := c.holidays[t.Format("2006-01-02")]
	return !holiday
}

// Add returns when a span starting at t ends. Hours and days are counted on
// the clock; N working days end at the close (23:59:59 IST) of the Nth
// working day after t's date.
func (c *Calendar) Add(t time.Time, s Span) time.Time {
	switch s.unit {
	case 'h':
		return t.Add(time.Duration(s.n) * time.Hour)
	case 'd':
		return t.AddDate(0, 0, s.n)
	case 'w':
		y, m, d := t.In(IST).Date()
		day := time.Date(y, m, d, 12, 0, 0, 0, IST) // noon: safe from any zone edge
		for n := 0; n < s.n; {
			day = day.AddDate(0, 0, 1)
			if c.WorkingDay(day) {
				n++
			}
		}
		y, m, d = day.Date()
		return time.Date(y, m, d, 23, 59, 59, 0, IST).UTC()
	}
	return t
}

// WorkingDaysBetween counts the working days after from's date up to and
// including to's date.
func (c *Calendar) WorkingDaysBetween(from, to time.Time) int {
	y, m, d := from.In(IST).Date()
	day := time.Date(y, m, d, 12, 0, 0, 0, IST)
	y, m, d = to.In(IST).Date()
	end := time.Date(y, m, d, 12, 0, 0, 0, IST)
	n := 0
	for day.Before(end) {
		day = day.AddDate(0, 0, 1)
		if c.WorkingDay(day) {
			n++
		}
	}
	return n
}

// calendarCache keeps the holiday table in memory for a few minutes, so
// that every node sees a change soon without reading it on every step.
type calendarCache struct {
	mu     sync.Mutex
	cal    *Calendar
	loaded time.Time
}

const calendarTTL = 5 * time.Minute

// Calendar returns the current calendar (holidays from the database).
func (e *Engine) Calendar(ctx context.Context) (*Calendar, error) {
	e.cal.mu.Lock()
	defer e.cal.mu.Unlock()
	if e.cal.cal != nil && time.Since(e.cal.loaded) < calendarTTL {
		return e.cal.cal, nil
	}
	hs, err := e.Holidays(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, h := range hs {
		m[h.Day] = h.Name
	}
	e.cal.cal, e.cal.loaded = NewCalendar(m), time.Now()
	return e.cal.cal, nil
}

// Holiday is a day off that working-day SLAs skip.
type Holiday struct {
	Day  string `json:"day"` // YYYY-MM-DD
	Name string `json:"name"`
}

// Holidays lists every holiday by date.
func (e *Engine) Holidays(ctx context.Context) ([]Holiday, error) {
	rows, err := e.DB.R().QueryContext(ctx, `SELECT day, name FROM wf_holidays ORDER BY day`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Holiday
	for rows.Next() {
		var h Holiday
		if err := rows.Scan(&h.Day, &h.Name); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// SetHoliday adds or renames a holiday inside tx, audited. Due times set
// before the change are not recomputed.
func (e *Engine) SetHoliday(ctx context.Context, tx *db.Tx, h Holiday) error {
	if _, err := time.Parse("2006-01-02", h.Day); err != nil || h.Name == "" || len(h.Name) > 100 {
		return fmt.Errorf("workflow: a holiday needs a date (YYYY-MM-DD) and a name of at most 100 characters")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO wf_holidays (day, name) VALUES ($1, $2)
		ON CONFLICT (day) DO UPDATE SET name = excluded.name`, h.Day, h.Name); err != nil {
		return err
	}
	if _, err := e.Audit.Append(ctx, tx, audit.Event{Action: "holiday.set", ObjectType: "holiday", ObjectID: h.Day, Summary: h}); err != nil {
		return err
	}
	e.cal.mu.Lock()
	e.cal.cal = nil
	e.cal.mu.Unlock()
	return nil
}
