package opd

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/idem"
	"mizogov/internal/web"
)

// The counter's work on today's queue of a department: check-in, calling a
// patient in, done, no-show, and walk-ins into the counter quota.

// move is a step of the queue: the status it leads to, the statuses it may
// come from (never backwards), and the time column it stamps.
type move struct {
	To    string
	From  []string
	Stamp string
}

var moves = map[string]move{
	"checkin": {StatusCheckedIn, []string{StatusBooked}, "checked_in_at"},
	"call":    {StatusInConsultation, []string{StatusCheckedIn}, "called_at"},
	"done":    {StatusDone, []string{StatusInConsultation}, "done_at"},
	"noshow":  {StatusNoShow, []string{StatusBooked, StatusCheckedIn}, ""},
}

// MoveNames lists the counter's actions.
var MoveNames = []string{"checkin", "call", "done", "noshow"}

// staffHospital loads a hospital the officer may act on with perm;
// another jurisdiction's is not found.
func (s *Service) staffHospital(ctx context.Context, p *auth.Principal, perm string, id int64) (Hospital, error) {
	h, err := s.Hospital(ctx, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && (p == nil || !p.CanIn(perm, h.DepartmentID, h.DistrictID))) {
		return Hospital{}, web.NotFound()
	}
	return h, err
}

// staffDepartment loads a clinical department and its hospital for an officer.
func (s *Service) staffDepartment(ctx context.Context, p *auth.Principal, perm string, id int64) (Hospital, Department, error) {
	d, err := s.Department(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return Hospital{}, d, web.NotFound()
	}
	if err != nil {
		return Hospital{}, d, err
	}
	h, err := s.staffHospital(ctx, p, perm, d.HospitalID)
	return h, d, err
}

// staffBooking loads a booking an officer may act on at the counter.
func (s *Service) staffBooking(ctx context.Context, p *auth.Principal, id int64) (Booking, error) {
	b, err := s.Booking(ctx, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !p.CanIn(PermCounter, b.HospitalDept, b.DistrictID)) {
		return Booking{}, web.NotFound()
	}
	return b, err
}

// Move takes a booking one step along the queue.
func (s *Service) Move(ctx context.Context, p *auth.Principal, id int64, action string) (Booking, error) {
	m, ok := moves[action]
	if !ok {
		return Booking{}, web.NotFound()
	}
	b, err := s.staffBooking(ctx, p, id)
	if err != nil {
		return b, err
	}
	now := s.now()
	if b.Day != Today(now) {
		return b, refusal("not_today", "opd.not_today")
	}
	if !slices.Contains(m.From, b.Status) {
		return b, refusal("wrong_status", "opd.wrong_status")
	}
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		from := "'" + strings.Join(m.From, "', '") + "'"
		q, args := `UPDATE opd_bookings SET status = $2 WHERE id = $1 AND status IN (`+from+`)`, []any{id, m.To}
		if m.Stamp != "" {
			q = `UPDATE opd_bookings SET status = $2, ` + m.Stamp + ` = $3 WHERE id = $1 AND status IN (` + from + `)`
			args = append(args, db.Time(now))
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return refusal("wrong_status", "opd.wrong_status")
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "opd." + action, ObjectType: "opd_booking", ObjectID: strconv.FormatInt(id, 10),
			SubjectID: b.AccountID, Summary: map[string]any{"refno": b.Refno, "token": b.Token, "from": b.Status, "to": m.To}})
		return err
	})
	if err != nil {
		return b, err
	}
	return s.Booking(ctx, id)
}

