package opd

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/web"
)

// A hospital's administration: booking window, departments, doctors,
// weekly templates, holidays and single sessions. Every change is audited.

type managePage struct {
	page
	web.Form
	Hospital    Hospital
	Departments []Department
	Doctors     []Doctor
	Templates   []Template
	Holidays    []Holiday
	Sessions    []Session
	Department  Department // the one whose sessions and templates are shown
	Notice      string
	Weekdays    []int
	Today       string
}

func (s *Service) manageIndex(w http.ResponseWriter, r *http.Request) error {
	list, err := s.staffHospitals(r.Context(), auth.PrincipalOf(r), PermManage)
	if err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "opd/manage_index.html", &counterHome{Hospitals: list})
}

func (s *Service) renderManage(w http.ResponseWriter, r *http.Request, status int, f *web.Form, notice string) error {
	ctx := r.Context()
	id, err := pathID(r, "hospital")
	if err != nil {
		return err
	}
	h, err := s.staffHospital(ctx, auth.PrincipalOf(r), PermManage, id)
	if err != nil {
		return err
	}
	today := Today(s.now())
	data := &managePage{Hospital: h, Notice: notice, Weekdays: []int{1, 2, 3, 4, 5, 6, 0}, Today: today}
	if data.Departments, err = s.Departments(ctx, h.ID, false); err != nil {
		return err
	}
	if data.Doctors, err = s.Doctors(ctx, h.ID); err != nil {
		return err
	}
	if len(data.Departments) == 0 {
		return web.NotFound()
	}
	data.Department = data.Departments[0]
	did, _ := strconv.ParseInt(r.FormValue("department"), 10, 64)
	for _, d := range data.Departments {
		if d.ID == did {
			data.Department = d
		}
	}
	ts, err := s.Templates(ctx, h.ID)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.DepartmentID == data.Department.ID {
			data.Templates = append(data.Templates, t)
		}
	}
	if data.Holidays, err = s.Holidays(ctx, h.ID, today); err != nil {
		return err
	}
	t, _ := ParseDay(today)
	if data.Sessions, err = s.Sessions(ctx, SessionFilter{HospitalID: h.ID, DepartmentID: data.Department.ID, From: today, To: t.AddDate(0, 0, 7).Format(DayLayout)}); err != nil {
		return err
	}
	if f != nil {
		data.Form = *f
	} else {
		data.Form.Values = map[string]string{"book_days_ahead": strconv.Itoa(h.BookDaysAhead), "book_opens": Clock(h.BookOpensMinute),
			"plan_days_ahead": strconv.Itoa(h.PlanDaysAhead), "start": "09:00", "end": "13:00", "online_capacity": "100", "counter_quota": "50"}
	}
	return s.Render.Page(w, r, status, "opd/manage.html", data)
}

func (s *Service) managePage(w http.ResponseWriter, r *http.Request) error {
	return s.renderManage(w, r, http.StatusOK, nil, r.URL.Query().Get("done"))
}

