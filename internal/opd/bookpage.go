package opd

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/idem"
	"mizogov/internal/web"
)

// The booking pages: pick a hospital, a department, a day and a session,
// then the patient. Each step is a plain GET form, so the page works
// without JavaScript on any phone.

type homePage struct {
	page
	Hospitals []Hospital
	Upcoming  []Booking
	Signed    bool
}

func (s *Service) home(w http.ResponseWriter, r *http.Request) error {
	hs, err := s.Hospitals(r.Context(), true)
	if err != nil {
		return err
	}
	data := &homePage{Hospitals: hs}
	if p := auth.PrincipalOf(r); p != nil && p.Can(PermBook) {
		data.Signed = true
		if data.Upcoming, err = s.Bookings(r.Context(), BookingFilter{AccountID: p.ID, From: Today(s.now())}); err != nil {
			return err
		}
	}
	return s.Render.Page(w, r, http.StatusOK, "opd/home.html", data)
}

type bookPage struct {
	page
	web.Form
	Hospitals   []Hospital
	Hospital    *Hospital
	Departments []Department
	Department  *Department
	Days        []dayChoice
	Day         string
	Sessions    []sessionChoice
	Patients    []Patient
	SignedIn    bool
	CanBook     bool
	Window      string
}

type dayChoice struct {
	Day  string
	Free int
	Open bool
}

// Date is the day as a time (for weekday names).
func (d dayChoice) Date() time.Time { t, _ := ParseDay(d.Day); return t }

type sessionChoice struct {
	Session Session
	Reason  string // why it cannot be booked, or ""
}

func (s *Service) bookForm(w http.ResponseWriter, r *http.Request) error {
	f := &web.Form{Values: map[string]string{"idempotency_key": idem.NewFormKey()}}
	return s.renderBook(w, r, http.StatusOK, f)
}

func (s *Service) renderBook(w http.ResponseWriter, r *http.Request, status int, f *web.Form) error {
	ctx := r.Context()
	now := s.now()
	q := r.URL.Query()
	data := &bookPage{Form: *f}
	var err error
	if data.Hospitals, err = s.Hospitals(ctx, true); err != nil {
		return err
	}
	hid, _ := strconv.ParseInt(q.Get("hospital"), 10, 64)
	if hid == 0 && len(data.Hospitals) == 1 {
		hid = data.Hospitals[0].ID
	}
	for i := range data.Hospitals {
		if data.Hospitals[i].ID == hid {
			data.Hospital = &data.Hospitals[i]
		}
	}
	if p := auth.PrincipalOf(r); p != nil {
		data.SignedIn = true
		data.CanBook = p.Can(PermBook)
		if data.CanBook {
			if data.Patients, err = s.Patients(ctx, p.ID); err != nil {
				return err
			}
		}
	}
	if data.Hospital == nil {
		return s.Render.Page(w, r, status, "opd/book.html", data)
	}
	h := *data.Hospital
	if data.Departments, err = s.Departments(ctx, h.ID, true); err != nil {
		return err
	}
	did, _ := strconv.ParseInt(q.Get("department"), 10, 64)
	for i := range data.Departments {
		if data.Departments[i].ID == did {
			data.Department = &data.Departments[i]
		}
	}
	today, _ := ParseDay(Today(now))
	last := today.AddDate(0, 0, h.BookDaysAhead)
	data.Window = last.Format("02-01-2006")
	if data.Department == nil {
		return s.Render.Page(w, r, status, "opd/book.html", data)
	}
	sessions, err := s.Sessions(ctx, SessionFilter{DepartmentID: data.Department.ID, From: today.Format(DayLayout), To: last.Format(DayLayout)})
	if err != nil {
		return err
	}
	byDay := map[string]*dayChoice{}
	for _, x := range sessions {
		dc := byDay[x.Day]
		if dc == nil {
			data.Days = append(data.Days, dayChoice{Day: x.Day})
			dc = &data.Days[len(data.Days)-1]
			byDay[x.Day] = dc
		}
		if x.Bookable(now) == "" {
			dc.Open = true
			dc.Free += x.OnlineFree()
		}
	}
	data.Day = q.Get("day")
	if data.Day == "" {
		for _, d := range data.Days {
			if d.Open {
				data.Day = d.Day
				break
			}
		}
	}
	for _, x := range sessions {
		if x.Day == data.Day {
			data.Sessions = append(data.Sessions, sessionChoice{Session: x, Reason: x.Bookable(now)})
		}
	}
	if data.Form.Values["session_id"] == "" {
		for _, c := range data.Sessions {
			if c.Reason == "" {
				data.Form.Values["session_id"] = strconv.FormatInt(c.Session.ID, 10)
				break
			}
		}
	}
	return s.Render.Page(w, r, status, "opd/book.html", data)
}

// bookPost books from the form.
func (s *Service) bookPost(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "session_id", "patient_id", "idempotency_key")
	p := auth.PrincipalOf(r)
	sid, _ := strconv.ParseInt(f.Values["session_id"], 10, 64)
	pid, _ := strconv.ParseInt(f.Values["patient_id"], 10, 64)
	fields := &web.Fields{}
	if sid <= 0 {
		fields.Add("session_id", "opd.session_pick")
	}
	if pid <= 0 {
		fields.Add("patient_id", "opd.patient_pick")
	}
	key, _, err := idem.FromRequest(r, []byte("session="+f.Values["session_id"]+"&patient="+f.Values["patient_id"]))
	if err != nil {
		return err
	}
	if err := fields.Err(); err == nil {
		res, err := s.BookOnline(r.Context(), p.ID, sid, pid, keyPtr(key), func(b Booking) (idem.Response, error) {
			return idem.Response{Status: http.StatusSeeOther, ContentType: "text/plain", Body: []byte(bookingURL(b.ID) + "?done=booked")}, nil
		})
		if err == nil {
			next := bookingURL(res.Booking.ID) + "?done=booked"
			if res.Replay != nil {
				next = string(res.Replay.Body)
				if !strings.HasPrefix(next, "/opd/bookings/") {
					return idem.ErrMismatch
				}
			}
			http.Redirect(w, r, next, http.StatusSeeOther)
			return nil
		}
		e := web.AsError(err)
		if e.Status >= 500 || errors.Is(err, db.ErrNotFound) {
			return err
		}
		fields = e.Fields
		if fields == nil {
			fields = &web.Fields{}
			field := "session_id"
			if e.Code == "patient_not_found" || e.Code == "already_booked" {
				field = "patient_id"
			}
			fields.Add(field, e.Key, e.Args...)
		}
		f.Errors = fields
		f.Values["idempotency_key"] = idem.NewFormKey()
		return s.renderBook(w, r, e.Status, f)
	}
	f.Errors = fields
	return s.renderBook(w, r, http.StatusUnprocessableEntity, f)
}

func bookingURL(id int64) string { return "/opd/bookings/" + strconv.FormatInt(id, 10) }

type bookingPage struct {
	page
	Booking   Booking
	Notice    string
	CanCancel bool
}

func (s *Service) bookingView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, err := s.OwnBooking(r.Context(), auth.PrincipalOf(r).ID, id)
	if err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "opd/booking.html", &bookingPage{Booking: b, Notice: r.URL.Query().Get("done"),
		CanCancel: b.Status == StatusBooked && s.now().Before(b.StartsAt)})
}

type bookingsPage struct {
	page
	Bookings []Booking
}

func (s *Service) bookingsList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Bookings(r.Context(), BookingFilter{AccountID: auth.PrincipalOf(r).ID})
	if err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "opd/bookings.html", &bookingsPage{Bookings: list})
}
