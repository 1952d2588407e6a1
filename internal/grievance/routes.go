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

		// JSON API.

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
		{Pattern: "GET " + Open311Base + "/requests/{ref}/media/{n}", Perm: web.Public, Handler: s.o311Media},
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
