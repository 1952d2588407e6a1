package grievance

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/refno"
	"mizogov/internal/web"
)

// --- My grievances -----------------------------------------------------------

type mineRow struct {
	MineItem
	CategoryName string
	StateMsg     string
}

func (s *Service) mineRows(ctx context.Context, items []MineItem, lang string) []mineRow {
	names := map[int64]string{}
	if cats, err := s.Categories(ctx, true); err == nil {
		for _, c := range cats {
			names[c.ID] = c.Label(lang)
		}
	}
	out := make([]mineRow, len(items))
	for i, it := range items {
		out[i] = mineRow{MineItem: it, CategoryName: names[it.CategoryID], StateMsg: "grievance.state_" + it.State}
	}
	return out
}

type mineData struct {
	Rows       []mineRow
	Page       int
	Prev, Next int
	Total      int
}

// pageNumber reads ?page=; anything but a positive number is page 1.
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 100000 {
		return 1
	}
	return n
}

func (s *Service) minePage(w http.ResponseWriter, r *http.Request) error {
	p := me(r)
	page, err := s.Mine(r.Context(), p.ID, pageNumber(r))
	if err != nil {
		return err
	}
	d := mineData{Rows: s.mineRows(r.Context(), page.Items, web.LangOf(r)), Page: page.Page, Total: page.Total}
	if page.Page > 1 {
		d.Prev = page.Page - 1
	}
	if page.More {
		d.Next = page.Page + 1
	}
	return s.Render.Page(w, r, http.StatusOK, "grievance/citizen_mine.html", d)
}

// --- The owner's grievance page ------------------------------------------------

type attrAnswer struct{ Label, Value string }

type caseData struct {
	web.Form
	Rec        Record
	Pub        publicView
	Address    string
	Lat, Lng   string
	Answers    []attrAnswer
	Photos     []int64
	Filed      bool // just filed: show the acknowledgement
	Done       string
	CanInfo    bool // the office asked for information
	CanNote    bool
	CanRate    bool
	CanReopen  bool
	ReopenBy   time.Time
	CanAppeal  bool
	AppealHint bool // closed, rated 3 or more: say why there is no appeal
}

func (s *Service) caseData(ctx context.Context, rec Record, lang string) (*caseData, error) {
	pub, err := s.publicOf(ctx, rec, lang)
	if err != nil {
		return nil, err
	}
	// The owner sees their own words even when they are hidden from the public.
	hist, err := s.Workflow.History(ctx, s.DB.R(), rec.CaseID, true)
	if err != nil {
		return nil, err
	}
	pub.Steps, pub.Description = stepsOf(hist, false), rec.Description
	d := &caseData{Form: web.Form{Values: map[string]string{}}, Rec: rec, Pub: pub, Address: rec.Address}
	if rec.Lat != nil && rec.Lng != nil {
		d.Lat, d.Lng = strconv.FormatFloat(*rec.Lat, 'f', 5, 64), strconv.FormatFloat(*rec.Lng, 'f', 5, 64)
	}
	if d.Photos, err = s.Photos(ctx, s.DB.R(), rec.CaseID); err != nil {
		return nil, err
	}
	vals, err := s.AttributeValues(ctx, s.DB.R(), rec.CaseID)
	if err != nil {
		return nil, err
	}
	if cat, err := s.CategoryByID(ctx, s.DB.R(), rec.CategoryID); err == nil {
		for _, a := range cat.Attributes {
			vs := vals[a.Code]
			if len(vs) == 0 {
				continue
			}
			labels := make([]string, len(vs))
			for i, v := range vs {
				labels[i] = v
				for _, av := range a.Values {
					if av.Key == v {
						labels[i] = av.Name
						if lang == "lus" && av.NameLus != "" {
							labels[i] = av.NameLus
						}
					}
				}
			}
			d.Answers = append(d.Answers, attrAnswer{Label: a.Label(lang), Value: strings.Join(labels, ", ")})
		}
	}
	now := s.now()
	st := rec.Case.State
	d.CanInfo = st == StInfo
	d.CanNote = st == StSubmitted || st == StAssigned || st == StAppeal
	d.CanRate = rec.CanRate()
	d.CanReopen, d.ReopenBy = rec.CanReopen(now), rec.ReopenUntil()
	d.CanAppeal = rec.CanAppeal()
	d.AppealHint = (st == StResolved || st == StRejected) && rec.Rating >= 3
	return d, nil
}

