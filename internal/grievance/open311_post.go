package grievance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// o311Filed is the answer to a POST: the reference number and what happens next.
type o311Filed struct {
	ServiceRequestID string `xml:"service_request_id" json:"service_request_id"`
	ServiceNotice    string `xml:"service_notice" json:"service_notice"`
}

type o311FiledList struct {
	XMLName  xml.Name    `xml:"service_requests"`
	Requests []o311Filed `xml:"request"`
}

// o311TokenHeader carries the request's token in the POST answer (the body
// holds the service_request_id, and the spec gives a body one or the
// other); GET tokens/{token} turns it into the id.
const o311TokenHeader = "Open311-Token"

// o311ParseForm reads a POST body: form-encoded as the spec says, or
// multipart (whose file parts are not read: media upload is not supported).
func o311ParseForm(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(64 << 10)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return o311Refuse("grievance.o311_form")
	}
	return nil
}

// o311Key checks the api_key form field: a live key with the open311
// scope. Anything else is a 403 and nothing is changed. The key is read
// from the body only, never from the URL (where logs and proxies keep it).
func (s *Service) o311Key(r *http.Request) (string, error) {
	key := strings.TrimSpace(r.PostForm.Get("api_key"))
	refuse := func(k string) error {
		e := web.Forbidden()
		e.Code, e.Key = "api_key", k
		return e
	}
	if key == "" {
		return "", refuse("grievance.o311_key_missing")
	}
	name, err := s.Auth.CheckAPIKey(r.Context(), key, Open311Scope)
	if errors.Is(err, db.ErrNotFound) {
		return "", refuse("grievance.o311_key_invalid")
	}
	if err != nil {
		return "", err
	}
	web.Info(r.Context()).APIKey = name
	return name, nil
}

// o311Attributes collects attribute[CODE]=v and attribute[CODE][]=v.
func o311Attributes(f url.Values) map[string][]string {
	out := map[string][]string{}
	for k, vs := range f {
		code, ok := strings.CutPrefix(k, "attribute[")
		if !ok {
			continue
		}
		code = strings.TrimSuffix(code, "[]")
		code, ok = strings.CutSuffix(code, "]")
		if !ok || code == "" {
			continue
		}
		out[code] = append(out[code], vs...)
	}
	return out
}

// o311MediaURL checks a client's media_url: an absolute http(s) URL.
func o311MediaURL(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(v) > o311MaxMediaURL ||
		strings.ContainsFunc(v, unicode.IsSpace) {
		return "", false
	}
	return u.String(), true
}

// o311Token is the grievance's token: derived from the client's
// Idempotency-Key when it sends one (so that a retried POST returns the
// request the first one filed), random otherwise.
func o311Token(client, idemKey string) string {
	if idemKey == "" {
		return "o311-" + web.NewID() + web.NewID()
	}
	h := sha256.Sum256([]byte(client + "\n" + idemKey))
	return "o311-" + hex.EncodeToString(h[:16])
}

// o311Person finds the person with the phone or email given, or creates
// them, so that the acknowledgement and every later step reach them.
func (s *Service) o311Person(ctx context.Context, tx *db.Tx, phone, email, name, lang string) (int64, error) {
	for _, c := range []auth.Contact{{Kind: "phone", Value: phone}, {Kind: "email", Value: email}} {
		if c.Value == "" {
			continue
		}
		p, err := s.Auth.Store.PersonByContact(ctx, tx, c)
		if err == nil {
			return p.ID, nil
		}
		if !errors.Is(err, db.ErrNotFound) {
			return 0, err
		}
	}
	id, err := s.Auth.Store.CreatePerson(ctx, tx, auth.Person{Name: name, Phone: phone, Email: email, Lang: lang}, s.now())
	if err != nil {
		return 0, err
	}
	via := "phone"
	if phone == "" {
		via = "email"
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "person.create", ObjectType: "person", ObjectID: fmt.Sprint(id), SubjectID: id,
		Summary: map[string]string{"via": via, "channel": ChannelOpen311}})
	return id, err
}