// CheckIn finds today's booking by a scanned OPD card (or its typed
// reference number), or by session and token, and checks it in.
func (s *Service) CheckIn(ctx context.Context, p *auth.Principal, departmentID int64, card string, sessionID int64, token int) (Booking, error) {
	_, dept, err := s.staffDepartment(ctx, p, PermCounter, departmentID)
	if err != nil {
		return Booking{}, err
	}
	var b Booking
	switch {
	case strings.TrimSpace(card) != "":
		ref, err := s.cardRefno(ctx, card)
		if err != nil {
			return Booking{}, err
		}
		b, err = s.BookingByRefno(ctx, ref)
		if errors.Is(err, db.ErrNotFound) {
			return Booking{}, fieldErr("card", "opd.card_unknown")
		}
		if err != nil {
			return Booking{}, err
		}
	case sessionID > 0 && token > 0:
		var id int64
		err := s.DB.R().QueryRowContext(ctx, `SELECT id FROM opd_bookings WHERE session_id = $1 AND token = $2`, sessionID, token).Scan(&id)
		if err != nil {
			return Booking{}, fieldErr("token", "opd.token_unknown")
		}
		if b, err = s.Booking(ctx, id); err != nil {
			return Booking{}, err
		}
	default:
		return Booking{}, fieldErr("token", "opd.checkin_what")
	}
	if b.DepartmentID != dept.ID {
		return Booking{}, fieldErr("card", "opd.card_other_department")
	}
	if b.Day != Today(s.now()) {
		return Booking{}, fieldErr("card", "opd.card_not_today")
	}
	return s.Move(ctx, p, b.ID, "checkin")
}

func fieldErr(field, key string) error {
	f := &web.Fields{}
	f.Add(field, key)
	return f.Err()
}

// Walkin registers a walk-in patient (or a returning one by UHID) and books
// them into the counter quota of today's session.
type Walkin struct {
	SessionID int64  `json:"session_id"`
	UHID      string `json:"uhid,omitempty" doc:"A returning patient's hospital id; then name, sex and age are not needed"`
	Name      string `json:"name,omitempty"`
	Sex       string `json:"sex,omitempty" enum:"female,male,other"`
	Age       int    `json:"age,omitempty" doc:"Age in years"`
	Phone     string `json:"phone,omitempty" doc:"For an SMS with the token (optional)"`
	Lang      string `json:"lang,omitempty" enum:"en,lus"`
}

// RegisterWalkin books a walk-in at the counter. With an idempotency key,
// a repeated request gets the first answer (res.Replay).
func (s *Service) RegisterWalkin(ctx context.Context, p *auth.Principal, departmentID int64, w Walkin, key *idem.Key,
	encode func(Booking) (idem.Response, error)) (BookResult, error) {
	_, dept, err := s.staffDepartment(ctx, p, PermCounter, departmentID)
	if err != nil {
		return BookResult{}, err
	}
	if key != nil {
		prev, err := idem.Lookup(ctx, s.DB.R(), *key)
		if err != nil {
			return BookResult{}, err
		}
		if prev != nil {
			return BookResult{Replay: prev}, nil
		}
	}
	now := s.now()
	f := &web.Fields{}
	sess, err := s.Session(ctx, w.SessionID)
	if err != nil || sess.DepartmentID != dept.ID {
		f.Add("session_id", "opd.session_pick")
		return BookResult{}, f.Err()
	}
	in := BookInput{SessionID: sess.ID, Channel: ChannelCounter, Actor: audit.ActorOf(ctx), Idem: key, Encode: encode}
	if strings.TrimSpace(w.UHID) != "" {
		err := s.DB.R().QueryRowContext(ctx, `SELECT patient_id FROM opd_registrations WHERE uhid = $1 AND hospital_id = $2`,
			strings.ToUpper(strings.TrimSpace(w.UHID)), sess.HospitalID).Scan(&in.PatientID)
		if err != nil {
			f.Add("uhid", "opd.uhid_unknown")
			return BookResult{}, f.Err()
		}
	} else {
		thisYear := now.In(IST).Year()
		if w.Age < 0 || w.Age > 120 {
			f.Add("age", "opd.age_invalid")
		}
		year := thisYear - min(max(w.Age, 0), 120)
		wp := &WalkinPatient{Sex: w.Sex, BirthYear: year, Lang: w.Lang}
		wp.Name = checkPatient(w.Name, w.Sex, year, thisYear, f)
		if ph := strings.TrimSpace(w.Phone); ph != "" {
			n, key := auth.NormalizePhone(ph)
			if key != "" {
				f.Add("phone", key)
			}
			wp.Phone = n
		}
		if wp.Lang != "lus" {
			wp.Lang = "en"
		}
		in.Walkin = wp
	}
	if err := f.Err(); err != nil {
		return BookResult{}, err
	}
	return s.Booker.Submit(ctx, in)
}

