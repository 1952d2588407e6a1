package grievance

import (
	"net/http"

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

		// JSON API.
		{Pattern: "POST /api/v1/grievances", Perm: PermFile, Handler: s.apiFile, MaxBody: 64 << 10, API: &web.APIDoc{Tag: "grievances",
			Summary: "File a grievance (the signed-in citizen's); a repeat with the same Idempotency-Key answers 200 with the first filing",
			Request: FileInput{}, Response: Filed{}, Status: http.StatusCreated, Idempotent: true}},

		// Open311 GeoReport v2.
	}
}
