package grievance

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/files"
	"mizogov/internal/web"
)

// MaxFilingBody is the largest filing request: three photos of 5 MB and the
// form around them. Anything bigger is refused with 413 before it is read.
const MaxFilingBody = MaxPhotos*MaxPhoto + 512<<10

// newFields are the filing form's fields besides the category's questions.
var newFields = []string{"category", "district", "village", "description", "address", "lat", "lng", "anonymous", "lang", "token"}

type attrField struct {
	Field    string // form field name: attr.CODE
	Label    string
	Type     string
	Required bool
	Info     bool // not a question: a line of information
	Options  []attrOption
	Value    string
}

type attrOption struct {
	Key, Label string
	Checked    bool
}

type newData struct {
	web.Form
	Step        int
	Groups      []deptGroup
	Districts   []opt
	Category    string
	CatName     string
	CatDept     string
	SLADays     int
	District    string
	DistName    string
	Villages    []opt
	Attrs       []attrField
	MaxDesc     int
	MaxPhotos   int
	PhotoMB     int
	DefaultLang string
}

// newToken is the random part of a filing form's idempotency token.
func newToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// webToken namespaces a form's token by channel and person, so that one
// person's token can never find another's grievance.
func webToken(p *auth.Principal, random string) string {
	return "web:" + strconv.FormatInt(p.ID, 10) + ":" + random
}

// newPage is the filing form without JavaScript: step 1 chooses the
// category and the district (a plain GET form), step 2 is the form for
// that category with the villages of that district.
func (s *Service) newPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := &web.Form{Values: map[string]string{"category": strings.TrimSpace(q.Get("category")),
		"district": strings.TrimSpace(q.Get("district")), "lang": web.LangOf(r), "token": newToken()}, Errors: &web.Fields{}}
	_, asked := q["category"]
	_, askedD := q["district"]
	if (!asked && !askedD) || q.Get("change") == "1" {
		// The first visit, or "change the category or district" (with the choices kept).
		return s.renderNew(w, r, http.StatusOK, f, 1, nil)
	}
	step, status := 2, http.StatusOK
	if f.Values["category"] == "" {
		f.Errors.Add("category", "grievance.category_required")
	} else if c, err := s.CategoryByCode(r.Context(), s.DB.R(), f.Values["category"]); err != nil || !c.Active {
		f.Errors.Add("category", "grievance.category_unknown")
	}
	if id, _ := strconv.ParseInt(f.Values["district"], 10, 64); id == 0 {
		f.Errors.Add("district", "grievance.district_required")
	} else if _, err := s.Geo.District(r.Context(), id); err != nil {
		f.Errors.Add("district", "grievance.district_unknown")
	}
	if !f.Errors.Empty() {
		step, status = 1, http.StatusUnprocessableEntity
	} else {
		f.Errors = nil
	}
	return s.renderNew(w, r, status, f, step, nil)
}

func (s *Service) renderNew(w http.ResponseWriter, r *http.Request, status int, f *web.Form, step int, attrs map[string][]string) error {
	ctx := r.Context()
	lang := web.LangOf(r)
	d := &newData{Form: *f, Step: step, MaxDesc: MaxDescription, MaxPhotos: MaxPhotos, PhotoMB: MaxPhoto >> 20, DefaultLang: lang}
	dists, all, err := s.districtOpts(ctx, lang)
	if err != nil {
		return err
	}
	d.Districts = dists
	if step == 1 {
		cats, err := s.Categories(ctx, false)
		if err != nil {
			return err
		}
		d.Groups = groupCategories(cats, lang)
		return s.Render.Page(w, r, status, "grievance/citizen_new.html", d)
	}
	cat, err := s.CategoryByCode(ctx, s.DB.R(), f.Values["category"])
	if err != nil {
		return notFoundOr(err)
	}
	d.Category, d.CatName, d.CatDept, d.SLADays = cat.Code, cat.Label(lang), cat.DepartmentLabel(lang), cat.SLADays
	distID, _ := strconv.ParseInt(f.Values["district"], 10, 64)
	d.District = f.Values["district"]
	for i, x := range all {
		if x.ID == distID {
			d.DistName = dists[i].Label
		}
	}
	if distID != 0 {
		vs, err := s.Geo.Villages(ctx, distID)
		if err != nil {
			return err
		}
		for _, v := range vs {
			d.Villages = append(d.Villages, opt{Value: strconv.FormatInt(v.ID, 10), Label: v.Name})
		}
	}
	for _, a := range cat.Attributes {
		af := attrField{Field: "attr." + a.Code, Label: a.Label(lang), Type: a.Datatype, Required: a.Required, Info: !a.IsVariable()}
		vals := attrs[a.Code]
		if len(vals) > 0 {
			af.Value = vals[0]
		}
		for _, v := range a.Values {
			l := v.Name
			if lang == "lus" && v.NameLus != "" {
				l = v.NameLus
			}
			af.Options = append(af.Options, attrOption{Key: v.Key, Label: l, Checked: slices.Contains(vals, v.Key)})
		}
		d.Attrs = append(d.Attrs, af)
	}
	return s.Render.Page(w, r, status, "grievance/citizen_new.html", d)
}