var doneKeys = map[string]bool{"add_info": true, "note": true, "reopen": true, "appeal": true, "rate": true}

func (s *Service) casePage(w http.ResponseWriter, r *http.Request) error {
	ref, err := refOf(r)
	if err != nil {
		return err
	}
	rec, err := s.ownRecord(r.Context(), s.DB.R(), me(r), ref)
	if err != nil {
		return err
	}
	// The canonical spelling of the reference.
	if rec.Ref != ref {
		http.Redirect(w, r, "/grievances/g/"+url.PathEscape(rec.Ref), http.StatusSeeOther)
		return nil
	}
	d, err := s.caseData(r.Context(), rec, web.LangOf(r))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d.Filed = q.Get("filed") == "1"
	if doneKeys[q.Get("done")] {
		d.Done = q.Get("done")
	}
	return s.Render.Page(w, r, http.StatusOK, "grievance/citizen_case.html", d)
}

// actPost takes one of the owner's actions from the grievance page. A
// refusal shows the page again with the message by the action's form.
func (s *Service) actPost(w http.ResponseWriter, r *http.Request) error {
	ref, err := refOf(r)
	if err != nil {
		return err
	}
	action := r.PathValue("action")
	if !doneKeys[action] {
		return web.NotFound()
	}
	f := web.NewForm(r, "version", "comment", "rating")
	in := CitizenInput{Action: action, Comment: r.PostFormValue("comment")}
	in.Version, _ = strconv.Atoi(f.Values["version"])
	in.Rating, _ = strconv.Atoi(f.Values["rating"])
	p := me(r)
	rec, err := s.CitizenStep(r.Context(), p, ref, in)
	if err == nil {
		http.Redirect(w, r, "/grievances/g/"+url.PathEscape(rec.Ref)+"?done="+action+"#updates", http.StatusSeeOther)
		return nil
	}
	if err := f.Refused(err, action); err != nil {
		return err
	}
	status := web.AsError(err).Status
	rec, lerr := s.ownRecord(r.Context(), s.DB.R(), p, ref)
	if lerr != nil {
		return lerr
	}
	d, lerr := s.caseData(r.Context(), rec, web.LangOf(r))
	if lerr != nil {
		return lerr
	}
	// Keep what was typed; the error is by the form it came from.
	d.Form.Values = f.Values
	d.Form.Values["action"] = action
	d.Form.Errors = prefixed(f.Errors, action)
	return s.Render.Page(w, r, status, "grievance/citizen_case.html", d)
}

// prefixed names each field error after the action's form (rate.rating,
// appeal.comment …) so that the page has one unique id per field.
func prefixed(f *web.Fields, action string) *web.Fields {
	out := &web.Fields{}
	if f == nil {
		return out
	}
	for _, e := range f.List {
		name := e.Field
		if name != action {
			name = action + "." + name
		}
		out.Add(name, e.Key, e.Args...)
	}
	return out
}

// photo serves a grievance's photo to its owner and to officers of its
// jurisdiction; everybody else gets 404. Officers' reads are audited.
func (s *Service) photo(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return web.NotFound()
	}
	ctx := r.Context()
	var caseID int64
	err = s.DB.R().QueryRowContext(ctx, `SELECT grievance_id FROM grv_photos WHERE file_id = $1 ORDER BY grievance_id LIMIT 1`, id).Scan(&caseID)
	if err != nil {
		return web.NotFound()
	}
	c, err := s.Workflow.Get(ctx, s.DB.R(), caseID)
	if err != nil {
		return notFoundOr(err)
	}
	p := me(r)
	if !MayRead(p, c) {
		return web.NotFound()
	}
	f, err := s.Files.Get(ctx, s.DB.R(), id)
	if err != nil {
		return notFoundOr(err)
	}
	if !IsOwner(p, c) {
		if err := s.DB.Tx(ctx, func(tx *db.Tx) error {
			_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "grievance.photo_read", ObjectType: CaseType, ObjectID: c.Ref,
				SubjectID: c.OwnerID, Summary: map[string]any{"file": id}})
			return err
		}); err != nil {
			return err
		}
	}
	return s.Files.Serve(w, r, f)
}

