package opd

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/idem"
	"mizogov/internal/notify"
	"mizogov/internal/refno"
	"mizogov/internal/web"
)

// BookInput is one booking to make.
type BookInput struct {
	SessionID int64
	PatientID int64          // an existing patient
	Walkin    *WalkinPatient // or, at the counter, a patient to register in the same transaction
	AccountID int64          // the citizen who books (0 at the counter)
	Channel   string         // ChannelOnline or ChannelCounter
	Actor     *audit.Actor
	Idem      *idem.Key // nil: no Idempotency-Key
	// Encode builds the response kept with the Idempotency-Key, so that a
	// retried request is answered the same way.
	Encode func(Booking) (idem.Response, error)
}

// WalkinPatient is a patient registered at the counter.
type WalkinPatient struct {
	Name      string
	Sex       string
	BirthYear int
	Phone     string // E.164, optional: the confirmation goes here
	Lang      string
}

// BookResult is a new booking, or the stored answer to a repeated request.
type BookResult struct {
	Booking Booking
	Replay  *idem.Response
	// msgs are the confirmation's messages: the writer queues those of a
	// whole batch in one go, before it commits.
	msgs []notify.Message
}

// Errors of booking. Each is a 4xx with a translated message.
func errSessionNotFound() error {
	return &web.Error{Status: http.StatusNotFound, Code: "session_not_found", Key: "opd.session_not_found"}
}
func errPatientNotFound() error {
	return &web.Error{Status: http.StatusNotFound, Code: "patient_not_found", Key: "opd.patient_not_found"}
}
func refusal(code, key string, args ...any) error {
	return &web.Error{Status: http.StatusConflict, Code: code, Key: key, Args: args}
}

// refusalFor turns a Bookable reason into an error.
func refusalFor(reason string, s Session) error {
	switch reason {
	case "opd.not_open_yet":
		return refusal("not_open_yet", reason, "opens", s.OpensAt.In(IST).Format("02-01-2006 15:04"))
	case "opd.session_full":
		return refusal("session_full", reason)
	case "opd.booking_over":
		return refusal("booking_over", reason)
	}
	return refusal("session_closed", "opd.session_closed")
}

var errAlreadyBooked = func() error { return refusal("already_booked", "opd.already_booked") }

// BookOnline books a session for one of the citizen's patients. Cheap
// checks on a snapshot refuse what is plainly impossible (a full session,
// another family's patient) without touching the writer; the booking itself
// is decided inside the writer's transaction.
func (s *Service) BookOnline(ctx context.Context, accountID, sessionID, patientID int64, key *idem.Key, encode func(Booking) (idem.Response, error)) (BookResult, error) {
	// One read answers every cheap question: the session's state, whose
	// patient this is, and whether they already hold a place that day.
	var x Session
	var owner sql.NullInt64
	var booked int
	err := s.DB.R().QueryRowContext(ctx, `SELECT s.status, s.opens_at, s.starts_at, s.online_booked, s.online_capacity,
		(SELECT account_id FROM opd_patients WHERE id = $2),
		(SELECT COUNT(*) FROM opd_bookings b WHERE b.patient_id = $2 AND b.department_id = s.department_id AND b.day = s.day AND b.status <> 'cancelled')
		FROM opd_sessions s WHERE s.id = $1`, sessionID, patientID).
		Scan(&x.Status, &x.OpensAt, &x.StartsAt, &x.OnlineBooked, &x.OnlineCapacity, &owner, &booked)
	if errors.Is(err, sql.ErrNoRows) {
		return BookResult{}, errSessionNotFound()
	}
	if err != nil {
		return BookResult{}, err
	}
	if !owner.Valid || owner.Int64 != accountID {
		return BookResult{}, errPatientNotFound()
	}
	if key != nil && booked > 0 {
		// A repeat of a request already carried out gets its first answer,
		// even if the session has filled up since. Only a patient who
		// holds a place that day can be repeating a booking, so only then is
		// the key looked up here (the writer looks every key up anyway).
		prev, err := idem.Lookup(ctx, s.DB.R(), *key)
		if err != nil {
			return BookResult{}, err
		}
		if prev != nil {
			return BookResult{Replay: prev}, nil
		}
	}
	if reason := x.Bookable(s.now()); reason != "" {
		return BookResult{}, refusalFor(reason, x)
	}
	if booked > 0 {
		return BookResult{}, errAlreadyBooked()
	}
	return s.Booker.Submit(ctx, BookInput{SessionID: sessionID, PatientID: patientID, AccountID: accountID, Channel: ChannelOnline,
		Actor: audit.ActorOf(ctx), Idem: key, Encode: encode})
}

