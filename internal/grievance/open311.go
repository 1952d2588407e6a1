package grievance

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// Open311 GeoReport v2 at /open311/v2 (http://wiki.open311.org/GeoReport_v2):
// categories are services (service_code = the category's code), grievances
// are service requests (service_request_id = the reference number). The
// format is the path's extension, .xml or .json; JSON follows the spec's
// programmatic mapping of the XML (every list a bare array, the root
// element dropped). Every error under /open311/ is an Open311 error list.

// Open311Base is the endpoint's path.
const Open311Base = "/open311/v2"

// Open311Scope is the API-key scope that lets a client file requests and
// post updates (mizogov apikey create --name NAME --scopes open311).
const Open311Scope = "open311"

// Open311Jurisdiction is this endpoint's jurisdiction_id. The endpoint
// serves one jurisdiction, so the argument may be left out; any other value
// is an unknown jurisdiction (404).
const Open311Jurisdiction = "mizoram.gov.in"

// Limits of the GET requests method.
const (
	o311Window      = 90 * 24 * time.Hour // the default and longest span of start_date … end_date
	o311MaxResults  = 1000                // the default and largest page
	o311MaxIDs      = 200                 // service_request_id values in one call
	o311MaxRadius   = 50000               // metres
	o311DefRadius   = 1000                // metres, when lat/long come without a radius
	o311MaxMediaURL = 500
)

// o311Released is the changeset of the endpoint itself, used by discovery
// when no category is newer.
var o311Released = time.Date(2026, 11, 27, 0, 0, 0, 0, workflow.IST)

const (
	o311MimeXML  = "text/xml; charset=utf-8"
	o311MimeJSON = "application/json; charset=utf-8"
)

// o311Format reads the extension of the last path segment: "xml", "json",
// or "" for none or another one (a 404).
func o311Format(p string) (base, format string) {
	ext := path.Ext(p)
	switch ext {
	case ".xml", ".json":
		return strings.TrimSuffix(p, ext), ext[1:]
	}
	return p, ""
}

// o311Name splits a path value such as "MZ-GRV-2627-000001-7.json" into the
// name and format; an unknown extension is a 404 in Open311's format.
func o311Name(r *http.Request, key string) (string, string, error) {
	name, format := o311Format(r.PathValue(key))
	if format == "" || name == "" {
		return "", "", web.NotFound()
	}
	return name, format, nil
}

// o311Time writes a time as the spec wants it: W3C date-time with a zone,
// in India Standard Time.
func o311Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(workflow.IST).Format(time.RFC3339)
}

// o311ParseTime reads a W3C date-time; a time without a zone is refused.
func o311ParseTime(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	return t, err == nil
}

// o311Cors lets browser apps on other sites read GET answers. Nothing in
// them depends on who asks (no cookies are read for them).
func o311Cors(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "Content-Language, X-Request-Id")
	}
}

// o311Write writes v as XML (with its declaration) or JSON, status 200.
func o311Write(w http.ResponseWriter, r *http.Request, format string, status int, xmlV, jsonV any) error {
	var buf bytes.Buffer
	if format == "xml" {
		buf.WriteString(xml.Header)
		if err := xml.NewEncoder(&buf).Encode(xmlV); err != nil {
			return err
		}
		w.Header().Set("Content-Type", o311MimeXML)
	} else {
		enc := json.NewEncoder(&buf)
		if err := enc.Encode(jsonV); err != nil {
			return err
		}
		w.Header().Set("Content-Type", o311MimeJSON)
	}
	o311Cors(w, r)
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(status)
	// Once the status is sent nothing else can be said: a failed write
	// (the client went away) is not an error to answer.
	_, _ = w.Write(buf.Bytes())
	return nil
}

// o311Error is one error of an Open311 error list.
type o311Error struct {
	Code        string `xml:"code" json:"code"`
	Description string `xml:"description" json:"description"`
}

type o311Errors struct {
	XMLName xml.Name    `xml:"errors"`
	Errors  []o311Error `xml:"error"`
}

// o311Status maps the platform's statuses to the three the spec allows
// (404 nonexistent resource, 403 wrong or missing api_key, 400 anything
// else). A fault of the server stays a 500 and a rate limit a 429: a 400
// would tell the client that retrying cannot help.
func o311Status(s int) int {
	switch {
	case s == http.StatusNotFound || s == http.StatusMethodNotAllowed:
		return http.StatusNotFound
	case s == http.StatusForbidden || s == http.StatusUnauthorized:
		return http.StatusForbidden
	case s == http.StatusTooManyRequests:
		return s // with Retry-After: a client should wait, not give up
	case s >= 500:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// o311FieldNames are the Open311 names of the filing form's fields.
var o311FieldNames = map[string]string{
	"category": "service_code", "district": "lat", "village": "address_id", "address": "address_string", "lat": "lat",
	"photos": "media_url", "comment": "description",
}

// Open311Error writes any error under /open311/ as an Open311 error list in
// the format of the path's extension (XML, the format every endpoint must
// serve, when the extension is missing or unknown). Field problems become
// one error each, "field: message", in the caller's language.
func (s *Service) Open311Error(w http.ResponseWriter, r *http.Request, e *web.Error, msg string) {
	_, format := o311Format(r.URL.Path)
	if format == "" {
		format = "xml"
	}
	status := o311Status(e.Status)
	code := strconv.Itoa(status)
	var list []o311Error
	if !e.Fields.Empty() && s.Render != nil {
		lang := web.LangOf(r)
		for _, f := range e.Fields.List {
			name := f.Field
			if n, ok := o311FieldNames[name]; ok {
				name = n
			} else if a, ok := strings.CutPrefix(name, "attr."); ok {
				name = "attribute[" + a + "]"
			}
			list = append(list, o311Error{Code: code, Description: name + ": " + s.Render.Cat.T(lang, f.Key, f.Args...)})
		}
	} else {
		list = []o311Error{{Code: code, Description: msg}}
	}
	w.Header().Del("Content-Disposition")
	w.Header().Set("Cache-Control", "no-store")
	_ = o311Write(w, r, format, status, o311Errors{Errors: list}, list)
}

// o311Refuse is a 400 with a message key of this part.
func o311Refuse(key string, args ...any) error {
	e := web.BadRequest(key, args...)
	e.Code = "open311"
	return e
}

// o311Jurisdiction checks the optional jurisdiction_id argument.
func o311Jurisdiction(r *http.Request) error {
	j := strings.TrimSpace(r.FormValue("jurisdiction_id"))
	if j != "" && !strings.EqualFold(j, Open311Jurisdiction) {
		e := web.NotFound()
		e.Key = "grievance.o311_jurisdiction"
		return e
	}
	return nil
}

// o311NotFound answers every other path and method under /open311/ with
// an Open311 404, and lets browsers ask (preflight) whether they may GET.
func (s *Service) o311NotFound(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodOptions {
		o311Cors(w, r)
		w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Accept, Accept-Language")
		w.Header().Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	e := web.NotFound()
	e.Key = "grievance.o311_no_resource"
	return e
}

// o311URL is the endpoint's absolute URL.
func (s *Service) o311URL(r *http.Request) string {
	if s.BaseURL != "" {
		return strings.TrimSuffix(s.BaseURL, "/") + Open311Base
	}
	scheme := "http"
	if web.Info(r.Context()).Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host + Open311Base
}
