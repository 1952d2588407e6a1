package opd

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"mizogov/internal/web"
)

// Routes lists every route of e-OPD with the permission it needs.
func (s *Service) Routes() []web.Route {
	fhir := s.FHIROutcome
	const tag = "opd"
	routes := []web.Route{
		// Citizens.
		{Pattern: "GET /opd", Perm: web.Public, Handler: s.home},
		{Pattern: "GET /opd/book", Perm: web.Public, Handler: s.bookForm},
		{Pattern: "POST /opd/book", Perm: PermBook, Handler: s.bookPost},
		{Pattern: "GET /opd/patients", Perm: PermBook, Handler: s.patientsPage},
		{Pattern: "POST /opd/patients", Perm: PermBook, Handler: s.patientAdd},
		{Pattern: "GET /opd/bookings", Perm: PermBook, Handler: s.bookingsList},
		{Pattern: "GET /opd/bookings/{id}", Perm: PermBook, Handler: s.bookingView},
		{Pattern: "POST /opd/bookings/{id}/cancel", Perm: PermBook, Handler: s.cancelPost},
		{Pattern: "GET /opd/bookings/{id}/card", Perm: PermBook, Handler: s.cardPage},
		{Pattern: "GET /opd/card/verify", Perm: web.Public, Handler: s.cardVerify},
		{Pattern: "GET /opd/board/{hospital}", Perm: web.Public, Handler: s.board},
		{Pattern: "GET /opd/assets/opd.css", Perm: web.Public, Handler: s.css},

		// Hospital counters.
		{Pattern: "GET /opd/counter", Perm: PermCounter, Handler: s.counterIndex},
		{Pattern: "GET /opd/counter/{dept}", Perm: PermCounter, Handler: s.counterQueue},
		{Pattern: "POST /opd/counter/{dept}/checkin", Perm: PermCounter, Handler: s.counterCheckin},
		{Pattern: "POST /opd/counter/{dept}/walkin", Perm: PermCounter, Handler: s.counterWalkin},
		{Pattern: "POST /opd/counter/sessions/{session}/next", Perm: PermCounter, Handler: s.counterCallNext},
		{Pattern: "POST /opd/counter/bookings/{id}/{action}", Perm: PermCounter, Handler: s.counterMove},

		// Hospital administration.
		{Pattern: "GET /opd/manage", Perm: PermManage, Handler: s.manageIndex},
		{Pattern: "GET /opd/manage/{hospital}", Perm: PermManage, Handler: s.managePage},
		{Pattern: "POST /opd/manage/{hospital}/{action}", Perm: PermManage, Handler: s.manageAction},

		// JSON API.
		{Pattern: "GET /api/v1/opd/hospitals", Perm: web.Public, Handler: s.apiHospitals, API: &web.APIDoc{Tag: tag,
			Summary: "Hospitals that take OPD bookings", Response: []Hospital{}}},
		{Pattern: "GET /api/v1/opd/hospitals/{id}/departments", Perm: web.Public, Handler: s.apiDepartments, API: &web.APIDoc{Tag: tag,
			Summary: "A hospital's OPD departments", Response: []Department{}}},
		{Pattern: "GET /api/v1/opd/sessions", Perm: web.Public, Handler: s.apiSessions, API: &web.APIDoc{Tag: tag,
			Summary: "A department's OPD sessions with the places left", Response: []SessionOut{}, Query: []web.Param{
				{Name: "department", Type: "integer", Required: true, Description: "department id"},
				{Name: "from", Description: "first day, YYYY-MM-DD (default today)"},
				{Name: "to", Description: "last day, YYYY-MM-DD (default 14 days on; at most 62 days)"}}}},
		{Pattern: "GET /api/v1/opd/patients", Perm: PermBook, Handler: s.apiPatients, API: &web.APIDoc{Tag: tag,
			Summary: "The patients this account books for (oneself and family) with their hospital ids", Response: []PatientOut{}}},
		{Pattern: "POST /api/v1/opd/patients", Perm: PermBook, Handler: s.apiPatientAdd, API: &web.APIDoc{Tag: tag,
			Summary: "Add oneself (relation self) or a family member", Request: NewPatient{}, Response: Patient{}, Status: http.StatusCreated, Idempotent: true}},
		{Pattern: "GET /api/v1/opd/bookings", Perm: PermBook, Handler: s.apiBookings, API: &web.APIDoc{Tag: tag,
			Summary: "This account's bookings, newest first", Response: []Booking{}}},
		{Pattern: "POST /api/v1/opd/bookings", Perm: PermBook, Handler: s.apiBook, API: &web.APIDoc{Tag: tag,
			Summary: "Book a place in a session for one's own patient; 409 when full, closed, not open yet or already booked that day",
			Request: BookRequestBody{}, Response: Booking{}, Status: http.StatusCreated, Idempotent: true}},
		{Pattern: "GET /api/v1/opd/bookings/{id}", Perm: PermBook, Handler: s.apiBooking, API: &web.APIDoc{Tag: tag,
			Summary: "One of this account's bookings", Response: Booking{}}},
		{Pattern: "POST /api/v1/opd/bookings/{id}/cancel", Perm: PermBook, Handler: s.apiCancel, API: &web.APIDoc{Tag: tag,
			Summary: "Cancel a booking before its session starts; the place is freed", Response: Booking{}}},
		{Pattern: "GET /api/v1/opd/counter/queue", Perm: PermCounter, Handler: s.apiQueue, API: &web.APIDoc{Tag: tag,
			Summary: "Counter: a department's queue for a day", Response: QueueOut{}, Query: []web.Param{
				{Name: "department", Type: "integer", Required: true, Description: "department id"},
				{Name: "day", Description: "YYYY-MM-DD (default today)"}}}},
		{Pattern: "POST /api/v1/opd/counter/checkin", Perm: PermCounter, Handler: s.apiCheckin, API: &web.APIDoc{Tag: tag,
			Summary: "Counter: check a patient in by OPD card (or reference number) or by session and token", Request: CheckinRequest{}, Response: Booking{}}},
		{Pattern: "POST /api/v1/opd/counter/walkins", Perm: PermCounter, Handler: s.apiWalkin, API: &web.APIDoc{Tag: tag,
			Summary: "Counter: register a walk-in into the counter quota of today's session", Request: WalkinRequest{}, Response: Booking{},
			Status: http.StatusCreated, Idempotent: true}},
		{Pattern: "POST /api/v1/opd/counter/bookings/{id}/{action}", Perm: PermCounter, Handler: s.apiMove, API: &web.APIDoc{Tag: tag,
			Summary: "Counter: move a booking along the queue (action: checkin, call, done or noshow)", Response: Booking{}}},

		// FHIR R4.
		{Pattern: "GET " + FHIRBase + "/metadata", Perm: web.Public, Handler: s.fhirMetadata, Errors: fhir},
		{Pattern: "GET " + FHIRBase + "/Schedule", Perm: web.Public, Handler: s.fhirScheduleSearch, Errors: fhir},
		{Pattern: "GET " + FHIRBase + "/Schedule/{id}", Perm: web.Public, Handler: s.fhirScheduleRead, Errors: fhir},
		{Pattern: "GET " + FHIRBase + "/Slot", Perm: web.Public, Handler: s.fhirSlotSearch, Errors: fhir},
		{Pattern: "GET " + FHIRBase + "/Slot/{id}", Perm: web.Public, Handler: s.fhirSlotRead, Errors: fhir},
		{Pattern: "GET " + FHIRBase + "/Appointment", Perm: web.SignedIn, Handler: s.fhirAppointmentSearch, Errors: fhir},
		{Pattern: "GET " + FHIRBase + "/Appointment/{id}", Perm: web.SignedIn, Handler: s.fhirAppointmentRead, Errors: fhir},
		{Pattern: "POST " + FHIRBase + "/Appointment", Perm: PermBook, Handler: s.fhirAppointmentCreate, Errors: fhir},
		{Pattern: "PUT " + FHIRBase + "/Appointment/{id}", Perm: PermBook, Handler: s.fhirAppointmentUpdate, Errors: fhir},
		{Pattern: "GET " + FHIRBase + "/Patient/{id}", Perm: PermBook, Handler: s.fhirPatientRead, Errors: fhir},
	}
	// Everything else under /fhir/r4 is answered with an OperationOutcome
	// (one route per method: a method-less pattern would clash with "GET /").
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		routes = append(routes, web.Route{Pattern: m + " " + FHIRBase + "/", Perm: web.Public, Handler: s.fhirUnknown, Errors: fhir})
	}
	return routes
}

var cssHash = func() string { h := sha256.Sum256(cssFile); return hex.EncodeToString(h[:6]) }()

// CSSURL is the versioned address of the e-OPD stylesheet.
func CSSURL() string { return "/opd/assets/opd.css?v=" + cssHash }

func (s *Service) css(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	if r.URL.Query().Get("v") == cssHash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	_, err := w.Write(cssFile)
	return err
}
