package grievance

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/files"
	"mizogov/internal/web"
)

// MaxAPIFilingBody is the largest JSON filing: three 5 MB photos in base64
// (a third larger) and the fields around them.
const MaxAPIFilingBody = MaxPhotos*MaxPhoto*4/3 + 256<<10

// APIFiling is a grievance filed through the JSON API. Photos travel in the
// same JSON body, base64-encoded (standard alphabet, padding optional), so
// that one request files everything and an Idempotency-Key covers it all.
type APIFiling struct {
	Category    string              `json:"category"` // a category code (GET /open311/v2/services lists them)
	Description string              `json:"description"`
	DistrictID  int64               `json:"district_id"`
	VillageID   int64               `json:"village_id,omitempty"`
	Lat         *float64            `json:"lat,omitempty"`
	Lng         *float64            `json:"lng,omitempty"`
	Address     string              `json:"address,omitempty"`
	Lang        string              `json:"lang,omitempty"` // en or lus: the language of replies
	Anonymous   bool                `json:"anonymous,omitempty"`
	Attributes  map[string][]string `json:"attributes,omitempty"`
	Photos      []APIPhoto          `json:"photos,omitempty"`
}

// APIPhoto is one photo: a JPEG or PNG of at most 5 MB, base64 in data.
type APIPhoto struct {
	Name string `json:"name,omitempty"`
	Data string `json:"data"`
}

// APIStep is one public step of a grievance (officers by role, not name).
type APIStep struct {
	At      time.Time `json:"at"`
	Role    string    `json:"role"`
	Action  string    `json:"action"`
	State   string    `json:"state,omitempty"` // the state it moved to
	Comment string    `json:"comment,omitempty"`
}

// APIGrievance is a grievance as its owner (or an officer) sees it.
type APIGrievance struct {
	Ref           string              `json:"ref"`
	State         string              `json:"state"`
	Open          bool                `json:"open"`
	Version       int                 `json:"version"` // send it back with an action
	Category      string              `json:"category"`
	Department    string              `json:"department"`
	DistrictID    int64               `json:"district_id"`
	District      string              `json:"district"`
	VillageID     int64               `json:"village_id,omitempty"`
	Village       string              `json:"village,omitempty"`
	Description   string              `json:"description"`
	Address       string              `json:"address,omitempty"`
	Lat           *float64            `json:"lat,omitempty"`
	Lng           *float64            `json:"lng,omitempty"`
	Lang          string              `json:"lang"`
	Anonymous     bool                `json:"anonymous"`
	Attributes    map[string][]string `json:"attributes,omitempty"`
	Photos        []string            `json:"photos,omitempty"` // URLs
	Supporters    int                 `json:"supporters"`
	Rating        int                 `json:"rating,omitempty"`
	RatingComment string              `json:"rating_comment,omitempty"`
	Reopened      int                 `json:"reopened"`
	AppealedAt    time.Time           `json:"appealed_at,omitzero"`
	FiledAt       time.Time           `json:"filed_at"`
	UpdatedAt     time.Time           `json:"updated_at"`
	DueAt         time.Time           `json:"due_at,omitzero"`
	ReopenUntil   time.Time           `json:"reopen_until,omitzero"`
	CanRate       bool                `json:"can_rate"`
	CanReopen     bool                `json:"can_reopen"`
	CanAppeal     bool                `json:"can_appeal"`
	History       []APIStep           `json:"history"`
}

// SupportResult is the number of supporters after a "me too".
type SupportResult struct {
	Ref        string `json:"ref"`
	Supporters int    `json:"supporters"`
}

func (s *Service) apiView(r *http.Request, rec Record) (APIGrievance, error) {
	ctx := r.Context()
	lang := web.LangOf(r)
	cat, err := s.CategoryByID(ctx, s.DB.R(), rec.CategoryID)
	if err != nil {
		return APIGrievance{}, err
	}
	now := s.now()
	v := APIGrievance{Ref: rec.Ref, State: rec.Case.State, Open: rec.Case.Open, Version: rec.Case.Version, Category: cat.Code,
		Department: cat.DepartmentCode, DistrictID: rec.DistrictID, VillageID: rec.VillageID, Description: rec.Description,
		Address: rec.Address, Lat: rec.Lat, Lng: rec.Lng, Lang: rec.Lang, Anonymous: rec.Anonymous, Supporters: rec.Supporters,
		Rating: rec.Rating, RatingComment: rec.RatingComment, Reopened: rec.Reopened, AppealedAt: rec.AppealedAt,
		FiledAt: rec.CreatedAt, UpdatedAt: rec.Case.UpdatedAt, DueAt: dueOf(rec.Case), ReopenUntil: rec.ReopenUntil(),
		CanRate: rec.CanRate(), CanReopen: rec.CanReopen(now), CanAppeal: rec.CanAppeal(), History: []APIStep{}}
	v.District, v.Village = s.placeNames(ctx, rec.DistrictID, rec.VillageID, lang)
	if v.Attributes, err = s.AttributeValues(ctx, s.DB.R(), rec.CaseID); err != nil {
		return v, err
	}
	photos, err := s.Photos(ctx, s.DB.R(), rec.CaseID)
	if err != nil {
		return v, err
	}
	for _, id := range photos {
		v.Photos = append(v.Photos, "/grievances/photos/"+strconv.FormatInt(id, 10))
	}
	hist, err := s.Workflow.History(ctx, s.DB.R(), rec.CaseID, true)
	if err != nil {
		return v, err
	}
	for _, h := range hist {
		st := APIStep{At: h.At, Role: h.Role, Action: h.Action, Comment: h.Comment}
		if h.From != h.To {
			st.State = h.To
		}
		if h.Action == "create" {
			st.Comment = ""
		}
		v.History = append(v.History, st)
	}
	return v, nil
}

