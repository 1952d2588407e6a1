package grievance

import (
	"database/sql"
	"encoding/xml"
	"errors"
	"net/http"

	"mizogov/internal/web"
)

type o311TokenOut struct {
	ServiceRequestID string `xml:"service_request_id" json:"service_request_id"`
	Token            string `xml:"token" json:"token"`
}

type o311TokenList struct {
	XMLName  xml.Name       `xml:"service_requests"`
	Requests []o311TokenOut `xml:"request"`
}

// o311Tokens answers GET /open311/v2/tokens/{token}.{xml,json}: the
// service_request_id of a request filed through Open311 with that token
// (the Open311-Token header of the POST answer). Only Open311 tokens are
// looked up; those of web forms are not.
func (s *Service) o311Tokens(w http.ResponseWriter, r *http.Request) error {
	token, format, err := o311Name(r, "file")
	if err != nil {
		return err
	}
	if err := o311Jurisdiction(r); err != nil {
		return err
	}
	var ref string
	err = s.DB.R().QueryRowContext(r.Context(), `SELECT ref FROM grv_grievances WHERE token = $1 AND channel = $2`, token, ChannelOpen311).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		e := web.NotFound()
		e.Key = "grievance.o311_no_token"
		return e
	}
	if err != nil {
		return err
	}
	list := []o311TokenOut{{ServiceRequestID: ref, Token: token}}
	return o311Write(w, r, format, http.StatusOK, o311TokenList{Requests: list}, list)
}
