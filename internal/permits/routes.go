package permits

import (
	"net/http"

	"mizogov/internal/web"
)

// Routes lists every route of ILP Online with the permission it needs.
// Objects are checked again in each handler: an applicant's own records by
// owner, officers' by the jurisdiction of the entry point's district.
func (s *Service) Routes() []web.Route {
	return []web.Route{
		// Visitors.
		{Pattern: "GET /permits", Perm: web.Public, Handler: s.home},
		{Pattern: "GET /permits/apply", Perm: PermApply, Handler: s.applyPage},
		{Pattern: "POST /permits/apply", Perm: PermApply, Handler: s.applyPost},
		{Pattern: "GET /permits/applications/{id}", Perm: PermApply, Handler: s.applicationPage},
		{Pattern: "POST /permits/applications/{id}/members", Perm: PermApply, Handler: s.memberAddPost},
		{Pattern: "POST /permits/applications/{id}/members/{member}/remove", Perm: PermApply, Handler: s.memberRemovePost},
		{Pattern: "POST /permits/applications/{id}/submit", Perm: PermApply, Handler: s.submitPost},
		{Pattern: "POST /permits/applications/{id}/cancel", Perm: PermApply, Handler: s.cancelPost},
		{Pattern: "POST /permits/applications/{id}/pay", Perm: PermApply, Handler: s.payPost},
		{Pattern: "POST /permits/applications/{id}/extend", Perm: PermApply, Handler: s.extendPost},
		{Pattern: "POST /permits/applications/{id}/members/{member}/{kind}", Perm: PermApply, Handler: s.uploadPost, MaxBody: MaxIDScan + 256<<10},
		{Pattern: "GET /permits/files/{file}", Perm: web.SignedIn, Handler: s.filePage},

		// Issuing office (on the workflow engine).
		{Pattern: "GET /permits/office", Perm: PermProcess, Handler: s.officePage},
		{Pattern: "GET /permits/office/{id}", Perm: PermProcess, Handler: s.officeCasePage},
		{Pattern: "POST /permits/office/{id}", Perm: PermProcess, Handler: s.officeActPost},

		// Issued permits (holder, issuing office, police).
		{Pattern: "GET /permits/p/{number}", Perm: web.SignedIn, Handler: s.permitPage},
		{Pattern: "GET /permits/p/{number}/qr.png", Perm: web.SignedIn, Handler: s.permitQR},
		{Pattern: "GET /permits/p/{number}/permit.pdf", Perm: web.SignedIn, Handler: s.permitPDF},

		// Sponsors.
		{Pattern: "GET /permits/sponsor", Perm: PermApply, Handler: s.sponsorPage},
		{Pattern: "POST /permits/sponsor", Perm: PermApply, Handler: s.sponsorPost},
		{Pattern: "POST /permits/sponsor/{id}/confirm", Perm: PermApply, Handler: s.sponsorConfirmPost},
		{Pattern: "POST /permits/sponsor/{id}/decline", Perm: PermApply, Handler: s.sponsorDeclinePost},

		// Check gates.
		{Pattern: "GET /permits/gate/{$}", Perm: PermGate, Handler: s.gatePage},
		{Pattern: "POST /permits/gate/check", Perm: PermGate, Handler: s.gateCheckPost},
		{Pattern: "POST /permits/gate/record", Perm: PermGate, Handler: s.gateRecordPost},
		{Pattern: "GET /permits/gate/sw.js", Perm: web.Public, Handler: s.static("sw.js")},
		{Pattern: "GET /permits/gate/gate.js", Perm: web.Public, Handler: s.static("gate.js")},
		{Pattern: "GET /permits/gate/ed25519.js", Perm: web.Public, Handler: s.static("ed25519.js")},
		{Pattern: "GET /permits/gate/photo/{number}", Perm: PermGate, Handler: s.gatePhoto},

		// Reports and rules.
		{Pattern: "GET /permits/reports", Perm: PermReports, Handler: s.reportsPage},
		{Pattern: "GET /permits/reports/{name}", Perm: PermReports, Handler: s.reportCSV},
		{Pattern: "GET /permits/rules", Perm: PermRules, Handler: s.rulesPage},
		{Pattern: "POST /permits/rules", Perm: PermRules, Handler: s.rulesPost},

		// JSON API.
		{Pattern: "GET /api/v1/permits/types", Perm: web.Public, Handler: s.apiTypes, API: &web.APIDoc{Tag: "permits",
			Summary: "Permit types and fees in force today (or on ?date=YYYY-MM-DD)", Response: []PermitType{},
			Query: []web.Param{{Name: "date", Description: "YYYY-MM-DD"}}}},
		{Pattern: "GET /api/v1/permits/entry-points", Perm: web.Public, Handler: s.apiEntryPoints, API: &web.APIDoc{Tag: "permits",
			Summary: "Entry points and check gates", Response: []EntryPointView{}}},
		{Pattern: "POST /api/v1/permits/applications", Perm: PermApply, Handler: s.apiApply, MaxBody: 256 << 10, API: &web.APIDoc{Tag: "permits",
			Summary: "Apply for permits (one person or a group under a lead applicant); submit at once with submit=true",
			Request: ApplyInput{}, Response: Application{}, Status: http.StatusCreated, Idempotent: true}},
		{Pattern: "GET /api/v1/permits/applications", Perm: PermApply, Handler: s.apiMine, API: &web.APIDoc{Tag: "permits",
			Summary: "My applications, newest first", Response: []Application{}}},
		{Pattern: "GET /api/v1/permits/applications/{id}", Perm: web.SignedIn, Handler: s.apiApplication, API: &web.APIDoc{Tag: "permits",
			Summary: "One application with its people and permits (applicant, sponsor named on it, or issuing office)", Response: ApplicationView{}}},
		{Pattern: "POST /api/v1/permits/applications/{id}/members", Perm: PermApply, Handler: s.apiMemberAdd, API: &web.APIDoc{Tag: "permits",
			Summary: "Add a person to a draft group application", Request: MemberInput{}, Response: Application{}}},
		{Pattern: "DELETE /api/v1/permits/applications/{id}/members/{member}", Perm: PermApply, Handler: s.apiMemberRemove, API: &web.APIDoc{Tag: "permits",
			Summary: "Remove a person (not the lead) from a draft", Response: Application{}}},
		{Pattern: "POST /api/v1/permits/applications/{id}/submit", Perm: PermApply, Handler: s.apiSubmit, API: &web.APIDoc{Tag: "permits",
			Summary: "Submit a draft or a corrected application", Response: Application{}}},
		{Pattern: "POST /api/v1/permits/applications/{id}/cancel", Perm: PermApply, Handler: s.apiCancel, API: &web.APIDoc{Tag: "permits",
			Summary: "Withdraw an application, or cancel its issued permits", Response: Application{}}},
		{Pattern: "POST /api/v1/permits/applications/{id}/pay", Perm: PermApply, Handler: s.apiPay, API: &web.APIDoc{Tag: "permits",
			Summary: "Start paying the fee of an approved application", Response: PayStarted{}, Status: http.StatusCreated}},
		{Pattern: "POST /api/v1/permits/applications/{id}/extend", Perm: PermApply, Handler: s.apiExtend, API: &web.APIDoc{Tag: "permits",
			Summary: "Ask to extend issued permits before they expire (same sponsor)", Response: Application{}, Status: http.StatusCreated, Idempotent: true}},
		{Pattern: "POST /api/v1/permits/applications/{id}/members/{member}/{kind}", Perm: PermApply, Handler: s.apiUpload,
			MaxBody: MaxIDScan + 256<<10, API: &web.APIDoc{Tag: "permits", ContentType: "multipart/form-data", Request: UploadForm{},
				Summary:  "Upload a person's photo (kind=photo: JPEG or PNG, 2 MB) or identity document scan (kind=idscan: JPEG, PNG or PDF, 5 MB) as the form field \"file\"",
				Response: Application{}}},
		{Pattern: "GET /api/v1/permits/office/applications", Perm: PermProcess, Handler: s.apiOffice, API: &web.APIDoc{Tag: "permits",
			Summary: "The issuing office's applications (view: team, mine, overdue, today, all; state filter; keyset pages)",
			Query:   []web.Param{{Name: "view"}, {Name: "state"}, {Name: "after"}}, Response: OfficeList{}}},
		{Pattern: "POST /api/v1/permits/office/applications/{id}/act", Perm: PermProcess, Handler: s.apiOfficeAct, API: &web.APIDoc{Tag: "permits",
			Summary: "Verify, ask for a correction, approve, reject (with a reason) or revoke (with a reason)", Request: OfficeAct{}, Response: Application{}}},
		{Pattern: "GET /api/v1/permits/permits/{number}", Perm: web.SignedIn, Handler: s.apiPermit, API: &web.APIDoc{Tag: "permits",
			Summary: "An issued permit with its signed token (holder, issuing office, police)", Response: Permit{}}},

		{Pattern: "GET /api/v1/permits/sponsor", Perm: PermApply, Handler: s.apiSponsor, API: &web.APIDoc{Tag: "permits",
			Summary: "My sponsor registration and the applications that name me", Response: SponsorView{}}},
		{Pattern: "PUT /api/v1/permits/sponsor", Perm: PermApply, Handler: s.apiSponsorRegister, API: &web.APIDoc{Tag: "permits",
			Summary: "Register (or update) as a sponsor with my EPIC", Request: SponsorInput{}, Response: Sponsor{}}},
		{Pattern: "POST /api/v1/permits/sponsor/requests/{id}/confirm", Perm: PermApply, Handler: s.apiSponsorConfirm, API: &web.APIDoc{Tag: "permits",
			Summary: "Confirm that I sponsor the people of an application (10 active at most)", Response: Application{}}},
		{Pattern: "POST /api/v1/permits/sponsor/requests/{id}/decline", Perm: PermApply, Handler: s.apiSponsorDecline, API: &web.APIDoc{Tag: "permits",
			Summary: "Decline to sponsor an application", Response: Application{}}},

		{Pattern: "POST /api/v1/permits/gate/verify", Perm: PermGate, Handler: s.apiGateVerify, API: &web.APIDoc{Tag: "permits",
			Summary: "Check a permit at a gate: the QR code's text or a permit number", Request: GateCheck{}, Response: GateResult{}}},
		{Pattern: "POST /api/v1/permits/gate/events", Perm: PermGate, Handler: s.apiGateEvents, MaxBody: 512 << 10, API: &web.APIDoc{Tag: "permits",
			Summary: "Record entries and exits (a gate sends what it queued offline; each event id is kept once)",
			Request: GateEvents{}, Response: GateEventsResult{}}},

		{Pattern: "GET /api/v1/permits/reports/{name}", Perm: PermReports, Handler: s.apiReport, API: &web.APIDoc{Tag: "permits",
			Summary:  "Reports: daily (permits by day, type and entry point), inside (people in the state now), overstays, sponsors; CSV with ?format=csv",
			Query:    []web.Param{{Name: "from", Description: "YYYY-MM-DD"}, {Name: "to", Description: "YYYY-MM-DD"}, {Name: "format", Description: "json or csv"}},
			Response: Report{}}},
		{Pattern: "GET /api/v1/permits/rules", Perm: PermRules, Handler: s.apiRules, API: &web.APIDoc{Tag: "permits",
			Summary: "Every version of the permit-type rules", Response: []PermitType{}}},
		{Pattern: "POST /api/v1/permits/rules", Perm: PermRules, Handler: s.apiRulesChange, API: &web.APIDoc{Tag: "permits",
			Summary: "Change a type's rules from a date (today or later); issued permits never change", Request: RuleChange{},
			Response: PermitType{}, Status: http.StatusCreated}},
	}
}
