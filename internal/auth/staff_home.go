package auth

import (
	"net/http"

	"mizogov/internal/web"
)

// staffHome lists the work an officer's roles open to them.
func (s *Service) staffHome(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalOf(r)
	if !p.Staff {
		http.Redirect(w, r, "/staff/signin?next=/staff", http.StatusSeeOther)
		return nil
	}
	return s.Render.Page(w, r, http.StatusOK, "auth/staff_home.html", web.Visible(s.StaffTiles, p))
}
