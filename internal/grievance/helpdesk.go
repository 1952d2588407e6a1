package grievance

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/geo"
	"mizogov/internal/idem"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// MaxCallerName is the longest caller's name the help desk records.
const MaxCallerName = 100

// HelpdeskCall is what a help-desk officer types for a caller.
type HelpdeskCall struct {
	CallerName string
	Contact    string // the caller's mobile number or email address
	NewGrievance
}

// FileForCaller files a grievance on a caller's behalf: the caller is
// found by their mobile number (or email), or recorded as a new person, so
// that the grievance is theirs (they track it, get the acknowledgement and
// every update); the officer is recorded as the one who filed it. One
// transaction; audited; idempotent by the form's token.
func (s *Service) FileForCaller(ctx context.Context, officer *auth.Principal, in HelpdeskCall) (Grievance, error) {
	f := &web.Fields{}
	in.CallerName = strings.Join(strings.Fields(in.CallerName), " ")
	switch n := len([]rune(in.CallerName)); {
	case n == 0:
		f.Add("caller_name", "grievance.helpdesk_name_required")
	case n > MaxCallerName:
		f.Add("caller_name", "grievance.helpdesk_name_long", "max", MaxCallerName)
	}
	contact, problem := auth.ParseContact(in.Contact)
	if problem != "" {
		f.Add("contact", problem)
	}
	if in.Token == "" || len(in.Token) > 64 {
		return Grievance{}, web.BadRequest("grievance.helpdesk_token")
	}
	var g Grievance
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		// The grievance's own fields are checked too, so that every problem
		// shows at once (FileTx checks them again).
		check := in.NewGrievance
		check.Channel = ChannelHelpdesk
		s.check(ctx, tx, &check, f)
		if err := f.Err(); err != nil {
			return err
		}
		person, err := s.Auth.Store.PersonByContact(ctx, tx, contact)
		switch {
		case errors.Is(err, db.ErrNotFound):
			person = auth.Person{Name: in.CallerName, Lang: in.Lang}
			if contact.Kind == "email" {
				person.Email = contact.Value
			} else {
				person.Phone = contact.Value
			}
			if person.Lang != "lus" {
				person.Lang = "en"
			}
			if person.ID, err = s.Auth.Store.CreatePerson(ctx, tx, person, s.now()); db.IsUnique(err) {
				return web.Conflict("grievance.helpdesk_retry") // recorded by someone else this instant
			} else if err != nil {
				return err
			}
			if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "person.create", ObjectType: "person",
				ObjectID: strconv.FormatInt(person.ID, 10), SubjectID: person.ID, Summary: map[string]any{"by": "grievance.helpdesk"}}); err != nil {
				return err
			}
		case err != nil:
			return err
		case person.DisabledAt != nil:
			f.Add("contact", "grievance.helpdesk_disabled")
			return f.Err()
		}
		in.NewGrievance.CitizenID = person.ID
		in.NewGrievance.CallerName = in.CallerName
		in.NewGrievance.FiledBy = officer.ID
		in.NewGrievance.Channel = ChannelHelpdesk
		in.NewGrievance.Token = "helpdesk:" + strconv.FormatInt(officer.ID, 10) + ":" + in.Token
		in.NewGrievance.Actor = workflow.Actor{ID: officer.ID, Roles: officer.RolesIn}
		g, err = s.FileTx(ctx, tx, in.NewGrievance)
		return err
	})
	return g, err
}

// --- page --------------------------------------------------------------------

var helpdeskFields = []string{"caller_name", "contact", "category", "description", "district", "village", "lat", "lng", "address",
	"lang", "anonymous", "token"}

type helpdeskData struct {
	web.Form
	Categories []Category
	Category   *Category
	Districts  []geo.District
	Villages   []geo.Village
	Filed      string
}

// AttrVal is a typed answer to a category's question.
func (d *helpdeskData) AttrVal(code string) string { return d.Values["attr."+code] }

// AttrHas reports whether a list answer includes key.
func (d *helpdeskData) AttrHas(code, key string) bool {
	return slices.Contains(strings.Split(d.Values["attr."+code], "\n"), key)
}

func (s *Service) renderHelpdesk(w http.ResponseWriter, r *http.Request, status int, f *web.Form) error {
	ctx := r.Context()
	d := &helpdeskData{Form: *f, Filed: r.URL.Query().Get("filed")}
	var err error
	if d.Categories, err = s.Categories(ctx, false); err != nil {
		return err
	}
	if code := f.Values["category"]; code != "" {
		for i := range d.Categories {
			if d.Categories[i].Code == code {
				d.Category = &d.Categories[i]
			}
		}
	}
	if d.Districts, err = s.Geo.Districts(ctx); err != nil {
		return err
	}
	if dist, err := strconv.ParseInt(f.Values["district"], 10, 64); err == nil && dist > 0 {
		if d.Villages, err = s.Geo.Villages(ctx, dist); err != nil {
			return err
		}
	}
	if d.Values["token"] == "" || status == http.StatusOK {
		d.Values["token"] = idem.NewFormKey()
	}
	return s.Render.Page(w, r, status, "grievance/officer_helpdesk.html", d)
}

func (s *Service) helpdeskPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderHelpdesk(w, r, http.StatusOK, &web.Form{Values: map[string]string{"lang": "lus"}})
}

func (s *Service) helpdeskPost(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, helpdeskFields...)
	if r.PostForm != nil {
		for k, vs := range r.PostForm {
			if strings.HasPrefix(k, "attr.") && len(vs) > 0 {
				f.Values[k] = strings.Join(vs, "\n")
			}
		}
	}
	// "Show the villages" re-draws the form for the chosen district.
	if r.PostFormValue("step") == "villages" {
		return s.renderHelpdesk(w, r, http.StatusOK, f)
	}
	in := HelpdeskCall{CallerName: f.Values["caller_name"], Contact: f.Values["contact"]}
	in.Token = f.Values["token"]
	in.Category, in.Description, in.Address, in.Lang = f.Values["category"], f.Values["description"], f.Values["address"], f.Values["lang"]
	in.Anonymous = f.Values["anonymous"] == "1"
	bad := &web.Fields{}
	var err error
	if in.DistrictID, err = queryID(f.Values["district"], ""); err != nil {
		bad.Add("district", "grievance.district_unknown")
	}
	if in.VillageID, err = queryID(f.Values["village"], ""); err != nil {
		bad.Add("village", "grievance.village_unknown")
	}
	if in.Lat, err = ParseCoord(f.Values["lat"]); err != nil {
		bad.Add("lat", "grievance.location_outside")
	}
	if in.Lng, err = ParseCoord(f.Values["lng"]); err != nil {
		bad.Add("lat", "grievance.location_outside")
	}
	in.Attributes = map[string][]string{}
	for k, vs := range r.PostForm {
		if code, ok := strings.CutPrefix(k, "attr."); ok {
			in.Attributes[code] = vs
		}
	}
	if !bad.Empty() {
		f.Errors = bad
		return s.renderHelpdesk(w, r, http.StatusUnprocessableEntity, f)
	}
	g, err := s.FileForCaller(r.Context(), me(r), in)
	if err != nil {
		status, err := formErr(f, err, "caller_name", "")
		if err != nil {
			return err
		}
		return s.renderHelpdesk(w, r, status, f)
	}
	http.Redirect(w, r, "/grievances/helpdesk/new?"+url.Values{"filed": {g.Ref}}.Encode(), http.StatusSeeOther)
	return nil
}
