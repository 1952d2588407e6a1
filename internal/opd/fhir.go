package opd

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/idem"
	"mizogov/internal/web"
)

// FHIR R4 at /fhir/r4: the OPD's departments as Schedules, its sessions as
// Slots (a slot holds up to its capacity of appointments), bookings as
// Appointments, and one's own family as Patients. Every answer is
// application/fhir+json; every error is an OperationOutcome.

// FHIRBase is the path of the FHIR endpoint.
const FHIRBase = "/fhir/r4"

// FHIRMime is the FHIR JSON media type.
const FHIRMime = "application/fhir+json"

// Identifier systems of this server.
const (
	SystemRefno = "urn:mizogov:opd:refno"
	SystemToken = "urn:mizogov:opd:token"
	SystemUHID  = "urn:mizogov:opd:uhid"
)

// FHIR types (only the elements this server uses).
type (
	fhirCoding struct {
		System  string `json:"system,omitempty"`
		Code    string `json:"code,omitempty"`
		Display string `json:"display,omitempty"`
	}
	fhirConcept struct {
		Coding []fhirCoding `json:"coding,omitempty"`
		Text   string       `json:"text,omitempty"`
	}
	fhirReference struct {
		Reference string `json:"reference,omitempty"`
		Display   string `json:"display,omitempty"`
	}
	fhirIdentifier struct {
		System string `json:"system,omitempty"`
		Value  string `json:"value,omitempty"`
	}
	fhirPeriod struct {
		Start string `json:"start,omitempty"`
		End   string `json:"end,omitempty"`
	}
	fhirMeta struct {
		LastUpdated string `json:"lastUpdated,omitempty"`
	}
)

// FHIRSchedule is a department's availability.
type FHIRSchedule struct {
	ResourceType    string           `json:"resourceType"`
	ID              string           `json:"id"`
	Identifier      []fhirIdentifier `json:"identifier,omitempty"`
	Active          bool             `json:"active"`
	ServiceType     []fhirConcept    `json:"serviceType,omitempty"`
	Actor           []fhirReference  `json:"actor"`
	PlanningHorizon *fhirPeriod      `json:"planningHorizon,omitempty"`
	Comment         string           `json:"comment,omitempty"`
}

// FHIRSlot is an OPD session.
type FHIRSlot struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	ServiceType  []fhirConcept `json:"serviceType,omitempty"`
	Schedule     fhirReference `json:"schedule"`
	Status       string        `json:"status"`
	Start        string        `json:"start"`
	End          string        `json:"end"`
	Overbooked   bool          `json:"overbooked"`
	Comment      string        `json:"comment,omitempty"`
}

// FHIRParticipant is one participant of an appointment.
type FHIRParticipant struct {
	Actor    *fhirReference `json:"actor,omitempty"`
	Required string         `json:"required,omitempty"`
	Status   string         `json:"status"`
}

// FHIRAppointment is a booking.
type FHIRAppointment struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id,omitempty"`
	Meta              *fhirMeta         `json:"meta,omitempty"`
	Identifier        []fhirIdentifier  `json:"identifier,omitempty"`
	Status            string            `json:"status"`
	CancelationReason *fhirConcept      `json:"cancelationReason,omitempty"`
	ServiceType       []fhirConcept     `json:"serviceType,omitempty"`
	AppointmentType   *fhirConcept      `json:"appointmentType,omitempty"`
	Description       string            `json:"description,omitempty"`
	Start             string            `json:"start,omitempty"`
	End               string            `json:"end,omitempty"`
	Created           string            `json:"created,omitempty"`
	Slot              []fhirReference   `json:"slot,omitempty"`
	Participant       []FHIRParticipant `json:"participant"`
}

type fhirName struct {
	Text string `json:"text"`
}

// FHIRPatient is one's own patient.
type FHIRPatient struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	Identifier   []fhirIdentifier `json:"identifier,omitempty"`
	Active       bool             `json:"active"`
	Name         []fhirName       `json:"name"`
	Gender       string           `json:"gender"`
	BirthDate    string           `json:"birthDate"`
}

type fhirBundleEntry struct {
	FullURL  string `json:"fullUrl"`
	Resource any    `json:"resource"`
	Search   struct {
		Mode string `json:"mode"`
	} `json:"search"`
}

type fhirLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type fhirBundle struct {
	ResourceType string            `json:"resourceType"`
	Type         string            `json:"type"`
	Total        int               `json:"total"`
	Link         []fhirLink        `json:"link"`
	Entry        []fhirBundleEntry `json:"entry,omitempty"`
}

// AppointmentStatuses are FHIR R4's appointment status codes.
var AppointmentStatuses = []string{"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error", "checked-in", "waitlist"}

// fhirStatus maps a booking status to FHIR's AppointmentStatus. Our
// check-in at the counter is the patient's arrival; being called in is
// FHIR's checked-in ("the encounter may begin").
var fhirStatus = map[string]string{
	StatusBooked: "booked", StatusCheckedIn: "arrived", StatusInConsultation: "checked-in",
	StatusDone: "fulfilled", StatusNoShow: "noshow", StatusCancelled: "cancelled",
}

func fhirTime(t time.Time) string { return t.In(IST).Format("2006-01-02T15:04:05-07:00") }

// FHIROutcome writes an OperationOutcome: the route's error format.
func (s *Service) FHIROutcome(w http.ResponseWriter, r *http.Request, e *web.Error, msg string) {
	code := "processing"
	switch {
	case e.Status == http.StatusUnauthorized:
		code = "login"
		w.Header().Set("WWW-Authenticate", `Bearer realm="mizogov"`)
	case e.Status == http.StatusForbidden:
		code = "forbidden"
	case e.Status == http.StatusNotFound:
		code = "not-found"
	case e.Status == http.StatusMethodNotAllowed, e.Status == http.StatusUnsupportedMediaType, e.Status == http.StatusNotAcceptable:
		code = "not-supported"
	case e.Status == http.StatusConflict:
		code = "conflict"
		if e.Code != "conflict" && e.Code != "idempotency_key_reused" {
			code = "business-rule"
		}
	case e.Status == http.StatusRequestEntityTooLarge:
		code = "too-costly"
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusServiceUnavailable:
		code = "throttled"
	case e.Status >= 500:
		code = "exception"
	case e.Status == http.StatusBadRequest:
		code = "invalid"
		if strings.HasPrefix(e.Code, "invalid_json") || e.Code == "unknown_field" {
			code = "structure"
		}
	case e.Status == http.StatusUnprocessableEntity:
		code = "invalid"
	}
	type issue struct {
		Severity    string   `json:"severity"`
		Code        string   `json:"code"`
		Details     any      `json:"details,omitempty"`
		Diagnostics string   `json:"diagnostics,omitempty"`
		Expression  []string `json:"expression,omitempty"`
	}
	out := struct {
		ResourceType string  `json:"resourceType"`
		Issue        []issue `json:"issue"`
	}{ResourceType: "OperationOutcome"}
	if e.Fields != nil && len(e.Fields.List) > 0 {
		for _, f := range e.Fields.List {
			out.Issue = append(out.Issue, issue{Severity: "error", Code: code, Diagnostics: s.Render.Cat.T(web.LangOf(r), f.Key, f.Args...),
				Expression: []string{f.Field}, Details: fhirConcept{Coding: []fhirCoding{{System: "urn:mizogov:error", Code: e.Code}}}})
		}
	} else {
		out.Issue = []issue{{Severity: "error", Code: code, Diagnostics: msg,
			Details: fhirConcept{Coding: []fhirCoding{{System: "urn:mizogov:error", Code: e.Code}}}}}
	}
	writeFHIR(w, e.Status, out)
}