// QueueView is a department's queue on one day.
type QueueView struct {
	Hospital   Hospital
	Department Department
	Day        string
	Sessions   []SessionQueue
	Counts     map[string]int
}

// Date is the queue's day as a time (for weekday names).
func (q QueueView) Date() time.Time { d, _ := ParseDay(q.Day); return d }

// SessionQueue is one session's bookings in token order.
type SessionQueue struct {
	Session  Session
	Bookings []Booking
	Counts   map[string]int
	Serving  []int // tokens in consultation, latest call first
	Next     []int // checked-in tokens waiting, in order
}

// Queue builds a department's queue for a day.
func (s *Service) Queue(ctx context.Context, h Hospital, d Department, day string) (QueueView, error) {
	q := QueueView{Hospital: h, Department: d, Day: day, Counts: map[string]int{}}
	sessions, err := s.Sessions(ctx, SessionFilter{DepartmentID: d.ID, From: day, To: day})
	if err != nil {
		return q, err
	}
	for _, sess := range sessions {
		sq, err := s.sessionQueue(ctx, sess)
		if err != nil {
			return q, err
		}
		for k, v := range sq.Counts {
			q.Counts[k] += v
		}
		q.Sessions = append(q.Sessions, sq)
	}
	return q, nil
}

func (s *Service) sessionQueue(ctx context.Context, sess Session) (SessionQueue, error) {
	sq := SessionQueue{Session: sess, Counts: map[string]int{}}
	list, err := s.Bookings(ctx, BookingFilter{SessionID: sess.ID})
	if err != nil {
		return sq, err
	}
	sq.Bookings = list
	var serving []Booking
	for _, b := range list {
		sq.Counts[b.Status]++
		switch b.Status {
		case StatusInConsultation:
			serving = append(serving, b)
		case StatusCheckedIn:
			sq.Next = append(sq.Next, b.Token)
		}
	}
	slices.SortFunc(serving, func(a, b Booking) int {
		if a.CalledAt != nil && b.CalledAt != nil {
			return b.CalledAt.Compare(*a.CalledAt)
		}
		return b.Token - a.Token
	})
	for _, b := range serving {
		sq.Serving = append(sq.Serving, b.Token)
	}
	return sq, nil
}

type counterHome struct {
	page
	Hospitals []hospitalDepts
}

type hospitalDepts struct {
	Hospital    Hospital
	Departments []Department
}

// counterIndex lists the hospitals and departments the officer works for.
func (s *Service) counterIndex(w http.ResponseWriter, r *http.Request) error {
	list, err := s.staffHospitals(r.Context(), auth.PrincipalOf(r), PermCounter)
	if err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "opd/counter_index.html", &counterHome{Hospitals: list})
}

