// Package opd is e-OPD: hospital OPD registration. Hospitals publish OPD
// sessions (a department on a day, an optional doctor, an online capacity
// and a separate counter quota), generated from weekly templates and closed
// on holidays. Citizens book a session for themselves or a family member
// and get a token number, a reference number, a hospital patient id (UHID)
// and a printable OPD card with a signed QR code. Counter staff check
// patients in, register walk-ins into the counter quota, call them and mark
// no-shows; a display board shows who is being served. A FHIR R4 API
// (Schedule, Slot, Appointment, Patient) serves other hospital systems.
//
// Bookings go through one writer (booker.go) that commits many of them in
// one transaction, so that an opening surge is absorbed with every booking
// durable before it is acknowledged.
package opd

import (
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/docs"
	"mizogov/internal/notify"
	"mizogov/internal/web"
)

// Permissions.
const (
	PermBook    = "opd.book"    // book for oneself and one's family
	PermCounter = "opd.counter" // the counter of a hospital: queue, check-in, walk-ins
	PermManage  = "opd.manage"  // a hospital's departments, doctors, templates, holidays, sessions
)

// RoleCounter is the role of hospital counter staff.
const RoleCounter = "opd_counter"

// RefService is the reference-number service code of bookings.
const RefService = "OPD"

// Booking statuses. A booking moves forward only: booked → checked_in →
// in_consultation → done, or to no_show or cancelled.
const (
	StatusBooked         = "booked"
	StatusCheckedIn      = "checked_in"
	StatusInConsultation = "in_consultation"
	StatusDone           = "done"
	StatusNoShow         = "no_show"
	StatusCancelled      = "cancelled"
)

// Statuses lists the booking statuses in queue order.
var Statuses = []string{StatusBooked, StatusCheckedIn, StatusInConsultation, StatusDone, StatusNoShow, StatusCancelled}

// Channels a place is taken through.
const (
	ChannelOnline  = "online"
	ChannelCounter = "counter"
)

// Relations of a patient to the account that books for them.
var Relations = []string{"self", "spouse", "child", "parent", "sibling", "other"}

// Sexes, as FHIR's administrative gender has them.
var Sexes = []string{"female", "male", "other"}

// IST is the zone of every hospital day.
var IST = web.IST

// DayLayout is how days are written and kept: 2026-11-27, in IST.
const DayLayout = "2006-01-02"

// Hospital is a hospital that runs OPD registration.
type Hospital struct {
	ID              int64  `json:"id"`
	Code            string `json:"code"`
	Name            string `json:"name"`
	NameLus         string `json:"name_lus"`
	DepartmentID    int64  `json:"-"` // the government department it belongs to, for jurisdiction
	DistrictID      int64  `json:"district_id"`
	Address         string `json:"address"`
	Phone           string `json:"phone,omitempty"`
	BookDaysAhead   int    `json:"book_days_ahead" doc:"Booking for a day opens this many days before it"`
	BookOpensMinute int    `json:"book_opens_minute" doc:"…at this minute of the day, IST (480 = 08:00)"`
	PlanDaysAhead   int    `json:"-"`
	Active          bool   `json:"-"`
}

// OpensAt is when online booking for day opens.
func (h Hospital) OpensAt(day time.Time) time.Time {
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, IST)
	return d.AddDate(0, 0, -h.BookDaysAhead).Add(time.Duration(h.BookOpensMinute) * time.Minute)
}

// OpensClock is the time of day booking opens, as 08:00.
func (h Hospital) OpensClock() string { return Clock(h.BookOpensMinute) }

