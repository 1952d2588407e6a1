package grievance

import (
	"net/http"

	"mizogov/internal/auth"
	"mizogov/internal/workflow"
)

// me is the signed-in person (nil when signed out).
func me(r *http.Request) *auth.Principal { return auth.PrincipalOf(r) }

// IsOwner reports whether p filed c (or it was filed for them).
func IsOwner(p *auth.Principal, c workflow.Case) bool {
	return p != nil && c.OwnerID != 0 && c.OwnerID == p.ID
}

// IsOfficer reports whether p works grievances where c is: a grant with
// PermWork covering the case's department and district. Every officer
// page and action checks it for the object, not only the route.
func IsOfficer(p *auth.Principal, c workflow.Case) bool {
	return p != nil && p.CanIn(PermWork, c.DepartmentID, c.DistrictID)
}

// MayRead reports whether p may see c's full record (personal data
// included): its owner, or an officer of its jurisdiction, or the officer
// it is assigned to. Everyone else sees only the public tracking page.
func MayRead(p *auth.Principal, c workflow.Case) bool {
	return IsOwner(p, c) || IsOfficer(p, c) || (p != nil && c.AssigneeID != 0 && c.AssigneeID == p.ID)
}

// ActorOf is the workflow actor for p: its roles where the case is.
func ActorOf(p *auth.Principal) workflow.Actor {
	return workflow.Actor{ID: p.ID, Roles: p.RolesIn}
}