// BookTx makes one booking inside the writer's transaction. It runs about
// fifteen statements, each on a prepared statement: this is the work the
// group commit shares one fsync among.
func (s *Service) BookTx(ctx context.Context, tx *db.Tx, r *BookRequest) (BookResult, error) {
	in := r.Input
	now := s.now()
	if in.Idem != nil {
		prev, err := idem.Lookup(ctx, tx, *in.Idem)
		if err != nil {
			return BookResult{}, err
		}
		if prev != nil {
			return BookResult{Replay: prev}, nil
		}
	}
	var pt Patient
	var c contact
	if w := in.Walkin; w != nil {
		if err := tx.QueryRowContext(ctx, `INSERT INTO opd_patients (account_id, relation, name, sex, birth_year, phone, created_at)
			VALUES (NULL, 'walkin', $1, $2, $3, $4, $5) RETURNING id`, w.Name, w.Sex, w.BirthYear, w.Phone, db.Time(now)).Scan(&pt.ID); err != nil {
			return BookResult{}, err
		}
		pt.Name, pt.Sex, pt.BirthYear = w.Name, w.Sex, w.BirthYear
		c.phone, c.lang = w.Phone, w.Lang
	} else {
		// The patient, and the account holder's contact for the confirmation.
		var acct sql.NullInt64
		var phone, email, lang sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT p.id, p.account_id, p.name, p.sex, p.birth_year, a.phone, a.email, a.lang
			FROM opd_patients p LEFT JOIN people a ON a.id = p.account_id WHERE p.id = $1`, in.PatientID).
			Scan(&pt.ID, &acct, &pt.Name, &pt.Sex, &pt.BirthYear, &phone, &email, &lang)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && in.Channel == ChannelOnline && acct.Int64 != in.AccountID) {
			return BookResult{}, errPatientNotFound()
		}
		if err != nil {
			return BookResult{}, err
		}
		pt.AccountID = acct.Int64
		c = contact{account: acct.Int64, phone: phone.String, email: email.String, lang: lang.String}
	}
	// Take a place and the next token in one statement: the WHERE clause is
	// the capacity rule, and the table's CHECKs stand behind it.
	var token int
	var err error
	if in.Channel == ChannelCounter {
		err = tx.QueryRowContext(ctx, `UPDATE opd_sessions SET counter_booked = counter_booked + 1, last_token = last_token + 1
			WHERE id = $1 AND status = 'open' AND counter_booked < counter_quota AND day = $2 AND ends_at > $3
			RETURNING last_token`, in.SessionID, Today(now), db.Time(now)).Scan(&token)
	} else {
		err = tx.QueryRowContext(ctx, `UPDATE opd_sessions SET online_booked = online_booked + 1, last_token = last_token + 1
			WHERE id = $1 AND status = 'open' AND online_booked < online_capacity AND opens_at <= $2 AND starts_at > $2
			RETURNING last_token`, in.SessionID, db.Time(now)).Scan(&token)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return BookResult{}, s.whyNot(ctx, tx, in, now)
	}
	if err != nil {
		return BookResult{}, err
	}
	info, err := s.sessionInfo(ctx, tx, in.SessionID)
	if err != nil {
		return BookResult{}, err
	}
	uhid, err := s.uhid(ctx, tx, pt.ID, info.HospitalID, now)
	if err != nil {
		return BookResult{}, err
	}
	ref, err := refno.Next(ctx, tx, RefService, now)
	if err != nil {
		return BookResult{}, err
	}
	var bookedBy any
	if in.AccountID != 0 {
		bookedBy = in.AccountID
	} else if in.Actor != nil && in.Actor.ID != 0 {
		bookedBy = in.Actor.ID
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO opd_bookings (refno, session_id, department_id, day, patient_id, booked_by, channel, token, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'booked', $9) RETURNING id`,
		ref, in.SessionID, info.DepartmentID, info.Day, pt.ID, bookedBy, in.Channel, token, db.Time(now)).Scan(&id)
	if db.IsUnique(err) {
		return BookResult{}, errAlreadyBooked()
	}
	if err != nil {
		return BookResult{}, err
	}
	if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "opd.book", ObjectType: "opd_booking", ObjectID: strconv.FormatInt(id, 10),
		SubjectID: c.account, Actor: in.Actor, Summary: map[string]any{"refno": ref, "session": in.SessionID, "token": token,
			"channel": in.Channel, "patient": pt.ID, "uhid": uhid}}); err != nil {
		return BookResult{}, err
	}
	b := Booking{ID: id, Refno: ref, SessionID: in.SessionID, DepartmentID: info.DepartmentID, Day: info.Day, PatientID: pt.ID,
		BookedBy: in.AccountID, Channel: in.Channel, Token: token, Status: StatusBooked, CreatedAt: db.Time(now), UHID: uhid,
		PatientName: pt.Name, PatientSex: pt.Sex, PatientBorn: pt.BirthYear, AccountID: pt.AccountID,
		HospitalID: info.HospitalID, HospitalName: info.HospitalName, DepartmentNm: info.DepartmentName, DepartmentLus: info.DepartmentLus,
		Room: info.Room, DoctorName: info.DoctorName, StartsAt: info.StartsAt, EndsAt: info.EndsAt, DistrictID: info.DistrictID,
		HospitalDept: info.HospitalDept}
	msgs := s.confirmation(b, c)
	if in.Idem != nil && in.Encode != nil {
		resp, err := in.Encode(b)
		if err != nil {
			return BookResult{}, err
		}
		if err := idem.Save(ctx, tx, *in.Idem, resp, now); err != nil {
			return BookResult{}, err
		}
	}
	return BookResult{Booking: b, msgs: msgs}, nil
}

