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
	if _, err := s.OwnPatient(ctx, accountID, patientID); errors.Is(err, db.ErrNotFound) {
		return BookResult{}, errPatientNotFound()
	} else if err != nil {
		return BookResult{}, err
	}
	sess, err := s.Session(ctx, sessionID)
	if errors.Is(err, db.ErrNotFound) {
		return BookResult{}, errSessionNotFound()
	}
	if err != nil {
		return BookResult{}, err
	}
	if key != nil {
		// A repeat of a request already carried out gets its first answer,
		// even if the session has filled up since.
		prev, err := idem.Lookup(ctx, s.DB.R(), *key)
		if err != nil {
			return BookResult{}, err
		}
		if prev != nil {
			return BookResult{Replay: prev}, nil
		}
	}
	if reason := sess.Bookable(s.now()); reason != "" {
		return BookResult{}, refusalFor(reason, sess)
	}
	var n int
	if err := s.DB.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM opd_bookings WHERE patient_id = $1 AND department_id = $2
		AND day = $3 AND status <> 'cancelled'`, patientID, sess.DepartmentID, sess.Day).Scan(&n); err != nil {
		return BookResult{}, err
	}
	if n > 0 {
		return BookResult{}, errAlreadyBooked()
	}
	return s.Booker.Submit(ctx, BookInput{SessionID: sessionID, PatientID: patientID, AccountID: accountID, Channel: ChannelOnline,
		Actor: audit.ActorOf(ctx), Idem: key, Encode: encode})
}

// BookTx makes one booking inside the writer's transaction.
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
	patientID := in.PatientID
	subject := in.AccountID
	if in.Walkin != nil {
		w := in.Walkin
		if err := tx.QueryRowContext(ctx, `INSERT INTO opd_patients (account_id, relation, name, sex, birth_year, phone, created_at)
			VALUES (NULL, 'walkin', $1, $2, $3, $4, $5) RETURNING id`, w.Name, w.Sex, w.BirthYear, w.Phone, db.Time(now)).Scan(&patientID); err != nil {
			return BookResult{}, err
		}
	} else {
		var acct sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT account_id FROM opd_patients WHERE id = $1`, patientID).Scan(&acct)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && in.Channel == ChannelOnline && acct.Int64 != in.AccountID) {
			return BookResult{}, errPatientNotFound()
		}
		if err != nil {
			return BookResult{}, err
		}
		subject = acct.Int64
	}
	// Take a place and the next token in one statement: the WHERE clause is
	// the capacity rule, and the table's CHECKs stand behind it.
	var token int
	var hospitalID, deptID int64
	var day string
	var err error
	if in.Channel == ChannelCounter {
		err = tx.QueryRowContext(ctx, `UPDATE opd_sessions SET counter_booked = counter_booked + 1, last_token = last_token + 1
			WHERE id = $1 AND status = 'open' AND counter_booked < counter_quota AND day = $2 AND ends_at > $3
			RETURNING last_token, hospital_id, department_id, day`, in.SessionID, Today(now), db.Time(now)).Scan(&token, &hospitalID, &deptID, &day)
	} else {
		err = tx.QueryRowContext(ctx, `UPDATE opd_sessions SET online_booked = online_booked + 1, last_token = last_token + 1
			WHERE id = $1 AND status = 'open' AND online_booked < online_capacity AND opens_at <= $2 AND starts_at > $2
			RETURNING last_token, hospital_id, department_id, day`, in.SessionID, db.Time(now)).Scan(&token, &hospitalID, &deptID, &day)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return BookResult{}, s.whyNot(ctx, tx, in, now)
	}
	if err != nil {
		return BookResult{}, err
	}
	uhid, err := s.uhid(ctx, tx, patientID, hospitalID, now)
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
		ref, in.SessionID, deptID, day, patientID, bookedBy, in.Channel, token, db.Time(now)).Scan(&id)
	if db.IsUnique(err) {
		return BookResult{}, errAlreadyBooked()
	}
	if err != nil {
		return BookResult{}, err
	}
	if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "opd.book", ObjectType: "opd_booking", ObjectID: strconv.FormatInt(id, 10),
		SubjectID: subject, Actor: in.Actor, Summary: map[string]any{"refno": ref, "session": in.SessionID, "token": token,
			"channel": in.Channel, "patient": patientID, "uhid": uhid}}); err != nil {
		return BookResult{}, err
	}
	b, err := s.bookingIn(ctx, tx, id)
	if err != nil {
		return BookResult{}, err
	}
	if err := s.notifyBooked(ctx, tx, b, in); err != nil {
		return BookResult{}, err
	}
	if in.Idem != nil && in.Encode != nil {
		resp, err := in.Encode(b)
		if err != nil {
			return BookResult{}, err
		}
		if err := idem.Save(ctx, tx, *in.Idem, resp, now); err != nil {
			return BookResult{}, err
		}
	}
	return BookResult{Booking: b}, nil
}

// whyNot explains a booking the session refused.
func (s *Service) whyNot(ctx context.Context, tx *db.Tx, in BookInput, now time.Time) error {
	sess, err := scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionCols+sessionFrom+` WHERE s.id = $1`, in.SessionID))
	if errors.Is(err, db.ErrNotFound) {
		return errSessionNotFound()
	}
	if err != nil {
		return err
	}
	if in.Channel == ChannelCounter {
		switch {
		case sess.Status != "open":
			return refusal("session_closed", "opd.session_closed")
		case sess.Day != Today(now):
			return refusal("counter_today_only", "opd.counter_today_only")
		case !now.Before(sess.EndsAt):
			return refusal("booking_over", "opd.session_ended")
		}
		return refusal("counter_full", "opd.counter_full")
	}
	return refusalFor(sess.Bookable(now), sess)
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

// notifyBooked queues the confirmation: to the account holder on every
// channel they have, or by SMS to a walk-in who gave a phone number.
func (s *Service) notifyBooked(ctx context.Context, tx *db.Tx, b Booking, in BookInput) error {
	data := map[string]string{"patient": b.PatientName, "hospital": b.HospitalName, "department": b.DepartmentNm,
		"day": dayShown(b.Day), "time": b.StartsAt.In(IST).Format("15:04"), "token": strconv.Itoa(b.Token),
		"refno": b.Refno, "uhid": b.UHID, "url": s.BaseURL + "/opd/bookings/" + strconv.FormatInt(b.ID, 10)}
	if b.AccountID != 0 {
		_, err := s.Notify.EnqueueFor(ctx, tx, b.AccountID, "opd.booked", data)
		return err
	}
	if in.Walkin != nil && in.Walkin.Phone != "" {
		lang := in.Walkin.Lang
		if lang == "" {
			lang = "en"
		}
		_, err := s.Notify.Enqueue(ctx, tx, notify.Message{Channel: notify.SMS, To: in.Walkin.Phone, Template: "opd.booked", Lang: lang, Data: data})
		return err
	}
	return nil
}

// dayShown writes 2026-11-27 as 27-11-2026.
func dayShown(day string) string {
	t, ok := ParseDay(day)
	if !ok {
		return day
	}
	return t.Format("02-01-2006")
}
