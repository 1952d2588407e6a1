package grievance

import (
	"database/sql"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"time"

	"mizogov/internal/web"
)

type o311Endpoint struct {
	Specification string   `xml:"specification" json:"specification"`
	URL           string   `xml:"url" json:"url"`
	Changeset     string   `xml:"changeset" json:"changeset"`
	Type          string   `xml:"type" json:"type"`
	Formats       []string `xml:"formats>format" json:"formats"`
}

type o311Discovery struct {
	XMLName    xml.Name       `xml:"discovery" json:"-"`
	Changeset  string         `xml:"changeset" json:"changeset"`
	Contact    string         `xml:"contact" json:"contact"`
	KeyService string         `xml:"key_service" json:"key_service"`
	Endpoints  []o311Endpoint `xml:"endpoints>endpoint" json:"endpoints"`
}

// o311Changeset is when the service list last changed: the newest
// category, or the endpoint's own release.
func (s *Service) o311Changeset(r *http.Request) (time.Time, error) {
	var latest time.Time
	err := s.DB.R().QueryRowContext(r.Context(), `SELECT updated_at FROM grv_categories ORDER BY updated_at DESC LIMIT 1`).Scan(&latest)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, err
	}
	if latest.After(o311Released) {
		return latest, nil
	}
	return o311Released, nil
}

// o311Discovery answers GET /open311/v2/discovery.{xml,json}: where the
// endpoint is, which formats it serves and how to get a key.
func (s *Service) o311Discovery(w http.ResponseWriter, r *http.Request) error {
	_, format := o311Format(r.URL.Path)
	changed, err := s.o311Changeset(r)
	if err != nil {
		return err
	}
	lang := web.LangOf(r)
	typ := "production"
	if s.Render != nil && s.Render.Demo {
		typ = "test"
	}
	cs := o311Time(changed)
	d := o311Discovery{Changeset: cs,
		Contact:    s.Render.Cat.T(lang, "grievance.o311_contact", "url", strings.TrimSuffix(s.o311URL(r), Open311Base)+"/grievances"),
		KeyService: s.Render.Cat.T(lang, "grievance.o311_key_service"),
		Endpoints: []o311Endpoint{{Specification: "http://wiki.open311.org/GeoReport_v2", URL: s.o311URL(r), Changeset: cs, Type: typ,
			Formats: []string{"text/xml", "application/json"}}}}
	w.Header().Set("Cache-Control", "public, max-age=300")
	return o311Write(w, r, format, http.StatusOK, d, d)
}
