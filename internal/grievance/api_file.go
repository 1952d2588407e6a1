package grievance

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"mizogov/internal/idem"
	"mizogov/internal/web"
)

// FileInput is the JSON body of POST /api/v1/grievances.
type FileInput struct {
	Category    string              `json:"category" doc:"category code (GET the categories for the codes)"`
	Description string              `json:"description" doc:"what is wrong, up to 4000 characters"`
	DistrictID  int64               `json:"district_id"`
	VillageID   int64               `json:"village_id,omitempty" doc:"optional; must be in the district"`
	Lat         *float64            `json:"lat,omitempty" doc:"optional; with lng, inside Mizoram"`
	Lng         *float64            `json:"lng,omitempty"`
	Address     string              `json:"address,omitempty"`
	Lang        string              `json:"lang,omitempty" doc:"replies' language: en or lus (default: the request's)"`
	Anonymous   bool                `json:"anonymous,omitempty" doc:"never show my name publicly"`
	Attributes  map[string][]string `json:"attributes,omitempty" doc:"answers to the category's questions, by code"`
}

// Filed is the acknowledgement of a filing.
type Filed struct {
	Ref       string    `json:"ref" doc:"the reference number to track the grievance by"`
	CaseID    int64     `json:"case_id"`
	CreatedAt time.Time `json:"created_at"`
}

// apiFile files a grievance for the signed-in citizen. A repeat with the
// same Idempotency-Key answers 200 with the grievance the first one filed.
func (s *Service) apiFile(w http.ResponseWriter, r *http.Request) error {
	var in FileInput
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	p := me(r)
	var token string
	if k := strings.Trim(strings.TrimSpace(r.Header.Get(idem.Header)), `"`); k != "" {
		if len(k) > 255 || strings.ContainsFunc(k, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			e := web.BadRequest("idem.key_invalid")
			e.Code = "invalid_idempotency_key"
			return e
		}
		token = fmt.Sprintf("api:%d:%s", p.ID, k)
	}
	lang := in.Lang
	if lang == "" {
		lang = web.LangOf(r)
	}
	g, err := s.File(r.Context(), NewGrievance{Category: in.Category, Description: in.Description, DistrictID: in.DistrictID,
		VillageID: in.VillageID, Lat: in.Lat, Lng: in.Lng, Address: in.Address, Lang: lang, Anonymous: in.Anonymous,
		CitizenID: p.ID, Channel: ChannelAPI, Token: token, Attributes: in.Attributes, Actor: ActorOf(p)})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if g.Again {
		status = http.StatusOK
	}
	web.WriteJSON(w, status, Filed{Ref: g.Ref, CaseID: g.CaseID, CreatedAt: g.CreatedAt})
	return nil
}