func writeFHIR(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", FHIRMime+"; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// fhirFormat refuses a _format other than JSON.
func fhirFormat(r *http.Request) error {
	f := r.URL.Query().Get("_format")
	if f == "" || f == "json" || f == FHIRMime || f == "application/json" {
		return nil
	}
	return web.NewError(http.StatusNotAcceptable, "not_acceptable", "opd.fhir_json_only")
}

func (s *Service) fhirBase(r *http.Request) string {
	if s.BaseURL != "" {
		return strings.TrimSuffix(s.BaseURL, "/") + FHIRBase
	}
	scheme := "http"
	if web.Info(r.Context()).Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host + FHIRBase
}

func (s *Service) fhirMetadata(w http.ResponseWriter, r *http.Request) error {
	if err := fhirFormat(r); err != nil {
		return err
	}
	param := func(name, typ, doc string) map[string]string {
		return map[string]string{"name": name, "type": typ, "documentation": doc}
	}
	interactions := func(codes ...string) []map[string]string {
		var out []map[string]string
		for _, c := range codes {
			out = append(out, map[string]string{"code": c})
		}
		return out
	}
	doc := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         "2026-11-27",
		"publisher":    "Government of Mizoram",
		"kind":         "instance",
		"software":     map[string]string{"name": "mizogov e-OPD"},
		"implementation": map[string]string{"description": "e-OPD: OPD registration of Mizoram's hospitals",
			"url": s.fhirBase(r)},
		"fhirVersion": "4.0.1",
		"format":      []string{FHIRMime},
		"rest": []any{map[string]any{
			"mode": "server",
			"security": map[string]any{"description": "Bearer token (Authorization: Bearer …) from /api/v1/auth/otp/verify; " +
				"Schedule and Slot are public, Appointment and Patient are the signed-in citizen's own family's."},
			"resource": []any{
				map[string]any{"type": "Schedule", "interaction": interactions("read", "search-type"),
					"searchParam": []any{param("active", "token", "true: departments taking bookings")}},
				map[string]any{"type": "Slot", "interaction": interactions("read", "search-type"),
					"searchParam": []any{param("schedule", "reference", "Schedule/[id]"),
						param("start", "date", "the session's day or time, with eq, ge, gt, le or lt"),
						param("status", "token", "free, busy or busy-unavailable")}},
				map[string]any{"type": "Appointment", "interaction": interactions("read", "search-type", "create", "update"),
					"conditionalCreate": false, "updateCreate": false,
					"documentation": "create books a Slot for a Patient (Idempotency-Key honoured); update may only set status to cancelled",
					"searchParam": []any{param("patient", "reference", "Patient/[id], one of one's own"),
						param("date", "date", "the appointment's day, with eq, ge, gt, le or lt"),
						param("status", "token", "an AppointmentStatus code")}},
				map[string]any{"type": "Patient", "interaction": interactions("read")},
			},
		}},
	}
	writeFHIR(w, http.StatusOK, doc)
	return nil
}

func (s *Service) fhirScheduleOf(h Hospital, d Department, now time.Time) FHIRSchedule {
	today, _ := ParseDay(Today(now))
	return FHIRSchedule{ResourceType: "Schedule", ID: strconv.FormatInt(d.ID, 10),
		Identifier:  []fhirIdentifier{{System: "urn:mizogov:opd:department", Value: h.Code + "/" + d.Code}},
		Active:      d.Active && h.Active,
		ServiceType: []fhirConcept{{Text: d.Name}},
		Actor:       []fhirReference{{Display: d.Name + ", " + h.Name}},
		PlanningHorizon: &fhirPeriod{Start: today.Format(DayLayout),
			End: today.AddDate(0, 0, h.BookDaysAhead).Format(DayLayout)},
		Comment: d.Room}
}

func (s *Service) fhirScheduleRead(w http.ResponseWriter, r *http.Request) error {
	if err := fhirFormat(r); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.Department(r.Context(), id)
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	h, err := s.Hospital(r.Context(), d.HospitalID)
	if err != nil {
		return err
	}
	writeFHIR(w, http.StatusOK, s.fhirScheduleOf(h, d, s.now()))
	return nil
}

func (s *Service) bundle(r *http.Request, typ string, resources []any, ids []string) fhirBundle {
	base := s.fhirBase(r)
	b := fhirBundle{ResourceType: "Bundle", Type: "searchset", Total: len(resources),
		Link: []fhirLink{{Relation: "self", URL: base + strings.TrimPrefix(r.URL.RequestURI(), FHIRBase)}}}
	for i, res := range resources {
		e := fhirBundleEntry{FullURL: base + "/" + typ + "/" + ids[i], Resource: res}
		e.Search.Mode = "match"
		b.Entry = append(b.Entry, e)
	}
	return b
}

// searchParams refuses parameters this server does not know, as a strict
// FHIR server does, so that a typo never returns everything.
func searchParams(r *http.Request, known ...string) error {
	for k := range r.URL.Query() {
		if strings.HasPrefix(k, "_") && (k == "_format" || k == "_count") {
			continue
		}
		if !slices.Contains(known, k) {
			f := &web.Fields{}
			f.Add(k, "opd.fhir_param_unknown", "name", k)
			e := web.Invalid(f)
			e.Status, e.Code = http.StatusBadRequest, "unknown_parameter"
			return e
		}
	}
	return nil
}

