package opd

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"mizogov/internal/db"
)

// This file holds the SQL that reads; the writes live next to the action
// that makes them.

const hospitalCols = `h.id, h.code, h.name, h.name_lus, COALESCE(h.department_id, 0), h.district_id, h.address, h.phone,
	h.book_days_ahead, h.book_opens_minute, h.plan_days_ahead, h.active`

type scanner interface{ Scan(...any) error }

func scanHospital(row scanner) (Hospital, error) {
	var h Hospital
	err := row.Scan(&h.ID, &h.Code, &h.Name, &h.NameLus, &h.DepartmentID, &h.DistrictID, &h.Address, &h.Phone,
		&h.BookDaysAhead, &h.BookOpensMinute, &h.PlanDaysAhead, &h.Active)
	if errors.Is(err, sql.ErrNoRows) {
		return h, db.ErrNotFound
	}
	return h, err
}

// Hospitals lists hospitals; all of them, or only active ones.
func (s *Service) Hospitals(ctx context.Context, activeOnly bool) ([]Hospital, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+hospitalCols+` FROM opd_hospitals h
		WHERE h.active OR NOT $1 ORDER BY h.name`, activeOnly)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Hospital
	for rows.Next() {
		h, err := scanHospital(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// Hospital loads one hospital.
func (s *Service) Hospital(ctx context.Context, id int64) (Hospital, error) {
	return scanHospital(s.DB.R().QueryRowContext(ctx, `SELECT `+hospitalCols+` FROM opd_hospitals h WHERE h.id = $1`, id))
}

const departmentCols = `d.id, d.hospital_id, d.code, d.name, d.name_lus, d.room, d.active`

func scanDepartment(row scanner) (Department, error) {
	var d Department
	err := row.Scan(&d.ID, &d.HospitalID, &d.Code, &d.Name, &d.NameLus, &d.Room, &d.Active)
	if errors.Is(err, sql.ErrNoRows) {
		return d, db.ErrNotFound
	}
	return d, err
}

// Departments lists a hospital's clinical departments.
func (s *Service) Departments(ctx context.Context, hospitalID int64, activeOnly bool) ([]Department, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+departmentCols+` FROM opd_departments d
		WHERE d.hospital_id = $1 AND (d.active OR NOT $2) ORDER BY d.name`, hospitalID, activeOnly)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Department
	for rows.Next() {
		d, err := scanDepartment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Department loads one clinical department.
func (s *Service) Department(ctx context.Context, id int64) (Department, error) {
	return scanDepartment(s.DB.R().QueryRowContext(ctx, `SELECT `+departmentCols+` FROM opd_departments d WHERE d.id = $1`, id))
}

// Doctors lists the doctors of a hospital.
func (s *Service) Doctors(ctx context.Context, hospitalID int64) ([]Doctor, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT o.id, o.department_id, o.name, o.qualification, o.active
		FROM opd_doctors o JOIN opd_departments d ON d.id = o.department_id WHERE d.hospital_id = $1 ORDER BY d.name, o.name`, hospitalID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Doctor
	for rows.Next() {
		var d Doctor
		if err := rows.Scan(&d.ID, &d.DepartmentID, &d.Name, &d.Qualification, &d.Active); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Templates lists a hospital's weekly templates.
func (s *Service) Templates(ctx context.Context, hospitalID int64) ([]Template, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT t.id, t.department_id, COALESCE(t.doctor_id, 0), t.weekday, t.start_minute, t.end_minute,
		t.online_capacity, t.counter_quota, t.active, COALESCE(o.name, ''), d.name
		FROM opd_templates t JOIN opd_departments d ON d.id = t.department_id LEFT JOIN opd_doctors o ON o.id = t.doctor_id
		WHERE d.hospital_id = $1 ORDER BY d.name, t.weekday, t.start_minute`, hospitalID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Template
	for rows.Next() {
		var t Template
		if err := rows.Scan(&t.ID, &t.DepartmentID, &t.DoctorID, &t.Weekday, &t.StartMinute, &t.EndMinute,
			&t.OnlineCapacity, &t.CounterQuota, &t.Active, &t.DoctorName, &t.DepartmentName); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Holidays lists a hospital's holidays from day on.
func (s *Service) Holidays(ctx context.Context, hospitalID int64, from string) ([]Holiday, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT hospital_id, day, name FROM opd_holidays WHERE hospital_id = $1 AND day >= $2 ORDER BY day`, hospitalID, from)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Holiday
	for rows.Next() {
		var h Holiday
		if err := rows.Scan(&h.HospitalID, &h.Day, &h.Name); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

const sessionCols = `s.id, s.hospital_id, s.department_id, COALESCE(s.doctor_id, 0), COALESCE(s.template_id, 0), s.day,
	s.starts_at, s.ends_at, s.opens_at, s.online_capacity, s.counter_quota, s.online_booked, s.counter_booked, s.last_token,
	s.status, s.closed_reason, d.name, d.name_lus, COALESCE(o.name, ''), h.name`

const sessionFrom = ` FROM opd_sessions s JOIN opd_departments d ON d.id = s.department_id
	JOIN opd_hospitals h ON h.id = s.hospital_id LEFT JOIN opd_doctors o ON o.id = s.doctor_id`

func scanSession(row scanner) (Session, error) {
	var x Session
	err := row.Scan(&x.ID, &x.HospitalID, &x.DepartmentID, &x.DoctorID, &x.TemplateID, &x.Day,
		&x.StartsAt, &x.EndsAt, &x.OpensAt, &x.OnlineCapacity, &x.CounterQuota, &x.OnlineBooked, &x.CounterBooked, &x.LastToken,
		&x.Status, &x.ClosedReason, &x.DepartmentName, &x.DepartmentLus, &x.DoctorName, &x.HospitalName)
	if errors.Is(err, sql.ErrNoRows) {
		return x, db.ErrNotFound
	}
	return x, err
}

// Session loads one session.
func (s *Service) Session(ctx context.Context, id int64) (Session, error) {
	return scanSession(s.DB.R().QueryRowContext(ctx, `SELECT `+sessionCols+sessionFrom+` WHERE s.id = $1`, id))
}

// SessionFilter selects sessions.
type SessionFilter struct {
	HospitalID   int64
	DepartmentID int64
	From, To     string // days, inclusive
	OpenOnly     bool
}

// Sessions lists sessions by day and time.
func (s *Service) Sessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	q := `SELECT ` + sessionCols + sessionFrom + ` WHERE s.day >= $1 AND s.day <= $2`
	args := []any{f.From, f.To}
	if f.HospitalID != 0 {
		args = append(args, f.HospitalID)
		q += ` AND s.hospital_id = $3`
	}
	if f.DepartmentID != 0 {
		args = append(args, f.DepartmentID)
		q += ` AND s.department_id = $` + itoa(len(args))
	}
	if f.OpenOnly {
		q += ` AND s.status = 'open'`
	}
	q += ` ORDER BY s.day, s.starts_at, d.name, s.id LIMIT 500`
	rows, err := s.DB.R().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

const patientCols = `p.id, COALESCE(p.account_id, 0), p.relation, p.name, p.sex, p.birth_year, p.phone, p.created_at`

func scanPatient(row scanner) (Patient, error) {
	var p Patient
	err := row.Scan(&p.ID, &p.AccountID, &p.Relation, &p.Name, &p.Sex, &p.BirthYear, &p.Phone, &p.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return p, db.ErrNotFound
	}
	return p, err
}

// Patients lists the patients an account books for, itself first.
func (s *Service) Patients(ctx context.Context, accountID int64) ([]Patient, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+patientCols+` FROM opd_patients p WHERE p.account_id = $1
		ORDER BY CASE WHEN p.relation = 'self' THEN 0 ELSE 1 END, p.name, p.id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Patient
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Patient loads a patient.
func (s *Service) Patient(ctx context.Context, id int64) (Patient, error) {
	return scanPatient(s.DB.R().QueryRowContext(ctx, `SELECT `+patientCols+` FROM opd_patients p WHERE p.id = $1`, id))
}

// OwnPatient loads a patient of accountID; someone else's is not found.
func (s *Service) OwnPatient(ctx context.Context, accountID, id int64) (Patient, error) {
	p, err := s.Patient(ctx, id)
	if err == nil && (p.AccountID == 0 || p.AccountID != accountID) {
		return Patient{}, db.ErrNotFound
	}
	return p, err
}

// UHIDs lists a patient's hospital ids by hospital.
func (s *Service) UHIDs(ctx context.Context, patientID int64) (map[int64]string, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT hospital_id, uhid FROM opd_registrations WHERE patient_id = $1`, patientID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var h int64
		var u string
		if err := rows.Scan(&h, &u); err != nil {
			return nil, err
		}
		out[h] = u
	}
	return out, rows.Err()
}

const bookingCols = `b.id, b.refno, b.session_id, b.department_id, b.day, b.patient_id, COALESCE(b.booked_by, 0), b.channel, b.token,
	b.status, b.created_at, b.checked_in_at, b.called_at, b.done_at, b.cancelled_at, b.cancel_reason,
	COALESCE(r.uhid, ''), p.name, p.sex, p.birth_year, COALESCE(p.account_id, 0),
	s.hospital_id, h.name, d.name, d.name_lus, d.room, COALESCE(o.name, ''), s.starts_at, s.ends_at, h.district_id, COALESCE(h.department_id, 0)`

const bookingFrom = ` FROM opd_bookings b JOIN opd_sessions s ON s.id = b.session_id JOIN opd_patients p ON p.id = b.patient_id
	JOIN opd_departments d ON d.id = b.department_id JOIN opd_hospitals h ON h.id = s.hospital_id
	LEFT JOIN opd_doctors o ON o.id = s.doctor_id
	LEFT JOIN opd_registrations r ON r.patient_id = b.patient_id AND r.hospital_id = s.hospital_id`

func scanBooking(row scanner) (Booking, error) {
	var b Booking
	var in, called, done, cancelled sql.NullTime
	err := row.Scan(&b.ID, &b.Refno, &b.SessionID, &b.DepartmentID, &b.Day, &b.PatientID, &b.BookedBy, &b.Channel, &b.Token,
		&b.Status, &b.CreatedAt, &in, &called, &done, &cancelled, &b.CancelReason,
		&b.UHID, &b.PatientName, &b.PatientSex, &b.PatientBorn, &b.AccountID,
		&b.HospitalID, &b.HospitalName, &b.DepartmentNm, &b.DepartmentLus, &b.Room, &b.DoctorName, &b.StartsAt, &b.EndsAt,
		&b.DistrictID, &b.HospitalDept)
	if errors.Is(err, sql.ErrNoRows) {
		return b, db.ErrNotFound
	}
	b.CheckedInAt, b.CalledAt, b.DoneAt, b.CancelledAt = timePtr(in), timePtr(called), timePtr(done), timePtr(cancelled)
	return b, err
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// Booking loads one booking.
func (s *Service) Booking(ctx context.Context, id int64) (Booking, error) {
	return s.bookingIn(ctx, s.DB.R(), id)
}

func (s *Service) bookingIn(ctx context.Context, q db.Querier, id int64) (Booking, error) {
	return scanBooking(q.QueryRowContext(ctx, `SELECT `+bookingCols+bookingFrom+` WHERE b.id = $1`, id))
}

// BookingByRefno loads a booking by its reference number.
func (s *Service) BookingByRefno(ctx context.Context, refno string) (Booking, error) {
	return scanBooking(s.DB.R().QueryRowContext(ctx, `SELECT `+bookingCols+bookingFrom+` WHERE b.refno = $1`, refno))
}

// BookingFilter selects bookings.
type BookingFilter struct {
	AccountID int64  // the patients of this account
	PatientID int64  // one patient
	SessionID int64  // one session
	Day       string // one day
	From      string // from this day on
}

// Bookings lists bookings, newest day first for an account, token order for a session.
func (s *Service) Bookings(ctx context.Context, f BookingFilter) ([]Booking, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+itoa(len(args))))
	}
	if f.AccountID != 0 {
		add("p.account_id = ?", f.AccountID)
	}
	if f.PatientID != 0 {
		add("b.patient_id = ?", f.PatientID)
	}
	if f.SessionID != 0 {
		add("b.session_id = ?", f.SessionID)
	}
	if f.Day != "" {
		add("b.day = ?", f.Day)
	}
	if f.From != "" {
		add("b.day >= ?", f.From)
	}
	if len(where) == 0 {
		return nil, errors.New("opd: unbounded booking list")
	}
	order := ` ORDER BY b.day DESC, s.starts_at DESC, b.id DESC LIMIT 200`
	if f.SessionID != 0 {
		order = ` ORDER BY b.token`
	}
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+bookingCols+bookingFrom+` WHERE `+strings.Join(where, " AND ")+order, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Booking
	for rows.Next() {
		b, err := scanBooking(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
