package grievance

import (
	"net/http"
)

type homeData struct {
	Categories []Category
}

// home is Mipui Aw's front page: what it is, how to file, how to track.
func (s *Service) home(w http.ResponseWriter, r *http.Request) error {
	cats, err := s.Categories(r.Context(), false)
	if err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "grievance/home.html", homeData{Categories: cats})
}