// o311PostStart does what every Open311 POST does first: read the form,
// check the api_key (its client name comes back) and the jurisdiction.
func (s *Service) o311PostStart(r *http.Request) (format, client string, err error) {
	_, format = o311Format(r.URL.Path)
	if err := o311ParseForm(r); err != nil {
		return "", "", err
	}
	if client, err = s.o311Key(r); err != nil {
		return "", "", err
	}
	return format, client, o311Jurisdiction(r)
}

// o311Post answers POST /open311/v2/requests.{xml,json}: files a grievance
// through Service.File, at once ("realtime").
func (s *Service) o311Post(w http.ResponseWriter, r *http.Request) error {
	format, client, err := s.o311PostStart(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	f := r.PostForm
	get := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	lang := web.LangOf(r)

	code := get("service_code")
	if code == "" {
		return o311Refuse("grievance.o311_required", "field", "service_code")
	}
	cat, err := s.CategoryByCode(ctx, s.DB.R(), code)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !cat.Active) {
		e := web.NotFound()
		e.Key = "grievance.o311_no_service"
		return e
	}
	if err != nil {
		return err
	}
	lat, err1 := ParseCoord(get("lat"))
	lng, err2 := ParseCoord(get("long"))
	if err1 != nil || err2 != nil || (lat == nil) != (lng == nil) {
		return o311Refuse("grievance.o311_point")
	}
	if lat != nil && !InMizoram(*lat, *lng) {
		return o311Refuse("grievance.o311_outside")
	}
	address, addressID := get("address_string"), get("address_id")
	if lat == nil && address == "" && addressID == "" {
		return o311Refuse("grievance.o311_location")
	}
	var media string
	for _, v := range f["media_url"] { // several are allowed (FixMyStreet sends them); the first is kept
		m, ok := o311MediaURL(strings.TrimSpace(v))
		if !ok {
			return o311Refuse("grievance.o311_media_url", "max", o311MaxMediaURL)
		}
		if media == "" {
			media = m
		}
	}
	var phone, email string
	if v := get("phone"); v != "" {
		p, problem := auth.NormalizePhone(v)
		if problem != "" {
			return o311Refuse("grievance.o311_phone")
		}
		phone = p
	}
	if v := get("email"); v != "" {
		e, problem := auth.NormalizeEmail(v)
		if problem != "" {
			return o311Refuse("grievance.o311_email")
		}
		email = e
	}
	name := strings.TrimSpace(get("first_name") + " " + get("last_name"))
	if len([]rune(name)) > 100 {
		name = string([]rune(name)[:100])
	}
	idemKey := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(idemKey) > 100 {
		return o311Refuse("grievance.o311_idempotency")
	}
	in := NewGrievance{Category: cat.Code, Description: f.Get("description"), Lat: lat, Lng: lng, Address: address, Lang: lang,
		CallerName: name, Channel: ChannelOpen311, APIClient: client, Token: o311Token(client, idemKey),
		Attributes: o311Attributes(f), Actor: workflow.Actor{Label: "apikey:" + client}}
	var g Grievance
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		district, village, err := s.o311District(ctx, tx, addressID, lat, lng, address)
		if err != nil {
			return err
		}
		if district == 0 {
			return o311Refuse("grievance.o311_district")
		}
		in.DistrictID, in.VillageID = district, village
		if phone != "" || email != "" {
			if in.CitizenID, err = s.o311Person(ctx, tx, phone, email, name, lang); err != nil {
				return err
			}
		}
		if g, err = s.FileTx(ctx, tx, in); err != nil {
			return err
		}
		if g.Again {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO grv_open311 (case_id, api_client, media_url) VALUES ($1, $2, $3)`, g.CaseID, client, media)
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set(o311TokenHeader, g.Token)
	w.Header().Set("Cache-Control", "no-store")
	list := []o311Filed{{ServiceRequestID: g.Ref, ServiceNotice: s.Render.Cat.T(lang, "grievance.o311_notice", "days", cat.SLADays)}}
	return o311Write(w, r, format, http.StatusOK, o311FiledList{Requests: list}, list)
}