// newPost files the grievance. Invalid input shows the form again (422)
// with everything typed kept, except the photos, which a browser cannot be
// given back: the page says so.
func (s *Service) newPost(w http.ResponseWriter, r *http.Request) error {
	p := me(r)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return web.BadRequest("grievance.cz_form_broken")
		}
		defer r.MultipartForm.RemoveAll()
	} else if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return web.BadRequest("grievance.cz_form_broken")
	}
	f := web.NewForm(r, newFields...)
	f.Values["description"] = r.PostFormValue("description") // keep line breaks and spacing as typed
	f.Errors = &web.Fields{}
	if !tokenRE.MatchString(f.Values["token"]) {
		// A form without its token (or a forged one): start again with a new one.
		f.Values["token"] = newToken()
		return s.renderNew(w, r, http.StatusBadRequest, withErr(f, "description", "grievance.cz_form_expired"), 2, nil)
	}
	in := NewGrievance{Category: f.Values["category"], Description: f.Values["description"], Address: f.Values["address"],
		Lang: f.Values["lang"], Anonymous: f.Values["anonymous"] != "", CitizenID: p.ID, Channel: ChannelWeb,
		Token: webToken(p, f.Values["token"]), Attributes: map[string][]string{}, Actor: ActorOf(p)}
	in.DistrictID, _ = strconv.ParseInt(f.Values["district"], 10, 64)
	if v := f.Values["village"]; v != "" {
		if in.VillageID, _ = strconv.ParseInt(v, 10, 64); in.VillageID <= 0 {
			f.Errors.Add("village", "grievance.village_unknown")
		}
	}
	var err error
	if in.Lat, err = ParseCoord(f.Values["lat"]); err != nil {
		f.Errors.Add("lat", "grievance.cz_coord_number")
	}
	if in.Lng, err = ParseCoord(f.Values["lng"]); err != nil {
		f.Errors.Add("lng", "grievance.cz_coord_number")
	}
	for k, vs := range r.PostForm {
		if code, ok := strings.CutPrefix(k, "attr."); ok {
			in.Attributes[code] = vs
		}
	}
	chosen := r.MultipartForm != nil && slices.ContainsFunc(r.MultipartForm.File["photos"], func(h *multipart.FileHeader) bool { return h.Filename != "" || h.Size > 0 })
	if ups, err := files.FromForm(r, "photos", MaxPhotos, MaxPhoto, files.Images...); err != nil {
		if ferr := f.Refused(err, "photos"); ferr != nil {
			return ferr
		}
	} else {
		in.Photos = ups
	}
	if f.Errors.Empty() {
		var g Grievance
		if g, err = s.File(r.Context(), in); err == nil {
			http.Redirect(w, r, "/grievances/g/"+url.PathEscape(g.Ref)+"?filed=1", http.StatusSeeOther)
			return nil
		}
		if ferr := f.Refused(err, "description"); ferr != nil {
			return ferr
		}
	} else {
		// Report the rest of the form's problems too, without filing.
		all := &web.Fields{}
		s.check(r.Context(), s.DB.R(), &in, all)
		for _, e := range all.List {
			f.Errors.Add(e.Field, e.Key, e.Args...)
		}
	}
	// The error summary lists the problems in the order of the form.
	slices.SortStableFunc(f.Errors.List, func(a, b web.FieldError) int { return formOrder(a.Field) - formOrder(b.Field) })
	step := 2
	if _, cerr := s.CategoryByCode(r.Context(), s.DB.R(), in.Category); errors.Is(cerr, db.ErrNotFound) || in.Category == "" {
		step = 1
	}
	status := http.StatusUnprocessableEntity
	if err != nil && web.AsError(err).Status == http.StatusConflict {
		status = http.StatusConflict
	}
	if chosen {
		f.Values["photos_lost"] = "1"
	}
	return s.renderNew(w, r, status, f, step, in.Attributes)
}

func withErr(f *web.Form, field, key string) *web.Form {
	if f.Errors == nil {
		f.Errors = &web.Fields{}
	}
	f.Errors.Add(field, key)
	return f
}

// formOrder is a field's place in the filing form.
func formOrder(field string) int {
	if strings.HasPrefix(field, "attr.") {
		return 2
	}
	if i := slices.Index([]string{"category", "district", "attr", "description", "village", "address", "lat", "lng", "photos"}, field); i >= 0 {
		return i
	}
	return 9
}
