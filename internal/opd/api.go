package opd

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/idem"
	"mizogov/internal/web"
)

// The JSON API for the e-OPD app: the same service methods as the pages.

// SessionOut is a session with what a booking app needs to show.
type SessionOut struct {
	Session
	OnlineFree int    `json:"online_free"`
	Bookable   bool   `json:"bookable"`
	Reason     string `json:"reason,omitempty" doc:"Why it cannot be booked now: session_closed, not_open_yet, booking_over or session_full"`
}

// PatientOut is a patient with their hospital ids.
type PatientOut struct {
	Patient
	UHIDs map[string]string `json:"uhids" doc:"Hospital id (UHID) by hospital id"`
}

// BookRequestBody asks for a place.
type BookRequestBody struct {
	SessionID int64 `json:"session_id"`
	PatientID int64 `json:"patient_id"`
}

// CheckinRequest checks a patient in at the counter: by the scanned OPD
// card (or its reference number), or by session and token.
type CheckinRequest struct {
	DepartmentID int64  `json:"department_id"`
	Card         string `json:"card,omitempty"`
	SessionID    int64  `json:"session_id,omitempty"`
	Token        int    `json:"token,omitempty"`
}

// WalkinRequest registers a walk-in into the counter quota.
type WalkinRequest struct {
	DepartmentID int64 `json:"department_id"`
	Walkin
}

// QueueOut is a department's queue.
type QueueOut struct {
	Day      string            `json:"day"`
	Counts   map[string]int    `json:"counts" doc:"Bookings by status"`
	Sessions []SessionQueueOut `json:"sessions"`
}

// SessionQueueOut is one session of the queue.
type SessionQueueOut struct {
	Session  Session        `json:"session"`
	Counts   map[string]int `json:"counts"`
	Serving  []int          `json:"serving" doc:"Tokens in consultation, latest first"`
	Next     []int          `json:"next" doc:"Checked-in tokens waiting, in order"`
	Bookings []Booking      `json:"bookings"`
}

func reasonCode(key string) string {
	switch key {
	case "opd.session_closed":
		return "session_closed"
	case "opd.not_open_yet":
		return "not_open_yet"
	case "opd.booking_over":
		return "booking_over"
	case "opd.session_full":
		return "session_full"
	}
	return ""
}

func (s *Service) apiHospitals(w http.ResponseWriter, r *http.Request) error {
	hs, err := s.Hospitals(r.Context(), true)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, nonNil(hs))
	return nil
}

func (s *Service) apiDepartments(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if h, err := s.Hospital(r.Context(), id); errors.Is(err, db.ErrNotFound) || (err == nil && !h.Active) {
		return web.NotFound()
	} else if err != nil {
		return err
	}
	ds, err := s.Departments(r.Context(), id, true)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, nonNil(ds))
	return nil
}

func (s *Service) apiSessions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := &web.Fields{}
	dept, err := strconv.ParseInt(q.Get("department"), 10, 64)
	if err != nil || dept <= 0 {
		f.Add("department", "opd.department_pick")
	}
	now := s.now()
	from, to := q.Get("from"), q.Get("to")
	if from == "" {
		from = Today(now)
	}
	ft, ok1 := ParseDay(from)
	if !ok1 {
		f.Add("from", "opd.day_invalid")
	}
	if to == "" {
		to = ft.AddDate(0, 0, 14).Format(DayLayout)
	}
	tt, ok2 := ParseDay(to)
	if !ok2 || (ok1 && (tt.Before(ft) || tt.Sub(ft).Hours() > 24*62)) {
		f.Add("to", "opd.day_range_invalid")
	}
	if err := f.Err(); err != nil {
		return err
	}
	list, err := s.Sessions(r.Context(), SessionFilter{DepartmentID: dept, From: from, To: to})
	if err != nil {
		return err
	}
	out := make([]SessionOut, 0, len(list))
	for _, x := range list {
		reason := x.Bookable(now)
		out = append(out, SessionOut{Session: x, OnlineFree: x.OnlineFree(), Bookable: reason == "", Reason: reasonCode(reason)})
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) apiPatients(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Patients(r.Context(), auth.PrincipalOf(r).ID)
	if err != nil {
		return err
	}
	out := make([]PatientOut, 0, len(list))
	for _, p := range list {
		u, err := s.UHIDs(r.Context(), p.ID)
		if err != nil {
			return err
		}
		m := map[string]string{}
		for h, v := range u {
			m[strconv.FormatInt(h, 10)] = v
		}
		out = append(out, PatientOut{Patient: p, UHIDs: m})
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// readJSON decodes the body into v and returns the raw body for the
// idempotency fingerprint.
func readJSON(r *http.Request, v any) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return nil, web.AsError(err)
	}
	body := buf.Bytes()
	r.Body = readCloser{bytes.NewReader(body)}
	return body, web.DecodeJSON(r, v)
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func (s *Service) apiPatientAdd(w http.ResponseWriter, r *http.Request) error {
	var np NewPatient
	body, err := readJSON(r, &np)
	if err != nil {
		return err
	}
	key, _, err := idem.FromRequest(r, body)
	if err != nil {
		return err
	}
	p, err := s.AddPatient(r.Context(), auth.PrincipalOf(r), np, keyPtr(key))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Service) apiBookings(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Bookings(r.Context(), BookingFilter{AccountID: auth.PrincipalOf(r).ID})
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, nonNil(list))
	return nil
}