// contact is who hears of a booking.
type contact struct {
	account            int64
	phone, email, lang string
}

// sessionDisplay is what a booking shows of its session: it does not change
// once the session exists, so it is read once and kept.
type sessionDisplay struct {
	HospitalID, DepartmentID, DistrictID, HospitalDept int64
	Day                                                string
	StartsAt, EndsAt                                   time.Time
	HospitalName, DepartmentName, DepartmentLus, Room  string
	DoctorName                                         string
}

func (s *Service) sessionInfo(ctx context.Context, q db.Querier, id int64) (sessionDisplay, error) {
	if v, ok := s.display.Load(id); ok {
		return v.(sessionDisplay), nil
	}
	var d sessionDisplay
	err := q.QueryRowContext(ctx, `SELECT s.hospital_id, s.department_id, h.district_id, COALESCE(h.department_id, 0), s.day, s.starts_at, s.ends_at,
		h.name, d.name, d.name_lus, d.room, COALESCE(o.name, '')`+sessionFrom+` WHERE s.id = $1`, id).
		Scan(&d.HospitalID, &d.DepartmentID, &d.DistrictID, &d.HospitalDept, &d.Day, &d.StartsAt, &d.EndsAt,
			&d.HospitalName, &d.DepartmentName, &d.DepartmentLus, &d.Room, &d.DoctorName)
	if err != nil {
		return d, err
	}
	if s.displayN.Add(1) > 10000 {
		s.display.Clear()
		s.displayN.Store(0)
	}
	s.display.Store(id, d)
	return d, nil
}

