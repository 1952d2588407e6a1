package grievance

import (
	"net/http"

	"mizogov/internal/web"
)

type homeData struct {
	Groups  []deptGroup
	Signed  bool
	CanFile bool
	Mine    []mineRow
	More    bool
}

// home is Mipui Aw's front page: what it is, how to file, how to track,
// the categories by department and, for a signed-in citizen, their latest
// grievances.
func (s *Service) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := web.LangOf(r)
	cats, err := s.Categories(ctx, false)
	if err != nil {
		return err
	}
	d := homeData{Groups: groupCategories(cats, lang)}
	if p := me(r); p != nil {
		d.Signed, d.CanFile = true, p.Can(PermFile)
		if d.CanFile {
			page, err := s.Mine(ctx, p.ID, 1)
			if err != nil {
				return err
			}
			rows := s.mineRows(ctx, page.Items, lang)
			if len(rows) > 5 {
				rows, d.More = rows[:5], true
			}
			d.Mine = rows
		}
	}
	return s.Render.Page(w, r, http.StatusOK, "grievance/home.html", d)
}