func (s *Service) fhirScheduleSearch(w http.ResponseWriter, r *http.Request) error {
	if err := fhirFormat(r); err != nil {
		return err
	}
	if err := searchParams(r, "active"); err != nil {
		return err
	}
	if a := r.URL.Query().Get("active"); a != "" && a != "true" {
		writeFHIR(w, http.StatusOK, s.bundle(r, "Schedule", nil, nil))
		return nil
	}
	hs, err := s.Hospitals(r.Context(), true)
	if err != nil {
		return err
	}
	now := s.now()
	var res []any
	var ids []string
	for _, h := range hs {
		ds, err := s.Departments(r.Context(), h.ID, true)
		if err != nil {
			return err
		}
		for _, d := range ds {
			res = append(res, s.fhirScheduleOf(h, d, now))
			ids = append(ids, strconv.FormatInt(d.ID, 10))
		}
	}
	writeFHIR(w, http.StatusOK, s.bundle(r, "Schedule", res, ids))
	return nil
}

func slotStatus(x Session, now time.Time) string {
	switch x.Bookable(now) {
	case "":
		return "free"
	case "opd.session_full":
		return "busy"
	}
	return "busy-unavailable"
}

func (s *Service) fhirSlotOf(x Session, now time.Time) FHIRSlot {
	comment := strconv.Itoa(x.OnlineFree()) + " of " + strconv.Itoa(x.OnlineCapacity) + " online places free"
	if x.DoctorName != "" {
		comment = x.DoctorName + " · " + comment
	}
	if x.Status != "open" && x.ClosedReason != "" {
		comment = "closed: " + x.ClosedReason
	} else if now.Before(x.OpensAt) {
		comment += " · booking opens " + fhirTime(x.OpensAt)
	}
	return FHIRSlot{ResourceType: "Slot", ID: strconv.FormatInt(x.ID, 10), ServiceType: []fhirConcept{{Text: x.DepartmentName}},
		Schedule: fhirReference{Reference: "Schedule/" + strconv.FormatInt(x.DepartmentID, 10)}, Status: slotStatus(x, now),
		Start: fhirTime(x.StartsAt), End: fhirTime(x.EndsAt), Overbooked: false, Comment: comment}
}

func (s *Service) fhirSlotRead(w http.ResponseWriter, r *http.Request) error {
	if err := fhirFormat(r); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	x, err := s.Session(r.Context(), id)
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	writeFHIR(w, http.StatusOK, s.fhirSlotOf(x, s.now()))
	return nil
}

// dateRange is a FHIR date search: instants from (inclusive) to (exclusive).
type dateRange struct{ from, to time.Time }

// parseDateParams reads FHIR date parameters (eq, ge, gt, le, lt; a day or
// a dateTime) into one range. Several are ANDed.
func parseDateParams(name string, values []string, def dateRange) (dateRange, error) {
	rg := def
	for _, v := range values {
		prefix := "eq"
		if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
			prefix, v = v[:2], v[2:]
		}
		var lo, hi time.Time
		if d, ok := ParseDay(v); ok {
			lo, hi = d, d.AddDate(0, 0, 1)
		} else if t, err := time.Parse(time.RFC3339, v); err == nil {
			lo, hi = t, t.Add(time.Second)
		} else {
			return rg, badParam(name)
		}
		switch prefix {
		case "eq":
			rg.from, rg.to = maxTime(rg.from, lo), minTime(rg.to, hi)
		case "ge":
			rg.from = maxTime(rg.from, lo)
		case "gt":
			rg.from = maxTime(rg.from, hi)
		case "le":
			rg.to = minTime(rg.to, hi)
		case "lt":
			rg.to = minTime(rg.to, lo)
		default:
			return rg, badParam(name)
		}
	}
	return rg, nil
}