// manageAction runs one administration form and shows the page again.
func (s *Service) manageAction(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r, "hospital")
	if err != nil {
		return err
	}
	h, err := s.staffHospital(ctx, auth.PrincipalOf(r), PermManage, id)
	if err != nil {
		return err
	}
	action := r.PathValue("action")
	var names []string
	var run func(f *web.Form) error
	switch action {
	case "settings":
		names = []string{"book_days_ahead", "book_opens", "plan_days_ahead"}
		run = func(f *web.Form) error { return s.saveSettings(ctx, h, f) }
	case "department":
		names = []string{"code", "name", "name_lus", "room"}
		run = func(f *web.Form) error { return s.addDepartment(ctx, h, f) }
	case "doctor":
		names = []string{"department_id", "doctor_name", "qualification"}
		run = func(f *web.Form) error { return s.addDoctor(ctx, h, f) }
	case "template":
		names = []string{"department_id", "doctor_id", "weekday", "start", "end", "online_capacity", "counter_quota"}
		run = func(f *web.Form) error { return s.addTemplate(ctx, h, f) }
	case "template-toggle":
		names = []string{"template_id"}
		run = func(f *web.Form) error { return s.toggleTemplate(ctx, h, f) }
	case "holiday":
		names = []string{"day", "holiday_name"}
		run = func(f *web.Form) error {
			_, err := s.AddHoliday(ctx, h, f.Values["day"], f.Values["holiday_name"])
			return err
		}
	case "session":
		names = []string{"session_id", "online_capacity_s", "counter_quota_s", "status"}
		run = func(f *web.Form) error { return s.updateSession(ctx, h, f) }
	case "plan":
		run = func(f *web.Form) error { _, err := s.planHospital(ctx, h, s.now(), nil); return err }
	default:
		return web.NotFound()
	}
	f := web.NewForm(r, names...)
	if err := run(f); err != nil {
		e := web.AsError(err)
		if e.Fields == nil || e.Status >= 500 {
			return err
		}
		f.Errors = e.Fields
		return s.renderManage(w, r, e.Status, f, "")
	}
	next := "/opd/manage/" + strconv.FormatInt(h.ID, 10) + "?done=" + action
	if d := r.FormValue("department"); d != "" {
		next += "&department=" + url.QueryEscape(d)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func atoiField(f *web.Form, errs *web.Fields, name string, lo, hi int, key string) int {
	n, err := strconv.Atoi(f.Values[name])
	if err != nil || n < lo || n > hi {
		errs.Add(name, key, "min", lo, "max", hi)
	}
	return n
}

func (s *Service) saveSettings(ctx context.Context, h Hospital, f *web.Form) error {
	errs := &web.Fields{}
	days := atoiField(f, errs, "book_days_ahead", 0, 90, "opd.number_range")
	opens, ok := ParseClock(f.Values["book_opens"])
	if !ok || opens >= 1440 {
		errs.Add("book_opens", "opd.clock_invalid")
	}
	plan := atoiField(f, errs, "plan_days_ahead", 1, 120, "opd.number_range")
	if err := errs.Err(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE opd_hospitals SET book_days_ahead = $2, book_opens_minute = $3, plan_days_ahead = $4 WHERE id = $1`,
			h.ID, days, opens, plan); err != nil {
			return err
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "opd.hospital.update", ObjectType: "opd_hospital", ObjectID: strconv.FormatInt(h.ID, 10),
			Summary: map[string]any{"book_days_ahead": days, "book_opens_minute": opens, "plan_days_ahead": plan}})
		return err
	})
}

func (s *Service) addDepartment(ctx context.Context, h Hospital, f *web.Form) error {
	errs := &web.Fields{}
	code := strings.ToUpper(f.Values["code"])
	if len(code) < 2 || len(code) > 12 || strings.ContainsFunc(code, func(c rune) bool { return (c < 'A' || c > 'Z') && (c < '0' || c > '9') }) {
		errs.Add("code", "opd.code_invalid")
	}
	for _, n := range []string{"name", "name_lus"} {
		if v := f.Values[n]; v == "" || len([]rune(v)) > 100 {
			errs.Add(n, "opd.name_invalid")
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO opd_departments (hospital_id, code, name, name_lus, room) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			h.ID, code, f.Values["name"], f.Values["name_lus"], f.Values["room"]).Scan(&id)
		if db.IsUnique(err) {
			errs.Add("code", "opd.code_taken")
			return errs.Err()
		}
		if err != nil {
			return err
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "opd.department.add", ObjectType: "opd_department", ObjectID: strconv.FormatInt(id, 10),
			Summary: map[string]any{"hospital": h.ID, "code": code, "name": f.Values["name"]}})
		return err
	})
}

// ownDepartment checks that a department id from a form belongs to h.
func (s *Service) ownDepartment(ctx context.Context, h Hospital, raw string, errs *web.Fields) int64 {
	id, _ := strconv.ParseInt(raw, 10, 64)
	d, err := s.Department(ctx, id)
	if err != nil || d.HospitalID != h.ID {
		errs.Add("department_id", "opd.department_pick")
		return 0
	}
	return id
}

func (s *Service) addDoctor(ctx context.Context, h Hospital, f *web.Form) error {
	errs := &web.Fields{}
	dept := s.ownDepartment(ctx, h, f.Values["department_id"], errs)
	name := f.Values["doctor_name"]
	if name == "" || len([]rune(name)) > 100 {
		errs.Add("doctor_name", "opd.name_invalid")
	}
	if len([]rune(f.Values["qualification"])) > 100 {
		errs.Add("qualification", "opd.name_invalid")
	}
	if err := errs.Err(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO opd_doctors (department_id, name, qualification) VALUES ($1, $2, $3) RETURNING id`,
			dept, name, f.Values["qualification"]).Scan(&id); err != nil {
			return err
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "opd.doctor.add", ObjectType: "opd_doctor", ObjectID: strconv.FormatInt(id, 10),
			Summary: map[string]any{"department": dept, "name": name}})
		return err
	})
}