// Department is a clinical department of a hospital (Medicine, Surgery …).
type Department struct {
	ID         int64  `json:"id"`
	HospitalID int64  `json:"hospital_id"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	NameLus    string `json:"name_lus"`
	Room       string `json:"room"`
	Active     bool   `json:"active"`
}

// Doctor is a doctor of a department.
type Doctor struct {
	ID            int64  `json:"id"`
	DepartmentID  int64  `json:"department_id"`
	Name          string `json:"name"`
	Qualification string `json:"qualification"`
	Active        bool   `json:"active"`
}

// Template is a weekly OPD session: a weekday, hours and places.
type Template struct {
	ID             int64  `json:"id"`
	DepartmentID   int64  `json:"department_id"`
	DoctorID       int64  `json:"doctor_id,omitempty"`
	Weekday        int    `json:"weekday"` // 0 Sunday … 6 Saturday
	StartMinute    int    `json:"start_minute"`
	EndMinute      int    `json:"end_minute"`
	OnlineCapacity int    `json:"online_capacity"`
	CounterQuota   int    `json:"counter_quota"`
	Active         bool   `json:"active"`
	DoctorName     string `json:"-"`
	DepartmentName string `json:"-"`
}

// Hours is the template's time of day, as 09:00–13:00.
func (t Template) Hours() string { return Clock(t.StartMinute) + "–" + Clock(t.EndMinute) }

// Holiday closes a hospital's OPD for a day.
type Holiday struct {
	HospitalID int64  `json:"hospital_id"`
	Day        string `json:"day"`
	Name       string `json:"name"`
}

// Session is one OPD session: a department (and maybe a doctor) on a day.
type Session struct {
	ID             int64     `json:"id"`
	HospitalID     int64     `json:"hospital_id"`
	DepartmentID   int64     `json:"department_id"`
	DoctorID       int64     `json:"doctor_id,omitempty"`
	TemplateID     int64     `json:"-"`
	Day            string    `json:"day" doc:"YYYY-MM-DD, India Standard Time"`
	StartsAt       time.Time `json:"starts_at"`
	EndsAt         time.Time `json:"ends_at"`
	OpensAt        time.Time `json:"booking_opens_at"`
	OnlineCapacity int       `json:"online_capacity"`
	CounterQuota   int       `json:"counter_quota"`
	OnlineBooked   int       `json:"online_booked"`
	CounterBooked  int       `json:"counter_booked"`
	LastToken      int       `json:"last_token"`
	Status         string    `json:"status" enum:"open,closed"`
	ClosedReason   string    `json:"closed_reason,omitempty"`
	DepartmentName string    `json:"department_name"`
	DepartmentLus  string    `json:"department_name_lus"`
	DoctorName     string    `json:"doctor_name,omitempty"`
	HospitalName   string    `json:"hospital_name"`
}

// OnlineFree is the number of online places left.
func (s Session) OnlineFree() int { return max(0, s.OnlineCapacity-s.OnlineBooked) }

// CounterFree is the number of counter places left.
func (s Session) CounterFree() int { return max(0, s.CounterQuota-s.CounterBooked) }

// Bookable says why the session cannot be booked online at now ("" if it can).
func (s Session) Bookable(now time.Time) string {
	switch {
	case s.Status != "open":
		return "opd.session_closed"
	case now.Before(s.OpensAt):
		return "opd.not_open_yet"
	case !now.Before(s.StartsAt):
		return "opd.booking_over"
	case s.OnlineBooked >= s.OnlineCapacity:
		return "opd.session_full"
	}
	return ""
}

// Date is the session's day as a time (for weekday names).
func (s Session) Date() time.Time { d, _ := ParseDay(s.Day); return d }

// Hours is the session's time of day, as 09:00–13:00.
func (s Session) Hours() string {
	return s.StartsAt.In(IST).Format("15:04") + "–" + s.EndsAt.In(IST).Format("15:04")
}

// Patient is someone who can be booked for: the account holder, a family
// member, or a walk-in registered at the counter.
type Patient struct {
	ID        int64     `json:"id"`
	AccountID int64     `json:"-"`
	Relation  string    `json:"relation" enum:"self,spouse,child,parent,sibling,other,walkin"`
	Name      string    `json:"name"`
	Sex       string    `json:"sex" enum:"female,male,other"`
	BirthYear int       `json:"birth_year"`
	Phone     string    `json:"phone,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Age is the patient's age in years in the year of now.
func (p Patient) Age(now time.Time) int { return now.In(IST).Year() - p.BirthYear }

// Booking is a place in a session with its token.
type Booking struct {
	ID            int64      `json:"id"`
	Refno         string     `json:"refno"`
	SessionID     int64      `json:"session_id"`
	DepartmentID  int64      `json:"department_id"`
	Day           string     `json:"day"`
	PatientID     int64      `json:"patient_id"`
	BookedBy      int64      `json:"-"`
	Channel       string     `json:"channel" enum:"online,counter"`
	Token         int        `json:"token"`
	Status        string     `json:"status" enum:"booked,checked_in,in_consultation,done,no_show,cancelled"`
	CreatedAt     time.Time  `json:"created_at"`
	CheckedInAt   *time.Time `json:"checked_in_at"`
	CalledAt      *time.Time `json:"called_at"`
	DoneAt        *time.Time `json:"done_at"`
	CancelledAt   *time.Time `json:"cancelled_at"`
	CancelReason  string     `json:"cancel_reason,omitempty"`
	UHID          string     `json:"uhid"`
	PatientName   string     `json:"patient_name"`
	PatientSex    string     `json:"patient_sex"`
	PatientBorn   int        `json:"patient_birth_year"`
	AccountID     int64      `json:"-"`
	HospitalID    int64      `json:"hospital_id"`
	HospitalName  string     `json:"hospital_name"`
	DepartmentNm  string     `json:"department_name"`
	DepartmentLus string     `json:"department_name_lus"`
	Room          string     `json:"room"`
	DoctorName    string     `json:"doctor_name,omitempty"`
	StartsAt      time.Time  `json:"starts_at"`
	EndsAt        time.Time  `json:"ends_at"`
	DistrictID    int64      `json:"-"`
	HospitalDept  int64      `json:"-"`
}

// Hours is the session's time of day, as 09:00–13:00.
func (b Booking) Hours() string {
	return b.StartsAt.In(IST).Format("15:04") + "–" + b.EndsAt.In(IST).Format("15:04")
}

// Active reports whether the booking still holds its place.
func (b Booking) Active() bool { return b.Status != StatusCancelled }

// Service is e-OPD.
type Service struct {
	DB      *db.DB
	Audit   *audit.Log
	Notify  *notify.Service
	Render  *web.Renderer
	Log     *slog.Logger
	Now     func() time.Time
	Docs    *docs.Service // signs the OPD cards
	Booker  *Booker
	BaseURL string

	display  sync.Map // session id → sessionDisplay
	displayN atomic.Int64
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// page is embedded in every page's data: it gives the templates the
// stylesheet's address.
type page struct{}

// CSS is the versioned address of the e-OPD stylesheet.
func (page) CSS() string { return CSSURL() }

// Today is the current hospital day (IST) at now.
func Today(now time.Time) string { return now.In(IST).Format(DayLayout) }

// ParseDay reads a YYYY-MM-DD day.
func ParseDay(s string) (time.Time, bool) {
	t, err := time.ParseInLocation(DayLayout, s, IST)
	return t, err == nil && t.Format(DayLayout) == s
}

// At is minute m of day, as an instant.
func At(day time.Time, m int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, IST).Add(time.Duration(m) * time.Minute)
}

// Clock formats a minute of the day as 09:30.
func Clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// ParseClock reads 09:30 as a minute of the day.
func ParseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed i18n/*.json
var messagesFS embed.FS

//go:embed notify/*.txt
var notifyFS embed.FS

//go:embed assets/opd.css
var cssFile []byte

// Templates are the e-OPD pages.
func Templates() fs.FS { sub, _ := fs.Sub(templatesFS, "templates"); return sub }

// Messages are the e-OPD strings in English and Mizo.
func Messages() fs.FS { sub, _ := fs.Sub(messagesFS, "i18n"); return sub }

// NotifyTemplates are the e-OPD SMS and email messages.
func NotifyTemplates() fs.FS { sub, _ := fs.Sub(notifyFS, "notify"); return sub }
