package auth

import "sort"

// Built-in roles. Services may add their own (with a row in the roles table).
const (
	RoleCitizen = "citizen"
	RoleOfficer = "officer"
	RoleHOD     = "hod"
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
)

// Core permissions.
const (
	PermAdmin     = "admin.manage" // departments, officers and their grants
	PermAuditRead = "audit.read"   // browse the audit log
	PermCitizen   = "citizen.self" // act as a citizen on one's own records
	PermStaff     = "staff.work"   // any officer work: inbox and the like
)

// Policy says which permissions each role carries. It is built in code at
// start-up: the core's, then each service's.
type Policy struct {
	roles map[string]map[string]bool
}

// NewPolicy returns the core policy.
func NewPolicy() *Policy {
	p := &Policy{roles: map[string]map[string]bool{}}
	p.Allow(RoleCitizen, PermCitizen)
	p.Allow(RoleOfficer, PermStaff)
	p.Allow(RoleHOD, PermStaff)
	p.Allow(RoleAdmin, PermAdmin, PermStaff)
	p.Allow(RoleAuditor, PermAuditRead)
	return p
}

// Allow gives role the permissions.
func (p *Policy) Allow(role string, perms ...string) {
	if p.roles[role] == nil {
		p.roles[role] = map[string]bool{}
	}
	for _, perm := range perms {
		p.roles[role][perm] = true
	}
}

// Has reports whether role carries perm.
func (p *Policy) Has(role, perm string) bool { return p.roles[role][perm] }

// Known reports whether role exists.
func (p *Policy) Known(role string) bool { _, ok := p.roles[role]; return ok }

// StaffRoles lists the roles that can be granted to officers, sorted.
func (p *Policy) StaffRoles() []string {
	var out []string
	for r := range p.roles {
		if r != RoleCitizen {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// Grant is a role held within an optional department and district.
type Grant struct {
	ID           int64  `json:"id"`
	Role         string `json:"role"`
	DepartmentID int64  `json:"department_id,omitempty"` // 0: every department
	DistrictID   int64  `json:"district_id,omitempty"`   // 0: every district
	Department   string `json:"department,omitempty"`    // code, for display
	District     string `json:"district,omitempty"`      // name, for display
}

// Covers reports whether the grant's jurisdiction includes (dept, district);
// 0 in the target means "all", which only an unrestricted grant covers.
func (g Grant) Covers(dept, district int64) bool {
	return (g.DepartmentID == 0 || g.DepartmentID == dept) && (g.DistrictID == 0 || g.DistrictID == district)
}

// Principal is the signed-in person with what they may do.
type Principal struct {
	ID        int64
	Name      string
	Phone     string
	Email     string
	Lang      string
	Username  string
	Staff     bool // signed in as an officer (password and TOTP)
	SessionID int64
	Grants    []Grant
	policy    *Policy
}

// PersonID implements web.User.
func (p *Principal) PersonID() int64 { return p.ID }

// IsStaff implements web.User.
func (p *Principal) IsStaff() bool { return p.Staff }

// DisplayName implements web.User.
func (p *Principal) DisplayName() string {
	switch {
	case p.Name != "":
		return p.Name
	case p.Username != "":
		return p.Username
	case p.Phone != "":
		return Mask(p.Phone)
	default:
		return Mask(p.Email)
	}
}

// Can reports whether any grant carries perm, in any jurisdiction.
func (p *Principal) Can(perm string) bool {
	for _, g := range p.Grants {
		if p.policy.Has(g.Role, perm) {
			return true
		}
	}
	return false
}

// CanIn reports whether a grant carrying perm covers the department and
// district of an object. Services call it for every object they show or change.
func (p *Principal) CanIn(perm string, dept, district int64) bool {
	for _, g := range p.Grants {
		if p.policy.Has(g.Role, perm) && g.Covers(dept, district) {
			return true
		}
	}
	return false
}

// Scope is a jurisdiction; zero fields mean "all".
type Scope struct {
	DepartmentID int64
	DistrictID   int64
}

// Scopes lists the jurisdictions in which p holds perm, for filtering
// lists in SQL. An empty result means none; a Scope{} means everything.
func (p *Principal) Scopes(perm string) []Scope {
	var out []Scope
	for _, g := range p.Grants {
		if p.policy.Has(g.Role, perm) {
			if g.DepartmentID == 0 && g.DistrictID == 0 {
				return []Scope{{}}
			}
			out = append(out, Scope{DepartmentID: g.DepartmentID, DistrictID: g.DistrictID})
		}
	}
	return out
}

// TestPrincipal builds a staff principal from a person and grants, for
// callers outside an HTTP request (tests, tools).
func (s *Service) TestPrincipal(p Person, grants []Grant) *Principal {
	return &Principal{ID: p.ID, Name: p.Name, Username: p.Username, Staff: true, Grants: grants, policy: s.Policy}
}

// RolesIn lists the roles of p whose grants cover an object in (dept,
// district). Services pass them to the workflow engine, which checks them
// against the roles an action allows.
func (p *Principal) RolesIn(dept, district int64) []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range p.Grants {
		if g.Covers(dept, district) && !seen[g.Role] {
			seen[g.Role] = true
			out = append(out, g.Role)
		}
	}
	return out
}