func (s *Service) addTemplate(ctx context.Context, h Hospital, f *web.Form) error {
	errs := &web.Fields{}
	dept := s.ownDepartment(ctx, h, f.Values["department_id"], errs)
	var doctor any
	if raw := f.Values["doctor_id"]; raw != "" {
		id, _ := strconv.ParseInt(raw, 10, 64)
		var d int64
		if err := s.DB.R().QueryRowContext(ctx, `SELECT department_id FROM opd_doctors WHERE id = $1`, id).Scan(&d); err != nil || d != dept {
			errs.Add("doctor_id", "opd.doctor_pick")
		}
		doctor = id
	}
	wd := atoiField(f, errs, "weekday", 0, 6, "opd.number_range")
	start, ok1 := ParseClock(f.Values["start"])
	end, ok2 := ParseClock(f.Values["end"])
	if !ok1 || start >= 1440 {
		errs.Add("start", "opd.clock_invalid")
	}
	if !ok2 || end <= start {
		errs.Add("end", "opd.end_before_start")
	}
	online := atoiField(f, errs, "online_capacity", 0, 100000, "opd.number_range")
	counter := atoiField(f, errs, "counter_quota", 0, 100000, "opd.number_range")
	if err := errs.Err(); err != nil {
		return err
	}
	now := s.now()
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO opd_templates (department_id, doctor_id, weekday, start_minute, end_minute, online_capacity, counter_quota, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, dept, doctor, wd, start, end, online, counter, db.Time(now)).Scan(&id); err != nil {
			return err
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "opd.template.add", ObjectType: "opd_template", ObjectID: strconv.FormatInt(id, 10),
			Summary: map[string]any{"department": dept, "weekday": wd, "start": start, "end": end, "online": online, "counter": counter}})
		return err
	})
	if err != nil {
		return err
	}
	_, err = s.planHospital(ctx, h, now, nil)
	return err
}

func (s *Service) toggleTemplate(ctx context.Context, h Hospital, f *web.Form) error {
	id, _ := strconv.ParseInt(f.Values["template_id"], 10, 64)
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		var active bool
		err := tx.QueryRowContext(ctx, `UPDATE opd_templates SET active = NOT active WHERE id = $1
			AND department_id IN (SELECT id FROM opd_departments WHERE hospital_id = $2) RETURNING active`, id, h.ID).Scan(&active)
		if err != nil {
			return web.NotFound()
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "opd.template.update", ObjectType: "opd_template", ObjectID: strconv.FormatInt(id, 10),
			Summary: map[string]any{"active": active}})
		return err
	})
}

