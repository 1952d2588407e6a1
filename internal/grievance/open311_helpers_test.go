package grievance_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/grievance"
	"mizogov/internal/workflow"
)

// o311 is one test's platform with Open311 keys and categories.
type o311 struct {
	e      *apptest.Env
	svc    *grievance.Service
	dept   int64
	key    string // scope open311, name "fms-test"
	other  string // scope open311, name "other-app"
	noPerm string // scope permits only
	c      *apptest.Client
}

// service builds a grievance.Service on the running platform, as
// internal/app does, for filing and acting in tests.
func service(e *apptest.Env) *grievance.Service {
	a := e.App
	return &grievance.Service{DB: a.DB, Audit: a.Audit, Notify: a.Notify, Jobs: a.Jobs, Workflow: a.Workflow, Files: a.Files,
		Geo: a.Geo, Auth: a.Auth, Limits: a.Limits, Render: a.Render, Log: a.Log, Now: a.Now, BaseURL: a.Cfg.BaseURL}
}

func setupO311(t testing.TB, e *apptest.Env) *o311 {
	t.Helper()
	ctx := context.Background()
	x := &o311{e: e, svc: service(e), c: e.Client()}
	err := e.App.DB.Tx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO departments (code, name, name_lus, created_at) VALUES ('PWD', 'Public Works', 'Public Works Department', $1) RETURNING id`,
			db.Time(e.Clock.Now())).Scan(&x.dept); err != nil {
			return err
		}
		no := false
		for _, c := range []grievance.Category{
			{Code: "pothole", DepartmentID: x.dept, Name: "Pothole", NameLus: "Kawng khur", Description: "A hole in a road", Keywords: "road,pothole",
				SLADays: 15, Active: true, Attributes: []grievance.Attribute{
					{Code: "ROADTYPE", Datatype: grievance.AttrSingle, Required: true, Description: "Which road?", DescriptionLus: "Kawng eng nge?", Order: 1,
						Values: []grievance.AttrValue{{Key: "NH", Name: "National highway", NameLus: "National highway"}, {Key: "TOWN", Name: "Town road", NameLus: "Khawpui kawng"}}},
					{Code: "HAZARD", Datatype: grievance.AttrMulti, Description: "Hazards", DescriptionLus: "Hlauhawmna", Order: 2,
						Values: []grievance.AttrValue{{Key: "WATER", Name: "Water-logged", NameLus: "Tui a khat"}, {Key: "NIGHT", Name: "Unlit", NameLus: "Eng a awm lo"}}},
					{Code: "DEPTH", Datatype: grievance.AttrNumber, Description: "Depth in cm", DescriptionLus: "A thuk zawng (cm)", Order: 3},
					{Code: "INFO", Datatype: grievance.AttrString, Description: "Photos help", DescriptionLus: "Thlalak a ṭangkai", Order: 4, Variable: &no},
				}},
			{Code: "streetlight", DepartmentID: x.dept, Name: "Street light", NameLus: "Kawng eng", Active: true},
			{Code: "retired", DepartmentID: x.dept, Name: "Retired", NameLus: "Hman tawh loh", Active: false},
		} {
			if _, err := x.svc.SaveCategory(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if x.key, err = e.App.Auth.CreateAPIKey(ctx, "fms-test", []string{"open311"}); err != nil {
		t.Fatal(err)
	}
	if x.other, err = e.App.Auth.CreateAPIKey(ctx, "other-app", []string{"open311"}); err != nil {
		t.Fatal(err)
	}
	if x.noPerm, err = e.App.Auth.CreateAPIKey(ctx, "permits-only", []string{"permits"}); err != nil {
		t.Fatal(err)
	}
	csv := "district_lgd,block_code,block_name,council_code,council_name,village_code,village_name\n" +
		"265,T-B1,Lunglei,T-C1,Tlabung VC,T-V1,Tlabung\n"
	if _, err := e.App.Geo.Import(ctx, strings.NewReader(csv), &audit.Actor{Label: "test"}); err != nil {
		t.Fatal(err)
	}
	return x
}

// file files a grievance directly (the web channel) at the clock's time.
func (x *o311) file(t *testing.T, code string, lat, lng float64, district int64) grievance.Grievance {
	t.Helper()
	in := grievance.NewGrievance{Category: code, Description: "Filed in a test at " + x.e.Clock.Now().String(), DistrictID: district,
		Lat: &lat, Lng: &lng, Channel: grievance.ChannelWeb, Actor: workflow.Actor{Label: "test"}}
	if code == "pothole" {
		in.Attributes = map[string][]string{"ROADTYPE": {"TOWN"}, "HAZARD": {"WATER", "NIGHT"}}
	}
	g, err := x.svc.File(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// officer acts on a grievance as its department's grievance officer.
func (x *o311) officer(t *testing.T, caseID int64, action, comment string) {
	t.Helper()
	x.act(t, caseID, action, comment, grievance.RoleGRO)
}

// act takes a step in a role, without a person (as the sweep does).
func (x *o311) act(t *testing.T, caseID int64, action, comment, role string) {
	t.Helper()
	ctx := context.Background()
	err := x.e.App.DB.Tx(ctx, func(tx *db.Tx) error {
		_, err := x.svc.Workflow.Act(ctx, tx, workflow.Act{CaseID: caseID, Action: action, Comment: comment,
			Actor: workflow.Actor{Label: "test:" + role, Roles: func(int64, int64) []string { return []string{role} }}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (x *o311) get(t *testing.T, path string) *apptest.Response {
	t.Helper()
	return x.c.Get(t, grievance.Open311Base+path)
}

func (x *o311) post(t *testing.T, path string, form url.Values) *apptest.Response {
	t.Helper()
	return x.c.Post(t, grievance.Open311Base+path, form)
}

// A shape checker for Open311 JSON (the rules of the open311/schema-validation
// schemas and the spec): required keys, ids and codes as strings, booleans
// as booleans, date-times with a zone, lists as bare arrays.

var zoned = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)

// personal are keys that must never appear in a request's output.
var personal = []string{"first_name", "last_name", "name", "email", "phone", "account_id", "device_id", "caller_name", "citizen_id"}

type shape struct {
	t    *testing.T
	path string
}

func (s shape) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf("%s: %s", s.path, fmt.Sprintf(format, args...))
}

func (s shape) obj(v any, where string) map[string]any {
	s.t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		s.fail("%s: want an object, got %T", where, v)
	}
	return m
}

func (s shape) arr(v any, where string) []any {
	s.t.Helper()
	a, ok := v.([]any)
	if !ok {
		s.fail("%s: want a bare array, got %T", where, v)
	}
	return a
}

// str checks that m[k] is a string (required: present and non-empty).
func (s shape) str(m map[string]any, k string, required bool) string {
	s.t.Helper()
	v, ok := m[k]
	if !ok || v == nil {
		if required {
			s.fail("missing %q in %v", k, m)
		}
		return ""
	}
	str, ok := v.(string)
	if !ok {
		s.fail("%q must be a string, got %T (%v)", k, v, v)
	}
	if required && str == "" {
		s.fail("%q is empty", k)
	}
	return str
}

func (s shape) boolean(m map[string]any, k string) {
	s.t.Helper()
	if _, ok := m[k].(bool); !ok {
		s.fail("%q must be a boolean, got %T", k, m[k])
	}
}

func (s shape) when(m map[string]any, k string, required bool) {
	s.t.Helper()
	if v := s.str(m, k, required); v != "" && !zoned.MatchString(v) {
		s.fail("%q = %q is not a date-time with a zone", k, v)
	}
}

func (s shape) number(m map[string]any, k string) {
	s.t.Helper()
	if v, ok := m[k]; ok && v != nil {
		if _, ok := v.(float64); !ok {
			s.fail("%q must be a number, got %T", k, v)
		}
	}
}

// checkJSON validates a JSON answer of a kind and returns it decoded.
func checkJSON(t *testing.T, r *apptest.Response, kind string) any {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", kind, ct)
	}
	var v any
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", kind, err, r.Body)
	}
	s := shape{t, kind}
	switch kind {
	case "discovery":
		m := s.obj(v, "discovery")
		s.when(m, "changeset", true)
		s.str(m, "contact", true)
		s.str(m, "key_service", true)
		eps := s.arr(m["endpoints"], "endpoints")
		if len(eps) == 0 {
			s.fail("no endpoints")
		}
		for _, ep := range eps {
			e := s.obj(ep, "endpoint")
			for _, k := range []string{"specification", "url", "type"} {
				s.str(e, k, true)
			}
			s.when(e, "changeset", true)
			for _, f := range s.arr(e["formats"], "formats") {
				if _, ok := f.(string); !ok {
					s.fail("format %v is not a string", f)
				}
			}
		}
	case "services":
		for _, it := range s.arr(v, "services") {
			m := s.obj(it, "service")
			s.str(m, "service_code", true)
			s.str(m, "service_name", true)
			s.boolean(m, "metadata")
			if typ := s.str(m, "type", true); typ != "realtime" && typ != "batch" && typ != "blackbox" {
				s.fail("type %q", typ)
			}
			for _, k := range []string{"description", "keywords", "group"} {
				s.str(m, k, false)
			}
		}
	case "definition":
		m := s.obj(v, "service_definition")
		s.str(m, "service_code", true)
		orders := map[float64]bool{}
		for _, it := range s.arr(m["attributes"], "attributes") {
			a := s.obj(it, "attribute")
			s.boolean(a, "variable")
			s.boolean(a, "required")
			s.str(a, "code", true)
			s.str(a, "description", true)
			s.str(a, "datatype_description", false)
			dt := s.str(a, "datatype", true)
			if !strings.Contains(" string number datetime text singlevaluelist multivaluelist ", " "+dt+" ") {
				s.fail("datatype %q", dt)
			}
			o, ok := a["order"].(float64)
			if !ok || o < 1 || orders[o] {
				s.fail("order %v must be a unique positive number", a["order"])
			}
			orders[o] = true
			if vals, ok := a["values"]; ok {
				for _, vv := range s.arr(vals, "values") {
					val := s.obj(vv, "value")
					s.str(val, "key", true)
					s.str(val, "name", true)
				}
			} else if dt == "singlevaluelist" || dt == "multivaluelist" {
				s.fail("list attribute %v without values", a["code"])
			}
		}
	case "requests":
		for _, it := range s.arr(v, "requests") {
			m := s.obj(it, "request")
			s.str(m, "service_request_id", true)
			if st := s.str(m, "status", true); st != "open" && st != "closed" {
				s.fail("status %q", st)
			}
			s.str(m, "service_code", true)
			s.when(m, "requested_datetime", true)
			s.when(m, "updated_datetime", false)
			s.when(m, "expected_datetime", false)
			for _, k := range []string{"status_notes", "service_name", "description", "agency_responsible", "service_notice", "address", "address_id", "media_url"} {
				s.str(m, k, false)
			}
			if d := s.str(m, "description", false); len([]rune(d)) > 4000 {
				s.fail("description longer than 4000")
			}
			s.number(m, "lat")
			s.number(m, "long")
			for _, k := range personal {
				if _, ok := m[k]; ok {
					s.fail("personal data key %q in a request", k)
				}
			}
			if ext, ok := m["extended_attributes"]; ok {
				e := s.obj(ext, "extended_attributes")
				s.str(e, "channel", true)
				s.str(e, "state", true)
				s.str(e, "district_lgd", true)
				for _, a := range s.arr(e["attributes"], "attributes") {
					am := s.obj(a, "attribute")
					for _, k := range []string{"code", "label", "value", "name"} {
						s.str(am, k, true)
					}
				}
			}
			if notes, ok := m["notes"]; ok {
				for _, n := range s.arr(notes, "notes") {
					nm := s.obj(n, "note")
					s.when(nm, "datetime", true)
					s.str(nm, "type", true)
					s.str(nm, "summary", true)
					s.str(nm, "description", false)
				}
			}
		}
	case "posted":
		a := s.arr(v, "service_requests")
		if len(a) != 1 {
			s.fail("want one request, got %d", len(a))
		}
		for _, it := range a {
			m := s.obj(it, "request")
			s.str(m, "service_request_id", true)
			s.str(m, "service_notice", false)
			if _, ok := m["token"]; ok {
				s.fail("token returned with a service_request_id")
			}
		}
	case "tokens":
		a := s.arr(v, "tokens")
		if len(a) != 1 {
			s.fail("want one, got %d", len(a))
		}
		for _, it := range a {
			m := s.obj(it, "request")
			s.str(m, "service_request_id", true)
			s.str(m, "token", true)
		}
	case "updates":
		for _, it := range s.arr(v, "updates") {
			m := s.obj(it, "request_update")
			s.str(m, "update_id", true)
			s.str(m, "service_request_id", true)
			if st := s.str(m, "status", true); st != "open" && st != "closed" {
				s.fail("status %q", st)
			}
			s.when(m, "updated_datetime", true)
			s.str(m, "description", false)
		}
	case "posted_updates":
		a := s.arr(v, "updates")
		if len(a) != 1 {
			s.fail("want one, got %d", len(a))
		}
		for _, it := range a {
			s.str(s.obj(it, "request_update"), "update_id", true)
		}
	case "errors":
		a := s.arr(v, "errors")
		if len(a) == 0 {
			s.fail("an empty error list")
		}
		for _, it := range a {
			m := s.obj(it, "error")
			if c := s.str(m, "code", true); c != fmt.Sprint(r.Status) {
				s.fail("code %q with status %d", c, r.Status)
			}
			s.str(m, "description", true)
		}
		if r.Status != 400 && r.Status != 403 && r.Status != 404 {
			s.fail("error status %d", r.Status)
		}
	default:
		t.Fatalf("unknown kind %s", kind)
	}
	return v
}

// XML answers are parsed into typed structs, the way a client reads them.

type xEndpoint struct {
	Specification string   `xml:"specification"`
	URL           string   `xml:"url"`
	Changeset     string   `xml:"changeset"`
	Type          string   `xml:"type"`
	Formats       []string `xml:"formats>format"`
}

type xDiscovery struct {
	XMLName    xml.Name    `xml:"discovery"`
	Changeset  string      `xml:"changeset"`
	Contact    string      `xml:"contact"`
	KeyService string      `xml:"key_service"`
	Endpoints  []xEndpoint `xml:"endpoints>endpoint"`
}

type xServices struct {
	XMLName  xml.Name `xml:"services"`
	Services []struct {
		ServiceCode string `xml:"service_code"`
		ServiceName string `xml:"service_name"`
		Metadata    bool   `xml:"metadata"`
		Type        string `xml:"type"`
		Group       string `xml:"group"`
	} `xml:"service"`
}

type xDefinition struct {
	XMLName     xml.Name `xml:"service_definition"`
	ServiceCode string   `xml:"service_code"`
	Attributes  []struct {
		Variable bool   `xml:"variable"`
		Code     string `xml:"code"`
		Datatype string `xml:"datatype"`
		Required bool   `xml:"required"`
		Order    int    `xml:"order"`
		Values   []struct {
			Key  string `xml:"key"`
			Name string `xml:"name"`
		} `xml:"values>value"`
	} `xml:"attributes>attribute"`
}

type xRequest struct {
	ServiceRequestID  string   `xml:"service_request_id"`
	Token             string   `xml:"token"`
	Status            string   `xml:"status"`
	StatusNotes       string   `xml:"status_notes"`
	ServiceCode       string   `xml:"service_code"`
	ServiceNotice     string   `xml:"service_notice"`
	Description       string   `xml:"description"`
	AgencyResponsible string   `xml:"agency_responsible"`
	RequestedDatetime string   `xml:"requested_datetime"`
	UpdatedDatetime   string   `xml:"updated_datetime"`
	ExpectedDatetime  string   `xml:"expected_datetime"`
	Lat               *float64 `xml:"lat"`
	Long              *float64 `xml:"long"`
	MediaURL          string   `xml:"media_url"`
	Notes             []struct {
		Type        string `xml:"type"`
		Description string `xml:"description"`
	} `xml:"notes>note"`
}

type xRequests struct {
	XMLName  xml.Name   `xml:"service_requests"`
	Requests []xRequest `xml:"request"`
}

type xErrors struct {
	XMLName xml.Name `xml:"errors"`
	Errors  []struct {
		Code        string `xml:"code"`
		Description string `xml:"description"`
	} `xml:"error"`
}

type xUpdates struct {
	XMLName xml.Name `xml:"service_request_updates"`
	Updates []struct {
		UpdateID         string `xml:"update_id"`
		ServiceRequestID string `xml:"service_request_id"`
		Status           string `xml:"status"`
		UpdatedDatetime  string `xml:"updated_datetime"`
		Description      string `xml:"description"`
	} `xml:"request_update"`
}

// checkXML parses an XML answer into v (a pointer to one of the x… types).
func checkXML(t *testing.T, r *apptest.Response, v any) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.HasPrefix(r.Body, `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration: %.80s", r.Body)
	}
	d := xml.NewDecoder(strings.NewReader(r.Body))
	d.Strict = true
	if err := d.Decode(v); err != nil {
		t.Fatalf("XML: %v\n%s", err, r.Body)
	}
	if e, ok := v.(*xErrors); ok {
		if len(e.Errors) == 0 {
			t.Errorf("an empty error list")
		}
		for _, x := range e.Errors {
			if x.Code != fmt.Sprint(r.Status) || x.Description == "" {
				t.Errorf("error %+v with status %d", x, r.Status)
			}
		}
	}
}

func zonedTime(t time.Time) string { return t.Format(time.RFC3339) }