func badParam(name string) error {
	f := &web.Fields{}
	f.Add(name, "opd.fhir_param_invalid", "name", name)
	e := web.Invalid(f)
	e.Status, e.Code = http.StatusBadRequest, "invalid_parameter"
	return e
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (s *Service) fhirSlotSearch(w http.ResponseWriter, r *http.Request) error {
	if err := fhirFormat(r); err != nil {
		return err
	}
	if err := searchParams(r, "schedule", "start", "status"); err != nil {
		return err
	}
	q := r.URL.Query()
	now := s.now()
	today, _ := ParseDay(Today(now))
	rg, err := parseDateParams("start", q["start"], dateRange{from: today, to: today.AddDate(0, 0, 15)})
	if err != nil {
		return err
	}
	if rg.to.Sub(rg.from) > 62*24*time.Hour {
		rg.to = rg.from.AddDate(0, 0, 62)
	}
	f := SessionFilter{From: rg.from.In(IST).Format(DayLayout), To: rg.to.In(IST).Format(DayLayout)}
	if sch := q.Get("schedule"); sch != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(sch, "Schedule/"), 10, 64)
		if err != nil || id <= 0 {
			return badParam("schedule")
		}
		f.DepartmentID = id
	}
	statuses := q["status"]
	for _, st := range statuses {
		for _, one := range strings.Split(st, ",") {
			if !slices.Contains([]string{"free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error"}, one) {
				return badParam("status")
			}
		}
	}
	var res []any
	var ids []string
	if rg.from.Before(rg.to) {
		list, err := s.Sessions(r.Context(), f)
		if err != nil {
			return err
		}
		for _, x := range list {
			if x.StartsAt.Before(rg.from) || !x.StartsAt.Before(rg.to) {
				continue
			}
			sl := s.fhirSlotOf(x, now)
			if len(statuses) > 0 && !statusMatch(statuses, sl.Status) {
				continue
			}
			res = append(res, sl)
			ids = append(ids, sl.ID)
		}
	}
	writeFHIR(w, http.StatusOK, s.bundle(r, "Slot", res, ids))
	return nil
}

func statusMatch(params []string, status string) bool {
	for _, p := range params {
		if slices.Contains(strings.Split(p, ","), status) {
			return true
		}
	}
	return false
}

func (s *Service) fhirAppointmentOf(b Booking) FHIRAppointment {
	a := FHIRAppointment{ResourceType: "Appointment", ID: strconv.FormatInt(b.ID, 10),
		Identifier:  []fhirIdentifier{{System: SystemRefno, Value: b.Refno}, {System: SystemToken, Value: strconv.Itoa(b.Token)}},
		Status:      fhirStatus[b.Status],
		ServiceType: []fhirConcept{{Text: b.DepartmentNm}},
		Description: "Token " + strconv.Itoa(b.Token) + ", " + b.DepartmentNm + ", " + b.HospitalName,
		Start:       fhirTime(b.StartsAt), End: fhirTime(b.EndsAt), Created: fhirTime(b.CreatedAt),
		Slot: []fhirReference{{Reference: "Slot/" + strconv.FormatInt(b.SessionID, 10)}},
		Participant: []FHIRParticipant{
			{Actor: &fhirReference{Reference: "Patient/" + strconv.FormatInt(b.PatientID, 10), Display: b.PatientName}, Required: "required", Status: "accepted"},
			{Actor: &fhirReference{Display: b.DepartmentNm + ", " + b.HospitalName}, Required: "required", Status: "accepted"},
		}}
	if b.Channel == ChannelCounter {
		a.AppointmentType = &fhirConcept{Coding: []fhirCoding{{System: "http://terminology.hl7.org/CodeSystem/v2-0276", Code: "WALKIN", Display: "A previously unscheduled walk-in visit"}}}
	}
	if b.Status == StatusCancelled {
		a.CancelationReason = &fhirConcept{Text: b.CancelReason}
	}
	return a
}

// fhirBooking loads a booking a FHIR caller may see: their own family's, or
// one in an officer's counter jurisdiction.
func (s *Service) fhirBooking(r *http.Request, id int64) (Booking, error) {
	p := auth.PrincipalOf(r)
	b, err := s.Booking(r.Context(), id)
	if errors.Is(err, db.ErrNotFound) {
		return b, web.NotFound()
	}
	if err != nil {
		return b, err
	}
	if (p.Can(PermBook) && b.AccountID == p.ID) || p.CanIn(PermCounter, b.HospitalDept, b.DistrictID) {
		return b, nil
	}
	return Booking{}, web.NotFound()
}