// AddHoliday closes a hospital's OPD on a day: the day's sessions close,
// their bookings are cancelled and each patient's account is told.
func (s *Service) AddHoliday(ctx context.Context, h Hospital, day, name string) (int, error) {
	errs := &web.Fields{}
	now := s.now()
	if _, ok := ParseDay(day); !ok || day < Today(now) {
		errs.Add("day", "opd.day_invalid")
	}
	name = strings.Join(strings.Fields(name), " ")
	if name == "" || len([]rune(name)) > 100 {
		errs.Add("holiday_name", "opd.name_invalid")
	}
	if err := errs.Err(); err != nil {
		return 0, err
	}
	cancelled := 0
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO opd_holidays (hospital_id, day, name, created_at) VALUES ($1, $2, $3, $4)`,
			h.ID, day, name, db.Time(now)); err != nil {
			if db.IsUnique(err) {
				errs.Add("day", "opd.holiday_exists")
				return errs.Err()
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE opd_sessions SET status = 'closed', closed_reason = $3 WHERE hospital_id = $1 AND day = $2`,
			h.ID, day, name); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT b.id FROM opd_bookings b JOIN opd_sessions s ON s.id = b.session_id
			WHERE s.hospital_id = $1 AND b.day = $2 AND b.status = 'booked'`, h.ID, day)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			b, err := s.bookingIn(ctx, tx, id)
			if err != nil {
				return err
			}
			if err := s.cancelIn(ctx, tx, b, "holiday", now); err != nil {
				return err
			}
			cancelled++
			if b.AccountID != 0 {
				if _, err := s.Notify.EnqueueFor(ctx, tx, b.AccountID, "opd.cancelled", map[string]string{"patient": b.PatientName,
					"hospital": b.HospitalName, "department": b.DepartmentNm, "day": dayShown(b.Day), "token": strconv.Itoa(b.Token),
					"refno": b.Refno, "reason": name}); err != nil {
					return err
				}
			}
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "opd.holiday.add", ObjectType: "opd_hospital", ObjectID: strconv.FormatInt(h.ID, 10),
			Summary: map[string]any{"day": day, "name": name, "cancelled": cancelled}})
		return err
	})
	return cancelled, err
}

// updateSession changes one session's places or closes or reopens it.
// The table's CHECKs refuse fewer places than are already booked.
func (s *Service) updateSession(ctx context.Context, h Hospital, f *web.Form) error {
	errs := &web.Fields{}
	id, _ := strconv.ParseInt(f.Values["session_id"], 10, 64)
	sess, err := s.Session(ctx, id)
	if err != nil || sess.HospitalID != h.ID {
		return web.NotFound()
	}
	online := atoiField(f, errs, "online_capacity_s", 0, 100000, "opd.number_range")
	counter := atoiField(f, errs, "counter_quota_s", 0, 100000, "opd.number_range")
	status := f.Values["status"]
	if status != "open" && status != "closed" {
		errs.Add("status", "opd.status_invalid")
	}
	if err := errs.Err(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE opd_sessions SET online_capacity = $2, counter_quota = $3, status = $4,
			closed_reason = CASE WHEN $4 = 'closed' THEN closed_reason ELSE '' END WHERE id = $1`, id, online, counter, status)
		if db.IsCheck(err) {
			errs.Add("online_capacity_s", "opd.capacity_below_booked")
			return errs.Err()
		}
		if err != nil {
			return err
		}
		s.Booker.Forget(id)
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "opd.session.update", ObjectType: "opd_session", ObjectID: strconv.FormatInt(id, 10),
			Summary: map[string]any{"online_capacity": online, "counter_quota": counter, "status": status}})
		return err
	})
}

// AddSession creates a single session outside the weekly templates (used by
// the demo and the load command).
func (s *Service) AddSession(ctx context.Context, tx *db.Tx, h Hospital, deptID, doctorID int64, day time.Time, start, end, online, counter int) (int64, error) {
	var doctor any
	if doctorID != 0 {
		doctor = doctorID
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO opd_sessions (hospital_id, department_id, doctor_id, day, starts_at, ends_at, opens_at,
		online_capacity, counter_quota, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		h.ID, deptID, doctor, day.Format(DayLayout), db.Time(At(day, start)), db.Time(At(day, end)), db.Time(h.OpensAt(day)),
		online, counter, db.Time(s.now())).Scan(&id)
	if err != nil {
		return 0, err
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "opd.session.add", ObjectType: "opd_session", ObjectID: strconv.FormatInt(id, 10),
		Summary: map[string]any{"department": deptID, "day": day.Format(DayLayout), "online": online, "counter": counter}, Actor: audit.System("opd")})
	return id, err
}