// apiFile files a grievance from JSON. The Idempotency-Key header is the
// filing token (namespaced by channel and person): a retry returns the
// grievance the first request filed.
func (s *Service) apiFile(w http.ResponseWriter, r *http.Request) error {
	p := me(r)
	var in APIFiling
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	key := strings.Trim(strings.TrimSpace(r.Header.Get("Idempotency-Key")), `"`)
	if len(key) > 200 || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		e := web.BadRequest("grievance.cz_idem_key")
		e.Code = "invalid_idempotency_key"
		return e
	}
	g := NewGrievance{Category: in.Category, Description: in.Description, DistrictID: in.DistrictID, VillageID: in.VillageID,
		Lat: in.Lat, Lng: in.Lng, Address: in.Address, Lang: in.Lang, Anonymous: in.Anonymous, CitizenID: p.ID,
		Channel: ChannelAPI, Attributes: in.Attributes, Actor: ActorOf(p)}
	if g.Lang == "" {
		g.Lang = web.LangOf(r)
	}
	if key != "" {
		g.Token = "api:" + strconv.FormatInt(p.ID, 10) + ":" + key
	}
	f := &web.Fields{}
	if len(in.Photos) > MaxPhotos {
		f.Add("photos", "grievance.photos_too_many", "max", MaxPhotos)
	}
	for i, ph := range in.Photos {
		if i >= MaxPhotos {
			break
		}
		field := "photos." + strconv.Itoa(i)
		data, err := base64.StdEncoding.DecodeString(ph.Data)
		if err != nil {
			data, err = base64.RawStdEncoding.DecodeString(ph.Data)
		}
		if err != nil {
			f.Add(field, "grievance.cz_photo_base64")
			continue
		}
		up, err := files.Check(data, ph.Name, MaxPhoto, files.Images...)
		if err != nil {
			e := web.AsError(err)
			if e.Status != http.StatusUnprocessableEntity {
				return err
			}
			f.Add(field, e.Key, e.Args...)
			continue
		}
		g.Photos = append(g.Photos, up)
	}
	if !f.Empty() {
		// Report the other fields' problems with the photos'.
		s.check(r.Context(), s.DB.R(), &g, f)
		return f.Err()
	}
	filed, err := s.File(r.Context(), g)
	if err != nil {
		return err
	}
	rec, err := s.ownRecord(r.Context(), s.DB.R(), p, filed.Ref)
	if err != nil {
		return err
	}
	v, err := s.apiView(r, rec)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Service) apiMine(w http.ResponseWriter, r *http.Request) error {
	page, err := s.Mine(r.Context(), me(r).ID, pageNumber(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (s *Service) apiGet(w http.ResponseWriter, r *http.Request) error {
	ref, err := refOf(r)
	if err != nil {
		return err
	}
	rec, err := s.readableRecord(r.Context(), s.DB.R(), me(r), ref)
	if err != nil {
		return err
	}
	v, err := s.apiView(r, rec)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *Service) apiStep(w http.ResponseWriter, r *http.Request, action string) error {
	ref, err := refOf(r)
	if err != nil {
		return err
	}
	var in CitizenInput
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	if action == "" {
		// "info": an answer when the office asked, otherwise a note.
		rec, err := s.ownRecord(r.Context(), s.DB.R(), me(r), ref)
		if err != nil {
			return err
		}
		action = "note"
		if rec.Case.State == StInfo {
			action = "add_info"
		}
	}
	in.Action = action
	rec, err := s.CitizenStep(r.Context(), me(r), ref, in)
	if err != nil {
		return err
	}
	v, err := s.apiView(r, rec)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *Service) apiAct(action string) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error { return s.apiStep(w, r, action) }
}

func (s *Service) apiInfo(w http.ResponseWriter, r *http.Request) error { return s.apiStep(w, r, "") }

func (s *Service) apiSupport(w http.ResponseWriter, r *http.Request) error {
	ref, err := refOf(r)
	if err != nil {
		return err
	}
	n, err := s.Support(r.Context(), me(r), ref)
	if err != nil {
		return err
	}
	g, err := s.GetByRef(r.Context(), s.DB.R(), ref)
	if err != nil {
		return notFoundOr(err)
	}
	web.WriteJSON(w, http.StatusOK, SupportResult{Ref: g.Ref, Supporters: n})
	return nil
}
