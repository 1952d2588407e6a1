package grievance

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/geo"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// deptGroup is one department's categories, for lists and choosers.
type deptGroup struct {
	Department string
	Categories []catView
}

type catView struct {
	Code, Name, Description string
	SLADays                 int
}

func groupCategories(cats []Category, lang string) []deptGroup {
	var out []deptGroup
	for _, c := range cats {
		if len(out) == 0 || out[len(out)-1].Department != c.DepartmentLabel(lang) {
			out = append(out, deptGroup{Department: c.DepartmentLabel(lang)})
		}
		desc := c.Description
		if lang == "lus" && c.DescriptionLus != "" {
			desc = c.DescriptionLus
		}
		g := &out[len(out)-1]
		g.Categories = append(g.Categories, catView{Code: c.Code, Name: c.Label(lang), Description: desc, SLADays: c.SLADays})
	}
	return out
}

// stepView is one public step of a grievance's history as a citizen sees
// it: officers by their role, never by name.
type stepView struct {
	At      time.Time
	Who     string // message key
	Action  string // message key
	To      string // state message key, when the state changed
	Comment string
}

func stepsOf(h []workflow.Entry, hideOwnerWords bool) []stepView {
	var out []stepView
	for _, e := range h {
		v := stepView{At: e.At, Action: "grievance.cz_act_" + e.Action, Comment: e.Comment}
		switch e.Role {
		case workflow.Owner:
			v.Who = "grievance.cz_by_citizen"
			if hideOwnerWords {
				v.Comment = ""
			}
		case workflow.Assignee:
			v.Who = "grievance.cz_by_assignee"
		case workflow.System, "":
			v.Who = "grievance.cz_by_system"
		default:
			v.Who = "role." + e.Role
		}
		if e.Action == "create" {
			v.Comment = ""
		}
		if e.From != e.To && e.To != "" {
			v.To = e.To
		}
		out = append(out, v)
	}
	return out
}

// dueOf is when a case is next due as the citizen sees it: the appeal's
// own time limit, the citizen's while the office waits for their answer,
// otherwise the whole case's; nothing once closed.
func dueOf(c workflow.Case) time.Time {
	if !c.Open {
		return time.Time{}
	}
	if c.State == StAppeal || c.State == StInfo || c.DueAt.IsZero() {
		return c.StateDue
	}
	return c.DueAt
}

// publicView is what anybody may know about a grievance: no name, phone,
// e-mail, street address or coordinates; the village and district stay,
// and the citizen's own words only when they did not ask to stay anonymous.
type publicView struct {
	Ref         string     `json:"ref"`
	State       string     `json:"state"`
	StateMsg    string     `json:"-"`
	Category    string     `json:"category"`
	Department  string     `json:"department"`
	District    string     `json:"district"`
	Village     string     `json:"village,omitempty"`
	Description string     `json:"description,omitempty"`
	Filed       time.Time  `json:"filed_at"`
	Updated     time.Time  `json:"updated_at"`
	Due         time.Time  `json:"due_at,omitzero"`
	Supporters  int        `json:"supporters"`
	Open        bool       `json:"open"`
	Anonymous   bool       `json:"-"`
	MergedInto  string     `json:"merged_into,omitempty"` // the reference to follow instead
	Steps       []stepView `json:"-"`
}

func (s *Service) placeNames(ctx context.Context, district, village int64, lang string) (string, string) {
	var d, v string
	if dist, err := s.Geo.District(ctx, district); err == nil {
		d = dist.Name
		if lang == "lus" && dist.NameLus != "" {
			d = dist.NameLus
		}
	}
	if village != 0 {
		if vil, err := s.Geo.Village(ctx, village); err == nil {
			v = vil.Name
		}
	}
	return d, v
}

func (s *Service) publicOf(ctx context.Context, rec Record, lang string) (publicView, error) {
	cat, err := s.CategoryByID(ctx, s.DB.R(), rec.CategoryID)
	if err != nil {
		return publicView{}, err
	}
	hist, err := s.Workflow.History(ctx, s.DB.R(), rec.CaseID, true)
	if err != nil {
		return publicView{}, err
	}
	v := publicView{Ref: rec.Ref, State: rec.Case.State, StateMsg: "grievance.state_" + rec.Case.State, Category: cat.Label(lang),
		Department: cat.DepartmentLabel(lang), Filed: rec.CreatedAt, Updated: rec.Case.UpdatedAt, Due: dueOf(rec.Case),
		Supporters: rec.Supporters, Open: rec.Case.Open, Anonymous: rec.Anonymous, Steps: stepsOf(hist, rec.Anonymous)}
	v.District, v.Village = s.placeNames(ctx, rec.DistrictID, rec.VillageID, lang)
	if !rec.Anonymous {
		v.Description = rec.Description
	}
	if rec.MergedInto != 0 {
		if into, err := s.Get(ctx, s.DB.R(), rec.MergedInto); err == nil {
			v.MergedInto = into.Ref
		}
	}
	return v, nil
}

// districtOpts lists the districts for a select.
type opt struct{ Value, Label string }

func (s *Service) districtOpts(ctx context.Context, lang string) ([]opt, []geo.District, error) {
	ds, err := s.Geo.Districts(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := make([]opt, len(ds))
	for i, d := range ds {
		l := d.Name
		if lang == "lus" && d.NameLus != "" {
			l = d.NameLus
		}
		out[i] = opt{Value: strconv.FormatInt(d.ID, 10), Label: l}
	}
	return out, ds, nil
}

// refOf reads the {ref} path value; an empty or absurd one is a 404.
func refOf(r *http.Request) (string, error) {
	ref := strings.TrimSpace(r.PathValue("ref"))
	if ref == "" || len(ref) > 40 {
		return "", web.NotFound()
	}
	return ref, nil
}

func notFoundOr(err error) error {
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	return err
}