// whyNot explains a booking the session refused.
func (s *Service) whyNot(ctx context.Context, tx *db.Tx, in BookInput, now time.Time) error {
	var x Session
	err := tx.QueryRowContext(ctx, `SELECT day, status, opens_at, starts_at, ends_at, online_booked, online_capacity FROM opd_sessions WHERE id = $1`,
		in.SessionID).Scan(&x.Day, &x.Status, &x.OpensAt, &x.StartsAt, &x.EndsAt, &x.OnlineBooked, &x.OnlineCapacity)
	if errors.Is(err, sql.ErrNoRows) {
		return errSessionNotFound()
	}
	if err != nil {
		return err
	}
	if in.Channel == ChannelCounter {
		switch {
		case x.Status != "open":
			return refusal("session_closed", "opd.session_closed")
		case x.Day != Today(now):
			return refusal("counter_today_only", "opd.counter_today_only")
		case !now.Before(x.EndsAt):
			return refusal("booking_over", "opd.session_ended")
		}
		return refusal("counter_full", "opd.counter_full")
	}
	return refusalFor(x.Bookable(now), x)
}

// uhid returns the patient's hospital id, issuing one on the first booking
// at that hospital. The hospital row's counter gives numbers in order; a
// rolled-back booking gives its number back.
func (s *Service) uhid(ctx context.Context, tx *db.Tx, patientID, hospitalID int64, now time.Time) (string, error) {
	var u string
	err := tx.QueryRowContext(ctx, `SELECT uhid FROM opd_registrations WHERE patient_id = $1 AND hospital_id = $2`, patientID, hospitalID).Scan(&u)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	var n int64
	var code string
	if err := tx.QueryRowContext(ctx, `UPDATE opd_hospitals SET last_uhid = last_uhid + 1 WHERE id = $1 RETURNING last_uhid, code`, hospitalID).Scan(&n, &code); err != nil {
		return "", err
	}
	u = FormatUHID(code, n)
	if _, err := tx.ExecContext(ctx, `INSERT INTO opd_registrations (patient_id, hospital_id, uhid, created_at) VALUES ($1, $2, $3, $4)`,
		patientID, hospitalID, u, db.Time(now)); err != nil {
		return "", err
	}
	return u, nil
}

// FormatUHID writes a hospital patient id: hospital code, a seven-digit
// number and a Verhoeff check digit (CHA-0000123-6).
func FormatUHID(code string, n int64) string {
	seq := fmt.Sprintf("%07d", n)
	return fmt.Sprintf("%s-%s-%d", code, seq, refno.Verhoeff(seq))
}

// confirmation is the booking's confirmation: to the account holder on
// every channel they have, or by SMS to a walk-in who gave a phone number.
func (s *Service) confirmation(b Booking, c contact) []notify.Message {
	data := map[string]string{"patient": b.PatientName, "hospital": b.HospitalName, "department": b.DepartmentNm,
		"day": dayShown(b.Day), "time": b.StartsAt.In(IST).Format("15:04"), "token": strconv.Itoa(b.Token),
		"refno": b.Refno, "uhid": b.UHID, "url": s.BaseURL + "/opd/bookings/" + strconv.FormatInt(b.ID, 10)}
	if c.account != 0 {
		return s.Notify.MessagesTo(c.account, c.phone, c.email, c.lang, "opd.booked", data)
	}
	if c.phone == "" {
		return nil
	}
	lang := c.lang
	if lang != "lus" {
		lang = "en"
	}
	return []notify.Message{{Channel: notify.SMS, To: c.phone, Template: "opd.booked", Lang: lang, Data: data}}
}

// dayShown writes 2026-11-27 as 27-11-2026.
func dayShown(day string) string {
	t, ok := ParseDay(day)
	if !ok {
		return day
	}
	return t.Format("02-01-2006")
}