func (s *Service) fhirAppointmentRead(w http.ResponseWriter, r *http.Request) error {
	if err := fhirFormat(r); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, err := s.fhirBooking(r, id)
	if err != nil {
		return err
	}
	writeFHIR(w, http.StatusOK, s.fhirAppointmentOf(b))
	return nil
}

func (s *Service) fhirAppointmentSearch(w http.ResponseWriter, r *http.Request) error {
	if err := fhirFormat(r); err != nil {
		return err
	}
	if err := searchParams(r, "patient", "date", "status"); err != nil {
		return err
	}
	p := auth.PrincipalOf(r)
	if !p.Can(PermBook) {
		return web.Forbidden()
	}
	q := r.URL.Query()
	f := BookingFilter{AccountID: p.ID}
	if pt := q.Get("patient"); pt != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(pt, "Patient/"), 10, 64)
		if err != nil || id <= 0 {
			return badParam("patient")
		}
		if _, err := s.OwnPatient(r.Context(), p.ID, id); err != nil {
			// Someone else's patient: nothing of theirs is shown.
			writeFHIR(w, http.StatusOK, s.bundle(r, "Appointment", nil, nil))
			return nil
		}
		f.PatientID = id
	}
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	rg, err := parseDateParams("date", q["date"], dateRange{to: far})
	if err != nil {
		return err
	}
	for _, st := range q["status"] {
		for _, one := range strings.Split(st, ",") {
			if !slices.Contains(AppointmentStatuses, one) {
				return badParam("status")
			}
		}
	}
	list, err := s.Bookings(r.Context(), f)
	if err != nil {
		return err
	}
	var res []any
	var ids []string
	for _, b := range list {
		if b.StartsAt.Before(rg.from) || !b.StartsAt.Before(rg.to) {
			continue
		}
		a := s.fhirAppointmentOf(b)
		if len(q["status"]) > 0 && !statusMatch(q["status"], a.Status) {
			continue
		}
		res = append(res, a)
		ids = append(ids, a.ID)
	}
	writeFHIR(w, http.StatusOK, s.bundle(r, "Appointment", res, ids))
	return nil
}

// decodeFHIR reads a FHIR JSON resource of the given type. Elements this
// server does not use are allowed (FHIR clients send text, meta …), but the
// body must be one JSON object of the right resourceType.
func decodeFHIR(r *http.Request, typ string, v any) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, FHIRMime) && !strings.HasPrefix(ct, "application/json") {
		return nil, web.NewError(http.StatusUnsupportedMediaType, "unsupported_media_type", "opd.fhir_content_type")
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return nil, web.AsError(err)
	}
	body := buf.Bytes()
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		e := web.BadRequest("error.json_malformed")
		e.Code = "invalid_json"
		return nil, e
	}
	if head.ResourceType != typ {
		f := &web.Fields{}
		f.Add("resourceType", "opd.fhir_wrong_type", "type", typ)
		e := web.Invalid(f)
		e.Status, e.Code = http.StatusBadRequest, "wrong_resource_type"
		return nil, e
	}
	if err := json.Unmarshal(body, v); err != nil {
		e := web.BadRequest("error.json_malformed")
		e.Code = "invalid_json"
		return nil, e
	}
	return body, nil
}

