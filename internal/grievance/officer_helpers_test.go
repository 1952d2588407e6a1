package grievance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/grievance"
	"mizogov/internal/workflow"
)

const (
	aizawl  = int64(1)
	lunglei = int64(7)
)

// office is a platform with PWD and PHED, a pothole category (PWD, with a
// question) and a water category (PHED), and officers:
// gro and field (PWD Aizawl), gro2 (PWD Lunglei), phed (PHED Aizawl),
// hod (PWD, every district), helpdesk and admin.
type office struct {
	e          *apptest.Env
	svc        *grievance.Service
	pwd, phed  int64
	creds      map[string]auth.Credentials
	api        map[string]*apptest.Client
	citizenID  int64
	citizen2ID int64
	n          int
}

func newOffice(t *testing.T, e *apptest.Env) *office {
	t.Helper()
	ctx := context.Background()
	a := e.App
	o := &office{e: e, creds: map[string]auth.Credentials{}, api: map[string]*apptest.Client{}}
	o.svc = &grievance.Service{DB: a.DB, Audit: a.Audit, Notify: a.Notify, Jobs: a.Jobs, Workflow: a.Workflow, Files: a.Files,
		Geo: a.Geo, Auth: a.Auth, Limits: a.Limits, Render: a.Render, Log: a.Log, Now: a.Now}
	var err error
	if o.pwd, err = a.Auth.SaveDepartment(ctx, nil, auth.Department{Code: "PWD", Name: "Public Works Department", NameLus: "PWD", Active: true}); err != nil {
		t.Fatal(err)
	}
	if o.phed, err = a.Auth.SaveDepartment(ctx, nil, auth.Department{Code: "PHED", Name: "Public Health Engineering Department", NameLus: "PHED", Active: true}); err != nil {
		t.Fatal(err)
	}
	err = a.DB.Tx(ctx, func(tx *db.Tx) error {
		if _, err := o.svc.SaveCategory(ctx, tx, grievance.Category{Code: "pothole", DepartmentID: o.pwd, Name: "Pothole or damaged road",
			NameLus: "Kawngpui chhe", SLADays: 21, Active: true, Attributes: []grievance.Attribute{{Code: "size", Datatype: grievance.AttrSingle,
				Required: true, Description: "How big is it?", DescriptionLus: "A lian em?", Values: []grievance.AttrValue{
					{Key: "small", Name: "Small", NameLus: "A te"}, {Key: "large", Name: "Large", NameLus: "A lian"}}}}}); err != nil {
			return err
		}
		_, err := o.svc.SaveCategory(ctx, tx, grievance.Category{Code: "water", DepartmentID: o.phed, Name: "No water supply",
			NameLus: "Tui lut lo", SLADays: 10, Active: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name, role string
		dept, dist int64
	}{
		{"gro", grievance.RoleGRO, o.pwd, aizawl}, {"field", grievance.RoleField, o.pwd, aizawl}, {"gro2", grievance.RoleGRO, o.pwd, lunglei},
		{"phed", grievance.RoleGRO, o.phed, aizawl}, {"hod", auth.RoleHOD, o.pwd, 0}, {"helpdesk", grievance.RoleHelpdesk, 0, 0},
		{"admin", auth.RoleAdmin, 0, 0},
	} {
		o.creds[u.name] = e.Officer(t, "t."+u.name, u.role, u.dept, u.dist)
	}
	err = a.DB.Tx(ctx, func(tx *db.Tx) error {
		var err error
		if o.citizenID, err = a.Auth.Store.CreatePerson(ctx, tx, auth.Person{Name: "Lalremsiami", Phone: "+919862000011", Lang: "en"}, a.Now()); err != nil {
			return err
		}
		o.citizen2ID, err = a.Auth.Store.CreatePerson(ctx, tx, auth.Person{Name: "Vanlalruata", Phone: "+919862000012", Lang: "lus"}, a.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	o.login(t)
	return o
}

// login signs every officer in through the API (again after the clock moved).
func (o *office) login(t *testing.T) {
	t.Helper()
	for name, c := range o.creds {
		o.api[name] = o.e.Staff(t, c)
	}
}

// browser signs an officer in through the web form.
func (o *office) browser(t *testing.T, name string) *apptest.Client {
	t.Helper()
	return o.e.StaffBrowser(t, o.creds[name])
}

// file files a grievance through Service.File.
func (o *office) file(t *testing.T, category, description string, district, citizen int64) grievance.Grievance {
	t.Helper()
	o.n++
	in := grievance.NewGrievance{Category: category, Description: description, DistrictID: district, CitizenID: citizen,
		Channel: grievance.ChannelWeb, Lang: "en", Token: fmt.Sprintf("test:%d:%d", citizen, o.n),
		Actor: grievanceActor(citizen)}
	if category == "pothole" {
		in.Attributes = map[string][]string{"size": {"large"}}
	}
	g, err := o.svc.File(context.Background(), in)
	if err != nil {
		t.Fatalf("file: %v", err)
	}
	return g
}

type row struct {
	Ref          string `json:"ref"`
	State        string `json:"state"`
	Version      int    `json:"version"`
	Overdue      bool   `json:"overdue"`
	NeedsInterim bool   `json:"needs_interim_reply"`
	Supporters   int    `json:"supporters"`
	Priority     int    `json:"priority"`
	Level        int    `json:"escalation_level"`
}

type inboxPage struct {
	Rows []row  `json:"grievances"`
	Next string `json:"next"`
}

func decode(t *testing.T, r *apptest.Response, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("%d %s: %v", r.Status, r.Body, err)
	}
}

// inbox fetches an inbox page through the API (status 200 required).
func (o *office) inbox(t *testing.T, who, query string) inboxPage {
	t.Helper()
	r := o.api[who].Get(t, "/api/v1/grievances/inbox?"+query)
	if r.Status != http.StatusOK {
		t.Fatalf("inbox %s %s: %d %s", who, query, r.Status, r.Body)
	}
	var p inboxPage
	decode(t, r, &p)
	return p
}

func refs(rows []row) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.Ref)
	}
	return out
}

func has(rows []row, ref string) bool {
	for _, r := range rows {
		if r.Ref == ref {
			return true
		}
	}
	return false
}

// version is a case's current version, read from the database.
func (o *office) version(t *testing.T, ref string) int {
	t.Helper()
	var v int
	if err := o.e.App.DB.R().QueryRow(`SELECT version FROM wf_cases WHERE type = 'grievance' AND ref = $1`, ref).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (o *office) state(t *testing.T, ref string) string {
	t.Helper()
	var s string
	if err := o.e.App.DB.R().QueryRow(`SELECT state FROM wf_cases WHERE type = 'grievance' AND ref = $1`, ref).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// act takes an officer's action through the API with the current version.
func (o *office) act(t *testing.T, who, ref string, body map[string]any) *apptest.Response {
	t.Helper()
	if _, ok := body["version"]; !ok {
		body["version"] = o.version(t, ref)
	}
	return o.api[who].JSON(t, "POST", "/api/v1/grievances/"+url.PathEscape(ref)+"/act", body)
}

// mustAct is act that must succeed.
func (o *office) mustAct(t *testing.T, who, ref string, body map[string]any) {
	t.Helper()
	if r := o.act(t, who, ref, body); r.Status != http.StatusOK {
		t.Fatalf("%s %v: %d %s", who, body, r.Status, r.Body)
	}
}

func errCode(t *testing.T, r *apptest.Response) string {
	t.Helper()
	m := r.JSON(t)
	e, _ := m["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error in %s", r.Body)
	}
	code, _ := e["code"].(string)
	return code
}

func fieldErr(t *testing.T, r *apptest.Response, field string) bool {
	t.Helper()
	m := r.JSON(t)
	e, _ := m["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	_, ok := f[field]
	return ok
}

// advance moves the clock and signs the officers in again.
func (o *office) advance(t *testing.T, d time.Duration) {
	t.Helper()
	o.e.Clock.Advance(d)
	o.login(t)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func grievanceActor(person int64) workflow.Actor {
	return workflow.Actor{ID: person, Roles: func(int64, int64) []string { return nil }}
}