func jsonResponse(status int) func(Booking) (idem.Response, error) {
	return func(b Booking) (idem.Response, error) {
		body, err := json.Marshal(b)
		return idem.Response{Status: status, ContentType: "application/json; charset=utf-8", Body: append(body, '\n')}, err
	}
}

func (s *Service) apiBook(w http.ResponseWriter, r *http.Request) error {
	var in BookRequestBody
	body, err := readJSON(r, &in)
	if err != nil {
		return err
	}
	f := &web.Fields{}
	if in.SessionID <= 0 {
		f.Add("session_id", "opd.session_pick")
	}
	if in.PatientID <= 0 {
		f.Add("patient_id", "opd.patient_pick")
	}
	if err := f.Err(); err != nil {
		return err
	}
	key, _, err := idem.FromRequest(r, body)
	if err != nil {
		return err
	}
	res, err := s.BookOnline(r.Context(), auth.PrincipalOf(r).ID, in.SessionID, in.PatientID, keyPtr(key), jsonResponse(http.StatusCreated))
	if err != nil {
		return err
	}
	if res.Replay != nil {
		idem.Replay(w, res.Replay)
		return nil
	}
	w.Header().Set("Location", "/api/v1/opd/bookings/"+strconv.FormatInt(res.Booking.ID, 10))
	web.WriteJSON(w, http.StatusCreated, res.Booking)
	return nil
}

func (s *Service) apiBooking(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, err := s.OwnBooking(r.Context(), auth.PrincipalOf(r).ID, id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (s *Service) apiCancel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, err := s.Cancel(r.Context(), auth.PrincipalOf(r), id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (s *Service) apiQueue(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	id, err := strconv.ParseInt(q.Get("department"), 10, 64)
	if err != nil || id <= 0 {
		f := &web.Fields{}
		f.Add("department", "opd.department_pick")
		return f.Err()
	}
	h, d, err := s.staffDepartment(r.Context(), auth.PrincipalOf(r), PermCounter, id)
	if err != nil {
		return err
	}
	day := q.Get("day")
	if day == "" {
		day = Today(s.now())
	} else if _, ok := ParseDay(day); !ok {
		f := &web.Fields{}
		f.Add("day", "opd.day_invalid")
		return f.Err()
	}
	qv, err := s.Queue(r.Context(), h, d, day)
	if err != nil {
		return err
	}
	if err := s.Audit.Read(r.Context(), s.DB, auditQueueRead(d.ID, day)); err != nil {
		return err
	}
	out := QueueOut{Day: day, Counts: qv.Counts, Sessions: []SessionQueueOut{}}
	for _, sq := range qv.Sessions {
		out.Sessions = append(out.Sessions, SessionQueueOut{Session: sq.Session, Counts: sq.Counts, Serving: nonNil(sq.Serving),
			Next: nonNil(sq.Next), Bookings: nonNil(sq.Bookings)})
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) apiCheckin(w http.ResponseWriter, r *http.Request) error {
	var in CheckinRequest
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	b, err := s.CheckIn(r.Context(), auth.PrincipalOf(r), in.DepartmentID, in.Card, in.SessionID, in.Token)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (s *Service) apiWalkin(w http.ResponseWriter, r *http.Request) error {
	var in WalkinRequest
	body, err := readJSON(r, &in)
	if err != nil {
		return err
	}
	key, _, err := idem.FromRequest(r, body)
	if err != nil {
		return err
	}
	res, err := s.RegisterWalkin(r.Context(), auth.PrincipalOf(r), in.DepartmentID, in.Walkin, keyPtr(key), jsonResponse(http.StatusCreated))
	if err != nil {
		return err
	}
	if res.Replay != nil {
		idem.Replay(w, res.Replay)
		return nil
	}
	web.WriteJSON(w, http.StatusCreated, res.Booking)
	return nil
}

func (s *Service) apiMove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, err := s.Move(r.Context(), auth.PrincipalOf(r), id, r.PathValue("action"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, b)
	return nil
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