// fhirAppointmentCreate books: the Appointment names one Slot and one of
// the caller's own Patients.
func (s *Service) fhirAppointmentCreate(w http.ResponseWriter, r *http.Request) error {
	var a FHIRAppointment
	body, err := decodeFHIR(r, "Appointment", &a)
	if err != nil {
		return err
	}
	f := &web.Fields{}
	if a.Status == "" || !slices.Contains([]string{"proposed", "pending", "booked"}, a.Status) {
		f.Add("Appointment.status", "opd.fhir_create_status")
	}
	var slot, patient int64
	if len(a.Slot) != 1 || !strings.HasPrefix(a.Slot[0].Reference, "Slot/") {
		f.Add("Appointment.slot", "opd.fhir_one_slot")
	} else if slot, err = strconv.ParseInt(strings.TrimPrefix(a.Slot[0].Reference, "Slot/"), 10, 64); err != nil || slot <= 0 {
		f.Add("Appointment.slot", "opd.fhir_one_slot")
	}
	for _, pt := range a.Participant {
		if pt.Status != "" && !slices.Contains([]string{"accepted", "declined", "tentative", "needs-action"}, pt.Status) {
			f.Add("Appointment.participant.status", "opd.fhir_participant_status")
		}
		if pt.Actor != nil && strings.HasPrefix(pt.Actor.Reference, "Patient/") {
			if patient != 0 {
				f.Add("Appointment.participant", "opd.fhir_one_patient")
			}
			patient, _ = strconv.ParseInt(strings.TrimPrefix(pt.Actor.Reference, "Patient/"), 10, 64)
		}
	}
	if patient <= 0 {
		f.Add("Appointment.participant", "opd.fhir_one_patient")
	}
	if err := f.Err(); err != nil {
		e := web.AsError(err)
		e.Status = http.StatusBadRequest
		return e
	}
	key, _, err := idem.FromRequest(r, body)
	if err != nil {
		return err
	}
	res, err := s.BookOnline(r.Context(), auth.PrincipalOf(r).ID, slot, patient, keyPtr(key), func(b Booking) (idem.Response, error) {
		out, err := json.Marshal(s.fhirAppointmentOf(b))
		return idem.Response{Status: http.StatusCreated, ContentType: FHIRMime + "; charset=utf-8", Body: append(out, '\n')}, err
	})
	if err != nil {
		return err
	}
	if res.Replay != nil {
		idem.Replay(w, res.Replay)
		return nil
	}
	w.Header().Set("Location", s.fhirBase(r)+"/Appointment/"+strconv.FormatInt(res.Booking.ID, 10))
	writeFHIR(w, http.StatusCreated, s.fhirAppointmentOf(res.Booking))
	return nil
}

// fhirAppointmentUpdate cancels: the only change allowed is the status to
// cancelled.
func (s *Service) fhirAppointmentUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var a FHIRAppointment
	if _, err := decodeFHIR(r, "Appointment", &a); err != nil {
		return err
	}
	p := auth.PrincipalOf(r)
	b, err := s.OwnBooking(r.Context(), p.ID, id)
	if err != nil {
		return err
	}
	f := &web.Fields{}
	if a.ID != strconv.FormatInt(id, 10) {
		f.Add("Appointment.id", "opd.fhir_id_mismatch")
	}
	if !slices.Contains(AppointmentStatuses, a.Status) {
		f.Add("Appointment.status", "opd.fhir_status_invalid")
	}
	if err := f.Err(); err != nil {
		e := web.AsError(err)
		e.Status = http.StatusBadRequest
		return e
	}
	switch {
	case a.Status == fhirStatus[b.Status]:
		// Nothing changes: answer with the resource as it is.
	case a.Status == "cancelled":
		if b, err = s.Cancel(r.Context(), p, id); err != nil {
			return err
		}
	default:
		return refusal("update_not_allowed", "opd.fhir_only_cancel")
	}
	writeFHIR(w, http.StatusOK, s.fhirAppointmentOf(b))
	return nil
}

func (s *Service) fhirPatientRead(w http.ResponseWriter, r *http.Request) error {
	if err := fhirFormat(r); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := s.OwnPatient(r.Context(), auth.PrincipalOf(r).ID, id)
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	uhids, err := s.UHIDs(r.Context(), p.ID)
	if err != nil {
		return err
	}
	out := FHIRPatient{ResourceType: "Patient", ID: strconv.FormatInt(p.ID, 10), Active: true, Name: []fhirName{{Text: p.Name}},
		Gender: p.Sex, BirthDate: strconv.Itoa(p.BirthYear)}
	var hs []int64
	for h := range uhids {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	for _, h := range hs {
		out.Identifier = append(out.Identifier, fhirIdentifier{System: SystemUHID, Value: uhids[h]})
	}
	writeFHIR(w, http.StatusOK, out)
	return nil
}

// fhirUnknown answers every other path and method under /fhir/r4.
func (s *Service) fhirUnknown(w http.ResponseWriter, r *http.Request) error {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, FHIRBase), "/")
	typ, _, _ := strings.Cut(rest, "/")
	if slices.Contains([]string{"metadata", "Schedule", "Slot", "Appointment", "Patient"}, typ) {
		return web.NewError(http.StatusMethodNotAllowed, "method_not_allowed", "opd.fhir_method")
	}
	return web.NotFound()
}
