package grievance

import (
	"mizogov/internal/web"
)

// Routes lists every route of Mipui Aw with the permission it needs.
// Objects are checked again in each handler: a citizen's own grievances by
// owner, officers' by the jurisdiction (department, district) of the case.
func (s *Service) Routes() []web.Route {
	return []web.Route{
		// Public.
		{Pattern: "GET /grievances", Perm: web.Public, Handler: s.home},

		// Citizens: file, my grievances, track, act on their own.
		{Pattern: "GET /grievances/new", Perm: PermFile, Handler: s.newPage},
		{Pattern: "POST /grievances/new", Perm: PermFile, Handler: s.newPost, MaxBody: MaxFilingBody},
		{Pattern: "GET /grievances/mine", Perm: PermFile, Handler: s.minePage},
		{Pattern: "GET /grievances/g/{ref}", Perm: web.SignedIn, Handler: s.casePage},
		{Pattern: "POST /grievances/g/{ref}/{action}", Perm: PermFile, Handler: s.actPost},
		{Pattern: "GET /grievances/photos/{id}", Perm: web.SignedIn, Handler: s.photo},
		{Pattern: "GET /grievances/track", Perm: web.Public, Handler: s.trackPage},
		{Pattern: "GET /grievances/t/{ref}", Perm: web.Public, Handler: s.trackRef},
		{Pattern: "POST /grievances/t/{ref}/support", Perm: PermFile, Handler: s.supportPost},
		{Pattern: "GET /grievances/citizen.js", Perm: web.Public, Handler: s.citizenJS},
		{Pattern: "GET /grievances/citizen.css", Perm: web.Public, Handler: s.citizenCSS},

		// Officers: inbox, case, actions, search, help desk.
		{Pattern: "GET /grievances/inbox", Perm: PermWork, Handler: s.inboxPage},
		{Pattern: "GET /grievances/office/{ref}", Perm: PermWork, Handler: s.officePage},
		{Pattern: "POST /grievances/office/{ref}", Perm: PermWork, Handler: s.officeActPost, MaxBody: MaxPhotos*MaxPhoto + 256<<10},
		{Pattern: "GET /grievances/search", Perm: PermWork, Handler: s.searchPage},
		{Pattern: "GET /grievances/helpdesk/new", Perm: PermHelpdesk, Handler: s.helpdeskPage},
		{Pattern: "GET /grievances/officer.css", Perm: web.Public, Handler: s.officerCSS},
		{Pattern: "POST /grievances/helpdesk/new", Perm: PermHelpdesk, Handler: s.helpdeskPost},

		// Categories (administrators).
		{Pattern: "GET /grievances/categories", Perm: PermManage, Handler: s.categoriesPage},
		{Pattern: "GET /grievances/categories/new", Perm: PermManage, Handler: s.categoryNewPage},
		{Pattern: "POST /grievances/categories/new", Perm: PermManage, Handler: s.categoryNewPost},
		{Pattern: "GET /grievances/categories/{id}", Perm: PermManage, Handler: s.categoryPage},
		{Pattern: "POST /grievances/categories/{id}", Perm: PermManage, Handler: s.categoryPost},

		// Public dashboard.
		{Pattern: "GET /grievances/dashboard", Perm: web.Public, Handler: s.dashboardPage},
		{Pattern: "GET /grievances/dashboard.csv", Perm: web.Public, Handler: s.dashboardCSV},
		{Pattern: "GET /grievances/dashboard.css", Perm: web.Public, Handler: s.dashboardStyles},

		// JSON API.
		{Pattern: "POST /api/v1/grievances", Perm: PermFile, Handler: s.apiFile, MaxBody: MaxAPIFilingBody, API: &web.APIDoc{Tag: "grievances",
			Summary: "File a grievance (JSON; photos as base64 in photos[].data, at most 3 JPEG or PNG of 5 MB). Idempotency-Key makes a retry return the same grievance",
			Request: APIFiling{}, Response: APIGrievance{}, Status: 201, Idempotent: true}},
		{Pattern: "GET /api/v1/grievances", Perm: PermFile, Handler: s.apiMine, API: &web.APIDoc{Tag: "grievances",
			Summary: "My grievances, newest first, 20 a page", Query: []web.Param{{Name: "page", Description: "1, 2, …"}}, Response: MinePage{}}},
		{Pattern: "GET /api/v1/grievances/{ref}", Perm: web.SignedIn, Handler: s.apiGet, API: &web.APIDoc{Tag: "grievances",
			Summary: "A grievance with its public history (its owner, or an officer of its department and district)", Response: APIGrievance{}}},
		{Pattern: "POST /api/v1/grievances/{ref}/rate", Perm: PermFile, Handler: s.apiAct("rate"), API: &web.APIDoc{Tag: "grievances",
			Summary: "Rate a resolved or rejected grievance 1 to 5 with an optional comment (once)", Request: CitizenInput{}, Response: APIGrievance{}}},
		{Pattern: "POST /api/v1/grievances/{ref}/reopen", Perm: PermFile, Handler: s.apiAct("reopen"), API: &web.APIDoc{Tag: "grievances",
			Summary: "Reopen a resolved grievance within 15 days of its resolution (comment required)", Request: CitizenInput{}, Response: APIGrievance{}}},
		{Pattern: "POST /api/v1/grievances/{ref}/appeal", Perm: PermFile, Handler: s.apiAct("appeal"), API: &web.APIDoc{Tag: "grievances",
			Summary: "Appeal to the head of department after rating the outcome 1 or 2 (comment required; decided within 30 days)", Request: CitizenInput{}, Response: APIGrievance{}}},
		{Pattern: "POST /api/v1/grievances/{ref}/info", Perm: PermFile, Handler: s.apiInfo, API: &web.APIDoc{Tag: "grievances",
			Summary: "Answer the office's request for information, or add a note to an open grievance (comment required)", Request: CitizenInput{}, Response: APIGrievance{}}},
		{Pattern: "POST /api/v1/grievances/{ref}/support", Perm: PermFile, Handler: s.apiSupport, API: &web.APIDoc{Tag: "grievances",
			Summary: "Me too: support an open grievance somebody else filed (once per person)", Response: SupportResult{}}},
		{Pattern: "GET /api/v1/grievances/inbox", Perm: PermWork, Handler: s.apiInbox, API: &web.APIDoc{Tag: "grievances",
			Summary: "An officer's grievances in their jurisdiction (view: mine, team, overdue, today, all; filters; keyset pages)",
			Query: []web.Param{{Name: "view", Description: "mine, team, overdue, today or all (default)"}, {Name: "state"},
				{Name: "department", Description: "department id"}, {Name: "district", Description: "district id"},
				{Name: "category", Description: "category id"}, {Name: "sort", Description: "due (default), newest or priority"},
				{Name: "after", Description: "the next value of the previous page"}, {Name: "limit", Description: "1-200, default 50"}},
			Response: InboxPage{}}},
		{Pattern: "POST /api/v1/grievances/{ref}/act", Perm: PermWork, Handler: s.apiOfficerAct, API: &web.APIDoc{Tag: "grievances",
			Summary: "An officer's step: assign, transfer, ask_info, interim_reply, resolve, reject (with a reason), merge, decide_appeal, remand; a stale version gives 409",
			Request: OfficerAct{}, Response: ActResult{}}},
		{Pattern: "GET /api/v1/grievances/search", Perm: PermWork, Handler: s.apiSearch, API: &web.APIDoc{Tag: "grievances",
			Summary: "Full-text search of grievances in the officer's jurisdiction, best first; a whole reference number finds that grievance",
			Query:   []web.Param{{Name: "q", Required: true}, {Name: "page", Description: "1-40"}}, Response: SearchResult{}}},

		// Open311 GeoReport v2 (open311_*.go). Public: POSTs check their
		// api_key themselves and answer 403 in Open311's format.
		{Pattern: "GET " + Open311Base + "/discovery.xml", Perm: web.Public, Handler: s.o311Discovery},
		{Pattern: "GET " + Open311Base + "/discovery.json", Perm: web.Public, Handler: s.o311Discovery},
		{Pattern: "GET " + Open311Base + "/services.xml", Perm: web.Public, Handler: s.o311Services},
		{Pattern: "GET " + Open311Base + "/services.json", Perm: web.Public, Handler: s.o311Services},
		{Pattern: "GET " + Open311Base + "/services/{file}", Perm: web.Public, Handler: s.o311Definition},
		{Pattern: "GET " + Open311Base + "/requests.xml", Perm: web.Public, Handler: s.o311ListRequests},
		{Pattern: "GET " + Open311Base + "/requests.json", Perm: web.Public, Handler: s.o311ListRequests},
		{Pattern: "POST " + Open311Base + "/requests.xml", Perm: web.Public, Handler: s.o311Post},
		{Pattern: "POST " + Open311Base + "/requests.json", Perm: web.Public, Handler: s.o311Post},
		{Pattern: "GET " + Open311Base + "/requests/{file}", Perm: web.Public, Handler: s.o311GetRequest},
		{Pattern: "GET " + Open311Base + "/tokens/{file}", Perm: web.Public, Handler: s.o311Tokens},
		{Pattern: "GET " + Open311Base + "/servicerequestupdates.xml", Perm: web.Public, Handler: s.o311ListUpdates},
		{Pattern: "GET " + Open311Base + "/servicerequestupdates.json", Perm: web.Public, Handler: s.o311ListUpdates},
		{Pattern: "POST " + Open311Base + "/servicerequestupdates.xml", Perm: web.Public, Handler: s.o311PostUpdate},
		{Pattern: "POST " + Open311Base + "/servicerequestupdates.json", Perm: web.Public, Handler: s.o311PostUpdate},
		{Pattern: "GET /open311/", Perm: web.Public, Handler: s.o311NotFound},
		{Pattern: "POST /open311/", Perm: web.Public, Handler: s.o311NotFound},
		{Pattern: "PUT /open311/", Perm: web.Public, Handler: s.o311NotFound},
		{Pattern: "PATCH /open311/", Perm: web.Public, Handler: s.o311NotFound},
		{Pattern: "DELETE /open311/", Perm: web.Public, Handler: s.o311NotFound},
		{Pattern: "OPTIONS /open311/", Perm: web.Public, Handler: s.o311NotFound},
	}
}