func (s *Service) staffHospitals(ctx context.Context, p *auth.Principal, perm string) ([]hospitalDepts, error) {
	hs, err := s.Hospitals(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []hospitalDepts
	for _, h := range hs {
		if !p.CanIn(perm, h.DepartmentID, h.DistrictID) {
			continue
		}
		ds, err := s.Departments(ctx, h.ID, true)
		if err != nil {
			return nil, err
		}
		out = append(out, hospitalDepts{Hospital: h, Departments: ds})
	}
	return out, nil
}

type queuePage struct {
	page
	web.Form
	Queue   QueueView
	Today   bool
	Notice  string
	Moves   []string
	Current *Booking
}

func (s *Service) renderQueue(w http.ResponseWriter, r *http.Request, status int, deptID int64, f *web.Form, notice string, current *Booking) error {
	h, d, err := s.staffDepartment(r.Context(), auth.PrincipalOf(r), PermCounter, deptID)
	if err != nil {
		return err
	}
	today := Today(s.now())
	day := r.URL.Query().Get("day")
	if _, ok := ParseDay(day); !ok {
		day = today
	}
	q, err := s.Queue(r.Context(), h, d, day)
	if err != nil {
		return err
	}
	// The queue shows patients' names: record that the counter read it.
	if err := s.Audit.Read(r.Context(), s.DB, auditQueueRead(d.ID, day)); err != nil {
		return err
	}
	data := &queuePage{Queue: q, Today: day == today, Notice: notice, Moves: MoveNames, Current: current}
	if f != nil {
		data.Form = *f
	} else {
		data.Form.Values = map[string]string{}
	}
	if data.Form.Values["idempotency_key"] == "" {
		data.Form.Values["idempotency_key"] = idem.NewFormKey()
	}
	if data.Form.Values["session_id"] == "" && len(q.Sessions) > 0 {
		data.Form.Values["session_id"] = strconv.FormatInt(q.Sessions[0].Session.ID, 10)
	}
	return s.Render.Page(w, r, status, "opd/counter_queue.html", data)
}

func (s *Service) counterQueue(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "dept")
	if err != nil {
		return err
	}
	var current *Booking
	if bid, err := strconv.ParseInt(r.URL.Query().Get("booking"), 10, 64); err == nil {
		if b, err := s.staffBooking(r.Context(), auth.PrincipalOf(r), bid); err == nil {
			current = &b
		}
	}
	return s.renderQueue(w, r, http.StatusOK, id, nil, r.URL.Query().Get("done"), current)
}

func (s *Service) counterCheckin(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "dept")
	if err != nil {
		return err
	}
	f := web.NewForm(r, "card", "session_id", "token")
	sid, _ := strconv.ParseInt(f.Values["session_id"], 10, 64)
	tok, _ := strconv.Atoi(f.Values["token"])
	b, err := s.CheckIn(r.Context(), auth.PrincipalOf(r), id, f.Values["card"], sid, tok)
	if err != nil {
		return s.formAgain(w, r, id, f, "card", err)
	}
	http.Redirect(w, r, queueURL(id, "checkin", b.ID), http.StatusSeeOther)
	return nil
}

