package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mizogov/internal/i18n"
)

func TestDecodeJSON(t *testing.T) {
	type req struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	for body, code := range map[string]string{
		`{"name":"a","n":1}`:     "",
		`{"name":"a","x":1}`:     "unknown_field",
		`{"name":1}`:             "invalid_json",
		`{"name":"a"`:            "invalid_json",
		`{"name":"a"} {"n":2}`:   "invalid_json",
		`[]`:                     "invalid_json",
		`{"name":"a","n":1e400}`: "invalid_json",
	} {
		r := httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
		var v req
		err := DecodeJSON(r, &v)
		if code == "" {
			if err != nil {
				t.Errorf("%s: %v", body, err)
			}
			continue
		}
		if e := AsError(err); e.Status != 400 || e.Code != code {
			t.Errorf("%s: %v, want %s", body, err, code)
		}
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "text/plain")
	if e := AsError(DecodeJSON(r, &struct{}{})); e.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("content type: %d", e.Status)
	}
}

func TestOpenAPISchemas(t *testing.T) {
	type Inner struct {
		When time.Time `json:"when"`
	}
	type Body struct {
		Name  string            `json:"name" doc:"who"`
		Kind  string            `json:"kind" enum:"a,b"`
		Opt   string            `json:"opt,omitempty"`
		Ptr   *int              `json:"ptr"`
		List  []Inner           `json:"list"`
		Attrs map[string]string `json:"attrs,omitempty"`
	}
	doc := OpenAPI([]Route{{Pattern: "POST /api/v1/things/{id}", Perm: SignedIn, API: &APIDoc{Summary: "s", Request: Body{}, Response: Inner{}, Status: 201, Idempotent: true}},
		{Pattern: "GET /not-api", Handler: nil}}, "test")
	paths := doc["paths"].(map[string]map[string]any)
	op := paths["/api/v1/things/{id}"]["post"].(map[string]any)
	if op["operationId"] != "postThingsId" || op["responses"].(map[string]any)["201"] == nil {
		t.Fatalf("op %v", op)
	}
	if len(paths) != 1 {
		t.Fatal("non-API route documented")
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	body := schemas["Body"].(map[string]any)
	req := body["required"].([]string)
	if strings.Join(req, ",") != "kind,list,name" {
		t.Fatalf("required %v", req)
	}
	props := body["properties"].(map[string]any)
	if props["kind"].(map[string]any)["enum"] == nil || props["name"].(map[string]any)["description"] != "who" {
		t.Fatalf("props %v", props)
	}
	if schemas["Inner"].(map[string]any)["properties"].(map[string]any)["when"].(map[string]any)["format"] != "date-time" {
		t.Fatal("time format")
	}
}

func TestFields(t *testing.T) {
	var f *Fields
	if !f.Empty() || f.Err() != nil || f.Has("x") {
		t.Fatal("nil fields")
	}
	f = &Fields{}
	f.Add("a", "k1")
	f.Add("a", "k2")
	f.Add("b", "k3")
	if len(f.List) != 2 || f.List[0].Key != "k1" {
		t.Fatalf("%v", f.List)
	}
	if e := AsError(f.Err()); e.Status != 422 {
		t.Fatal(e.Status)
	}
}

// TestFormatErrorsByPrefix: errors under a prefix use the protocol's own
// format, including one raised before any route (authentication).
func TestFormatErrorsByPrefix(t *testing.T) {
	cat, err := i18n.New(i18n.Core())
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Cat: cat, Auth: func(r *http.Request) (User, error) {
		if r.Header.Get("Authorization") != "" {
			return nil, Unauthorized()
		}
		return nil, nil
	}}
	proto := func(w http.ResponseWriter, r *http.Request, e *Error, msg string) {
		w.Header().Set("Content-Type", "application/x-proto")
		w.WriteHeader(e.Status)
		w.Write([]byte("proto:" + e.Code))
	}
	s.FormatErrors("/proto/", proto)
	s.Mount(Route{Pattern: "GET /proto/x", Perm: Public, Handler: func(w http.ResponseWriter, r *http.Request) error { return NotFound() }},
		Route{Pattern: "GET /api/v1/x", Perm: Public, Handler: func(w http.ResponseWriter, r *http.Request) error { return NotFound() }})
	h := s.Handler()
	for _, tc := range []struct {
		path, auth, want string
		status           int
	}{
		{"/proto/x", "", "proto:not_found", 404},
		{"/proto/x", "Bearer bad", "proto:unauthorized", 401},
		{"/api/v1/x", "", `"code":"not_found"`, 404},
	} {
		r := httptest.NewRequest("GET", tc.path, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d %s", tc.path, w.Code, w.Body)
		}
	}
}

func TestFormRefused(t *testing.T) {
	f := &Form{Values: map[string]string{}}
	if err := f.Refused(Conflict("x.taken"), "name"); err != nil || !f.Errors.Has("name") {
		t.Fatalf("a refusal goes by the field: %v %+v", err, f.Errors)
	}
	fields := &Fields{}
	fields.Add("email", "x.bad")
	f = &Form{Values: map[string]string{}}
	if err := f.Refused(Invalid(fields), "name"); err != nil || !f.Errors.Has("email") || f.Errors.Has("name") {
		t.Fatalf("field errors keep their fields: %v %+v", err, f.Errors)
	}
	for _, err := range []error{NotFound(), Forbidden(), errors.New("disk")} {
		if got := (&Form{}).Refused(err, "name"); got != err {
			t.Errorf("%v is not about the input but was put on the form", err)
		}
	}
}
