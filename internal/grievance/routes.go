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

		// JSON API.
		{Pattern: "GET /api/v1/grievances/inbox", Perm: PermWork, Handler: s.apiInbox, API: &web.APIDoc{Tag: "grievances",
			Summary: "An officer's grievances in their jurisdiction (view: mine, team, overdue, today, all; filters; keyset pages)",
			Query: []web.Param{{Name: "view", Description: "mine, team, overdue, today or all (default)"}, {Name: "state"},
				{Name: "department", Description: "department id"}, {Name: "district", Description: "district id"},
				{Name: "category", Description: "category id"}, {Name: "sort", Description: "due (default), newest or priority"},
				{Name: "after", Description: "the next value of the previous page"}, {Name: "limit", Description: "1-200, default 50"}},
			Response: InboxPage{}}},
		{Pattern: "POST /api/v1/grievances/{ref}/act", Perm: PermWork, Handler: s.apiAct, API: &web.APIDoc{Tag: "grievances",
			Summary: "An officer's step: assign, transfer, ask_info, interim_reply, resolve, reject (with a reason), merge, decide_appeal, remand; a stale version gives 409",
			Request: OfficerAct{}, Response: ActResult{}}},
		{Pattern: "GET /api/v1/grievances/search", Perm: PermWork, Handler: s.apiSearch, API: &web.APIDoc{Tag: "grievances",
			Summary: "Full-text search of grievances in the officer's jurisdiction, best first; a whole reference number finds that grievance",
			Query:   []web.Param{{Name: "q", Required: true}, {Name: "page", Description: "1-40"}}, Response: SearchResult{}}},

		// Open311 GeoReport v2.
	}
}