func (s *Service) counterWalkin(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "dept")
	if err != nil {
		return err
	}
	f := web.NewForm(r, "session_id", "uhid", "name", "sex", "age", "phone", "lang")
	sid, _ := strconv.ParseInt(f.Values["session_id"], 10, 64)
	age, aerr := strconv.Atoi(f.Values["age"])
	if aerr != nil && f.Values["uhid"] == "" {
		age = -1
	}
	key, _, err := idem.FromRequest(r, []byte(r.PostForm.Encode()))
	if err != nil {
		return err
	}
	res, err := s.RegisterWalkin(r.Context(), auth.PrincipalOf(r), id, Walkin{SessionID: sid, UHID: f.Values["uhid"], Name: f.Values["name"],
		Sex: f.Values["sex"], Age: age, Phone: f.Values["phone"], Lang: f.Values["lang"]}, keyPtr(key), func(b Booking) (idem.Response, error) {
		return idem.Response{Status: http.StatusSeeOther, ContentType: "text/plain", Body: []byte(queueURL(id, "walkin", b.ID))}, nil
	})
	if err != nil {
		f.Values["idempotency_key"] = idem.NewFormKey()
		return s.formAgain(w, r, id, f, "session_id", err)
	}
	next := queueURL(id, "walkin", res.Booking.ID)
	if res.Replay != nil {
		next = string(res.Replay.Body)
		if !strings.HasPrefix(next, "/opd/counter/") {
			return idem.ErrMismatch
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// formAgain shows the queue with the form's problems, or the error page. A
// problem that is not about one field is shown at field (the form's first).
func (s *Service) formAgain(w http.ResponseWriter, r *http.Request, deptID int64, f *web.Form, field string, err error) error {
	e := web.AsError(err)
	if e.Status >= 500 || e.Status == http.StatusNotFound && e.Fields == nil {
		return err
	}
	if e.Fields == nil {
		e.Fields = &web.Fields{}
		e.Fields.Add(field, e.Key, e.Args...)
	}
	f.Errors = e.Fields
	return s.renderQueue(w, r, e.Status, deptID, f, "", nil)
}

func (s *Service) counterMove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, err := s.Move(r.Context(), auth.PrincipalOf(r), id, r.PathValue("action"))
	if err != nil {
		if e := web.AsError(err); e.Status == http.StatusConflict && b.ID != 0 {
			f := &web.Form{Values: map[string]string{}, Errors: &web.Fields{}}
			f.Errors.Add("card", e.Key, e.Args...)
			return s.renderQueue(w, r, e.Status, b.DepartmentID, f, "", nil)
		}
		return err
	}
	http.Redirect(w, r, queueURL(b.DepartmentID, r.PathValue("action"), b.ID), http.StatusSeeOther)
	return nil
}

// counterCallNext calls the first checked-in patient of a session.
func (s *Service) counterCallNext(w http.ResponseWriter, r *http.Request) error {
	sid, err := pathID(r, "session")
	if err != nil {
		return err
	}
	sess, err := s.Session(r.Context(), sid)
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	p := auth.PrincipalOf(r)
	if _, err := s.staffHospital(r.Context(), p, PermCounter, sess.HospitalID); err != nil {
		return err
	}
	var id int64
	err = s.DB.R().QueryRowContext(r.Context(), `SELECT id FROM opd_bookings WHERE session_id = $1 AND status = 'checked_in' ORDER BY token LIMIT 1`, sid).Scan(&id)
	if err != nil {
		f := &web.Form{Values: map[string]string{}, Errors: &web.Fields{}}
		f.Errors.Add("card", "opd.nobody_waiting")
		return s.renderQueue(w, r, http.StatusConflict, sess.DepartmentID, f, "", nil)
	}
	if _, err := s.Move(r.Context(), p, id, "call"); err != nil {
		return err
	}
	http.Redirect(w, r, queueURL(sess.DepartmentID, "call", id), http.StatusSeeOther)
	return nil
}

func queueURL(dept int64, done string, booking int64) string {
	return "/opd/counter/" + strconv.FormatInt(dept, 10) + "?done=" + done + "&booking=" + strconv.FormatInt(booking, 10)
}

// sweepNoShows marks bookings never checked in as no-shows an hour after
// their session ended, one audited change per session.
func (s *Service) sweepNoShows(ctx context.Context, now time.Time) (int, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT DISTINCT s.id FROM opd_sessions s JOIN opd_bookings b ON b.session_id = s.id
		WHERE b.status = 'booked' AND s.ends_at < $1`, db.Time(now.Add(-time.Hour)))
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
	total := 0
	for _, id := range ids {
		err := s.DB.Tx(ctx, func(tx *db.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE opd_bookings SET status = 'no_show' WHERE session_id = $1 AND status = 'booked'`, id)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += int(n)
			_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "opd.noshow.sweep", ObjectType: "opd_session", ObjectID: strconv.FormatInt(id, 10),
				Summary: map[string]any{"marked": n}, Actor: audit.System("opd")})
			return err
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// CanMove reports whether action applies to the booking's status.
func (b Booking) CanMove(action string) bool {
	m, ok := moves[action]
	return ok && slices.Contains(m.From, b.Status)
}

// auditQueueRead records that the counter read a department's queue (it
// shows patients' names).
func auditQueueRead(dept int64, day string) audit.Event {
	return audit.Event{Action: "opd.queue.read", ObjectType: "opd_department", ObjectID: strconv.FormatInt(dept, 10), Summary: map[string]any{"day": day}}
}