// --- Public tracking ------------------------------------------------------------

type trackData struct {
	web.Form
	Query      string
	Pub        *publicView
	Signed     bool
	IsOwner    bool
	CanSupport bool
	Supported  bool
	Done       string
}

// trackPage answers ?ref= (the form on the home page): a known reference
// goes to its tracking page; an unknown or malformed one is a 404 page
// that says so and offers the form again.
func (s *Service) trackPage(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("ref"))
	d := &trackData{Form: web.Form{Values: map[string]string{"ref": q}}, Query: q}
	if q == "" {
		if _, ok := r.URL.Query()["ref"]; ok {
			d.Errors = &web.Fields{}
			d.Errors.Add("ref", "grievance.cz_ref_required")
			return s.Render.Page(w, r, http.StatusUnprocessableEntity, "grievance/citizen_track.html", d)
		}
		return s.Render.Page(w, r, http.StatusOK, "grievance/citizen_track.html", d)
	}
	g, err := s.GetByRef(r.Context(), s.DB.R(), q)
	if errors.Is(err, db.ErrNotFound) {
		d.Errors = &web.Fields{}
		if _, _, perr := refno.Parse(q); perr != nil {
			d.Errors.Add("ref", "grievance.cz_ref_malformed")
		} else {
			d.Errors.Add("ref", "grievance.cz_ref_unknown")
		}
		return s.Render.Page(w, r, http.StatusNotFound, "grievance/citizen_track.html", d)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/grievances/t/"+url.PathEscape(g.Ref), http.StatusSeeOther)
	return nil
}

func (s *Service) trackRef(w http.ResponseWriter, r *http.Request) error {
	ref, err := refOf(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	rec, err := s.record(ctx, s.DB.R(), ref)
	if errors.Is(err, db.ErrNotFound) {
		d := &trackData{Form: web.Form{Values: map[string]string{"ref": ref}, Errors: &web.Fields{}}, Query: ref}
		d.Errors.Add("ref", "grievance.cz_ref_unknown")
		return s.Render.Page(w, r, http.StatusNotFound, "grievance/citizen_track.html", d)
	}
	if err != nil {
		return err
	}
	if rec.Ref != ref {
		http.Redirect(w, r, "/grievances/t/"+url.PathEscape(rec.Ref), http.StatusSeeOther)
		return nil
	}
	return s.renderTrack(w, r, http.StatusOK, rec, nil)
}

func (s *Service) renderTrack(w http.ResponseWriter, r *http.Request, status int, rec Record, errs *web.Fields) error {
	ctx := r.Context()
	pub, err := s.publicOf(ctx, rec, web.LangOf(r))
	if err != nil {
		return err
	}
	d := &trackData{Form: web.Form{Values: map[string]string{}, Errors: errs}, Pub: &pub, Query: rec.Ref}
	if p := me(r); p != nil {
		d.Signed, d.IsOwner = true, IsOwner(p, rec.Case)
		if d.Supported, err = s.Supported(ctx, rec.CaseID, p.ID); err != nil {
			return err
		}
		d.CanSupport = p.Can(PermFile) && !d.IsOwner && !d.Supported && rec.Case.Open
	}
	if r.URL.Query().Get("done") == "support" {
		d.Done = "support"
	}
	return s.Render.Page(w, r, status, "grievance/citizen_track.html", d)
}

// supportPost is "me too" from the tracking page.
func (s *Service) supportPost(w http.ResponseWriter, r *http.Request) error {
	ref, err := refOf(r)
	if err != nil {
		return err
	}
	if _, err := s.Support(r.Context(), me(r), ref); err != nil {
		var we *web.Error
		if !errors.As(err, &we) || we.Status != http.StatusConflict {
			return err
		}
		rec, lerr := s.record(r.Context(), s.DB.R(), ref)
		if lerr != nil {
			return notFoundOr(lerr)
		}
		f := &web.Fields{}
		f.Add("support", we.Key, we.Args...)
		return s.renderTrack(w, r, http.StatusConflict, rec, f)
	}
	rec, err := s.GetByRef(r.Context(), s.DB.R(), ref)
	if err != nil {
		return notFoundOr(err)
	}
	http.Redirect(w, r, "/grievances/t/"+url.PathEscape(rec.Ref)+"?done=support", http.StatusSeeOther)
	return nil
}
