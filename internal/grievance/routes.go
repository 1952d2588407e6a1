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

		// Categories (administrators).

		// Public dashboard.
		{Pattern: "GET /grievances/dashboard", Perm: web.Public, Handler: s.dashboardPage},
		{Pattern: "GET /grievances/dashboard.csv", Perm: web.Public, Handler: s.dashboardCSV},
		{Pattern: "GET /grievances/dashboard.css", Perm: web.Public, Handler: s.dashboardStyles},

		// JSON API.

		// Open311 GeoReport v2.
	}
}
