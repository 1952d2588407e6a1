package grievance_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/db"
	"mizogov/internal/files"
	"mizogov/internal/grievance"
	"mizogov/internal/workflow"
)

func ids(t *testing.T, r *apptest.Response) []string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var out []string
	for _, it := range checkJSON(t, r, "requests").([]any) {
		out = append(out, it.(map[string]any)["service_request_id"].(string))
	}
	return out
}

func same(a []string, b ...string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOpen311Requests: the filters of GET requests, their defaults and
// their bad values.
func TestOpen311Requests(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		x := setupO311(t, e)
		t0 := e.Clock.Now()
		old := x.file(t, "pothole", 23.7271, 92.7176, 1)
		e.Clock.Advance(100 * 24 * time.Hour)
		t1 := e.Clock.Now()
		a := x.file(t, "pothole", 23.7300, 92.7200, 1) // Aizawl
		e.Clock.Advance(time.Hour)
		b := x.file(t, "streetlight", 23.7350, 92.7150, 1) // Aizawl, ~700 m from a
		e.Clock.Advance(time.Hour)
		c := x.file(t, "pothole", 22.8800, 92.7300, 7) // Lunglei
		e.Clock.Advance(time.Hour)
		t2 := e.Clock.Now()
		e.Clock.Advance(time.Minute)
		x.officer(t, b.CaseID, "resolve", "New lamp fitted on 27 November")
		e.Clock.Advance(time.Minute)

		// Default: the last 90 days, newest first.
		if got := ids(t, x.get(t, "/requests.json")); !same(got, c.Ref, b.Ref, a.Ref) {
			t.Errorf("default window: %v", got)
		}
		var xr xRequests
		checkXML(t, x.get(t, "/requests.xml"), &xr)
		if len(xr.Requests) != 3 || xr.Requests[1].Status != "closed" || xr.Requests[1].StatusNotes != "New lamp fitted on 27 November" ||
			xr.Requests[0].Lat == nil || xr.Requests[0].AgencyResponsible != "Public Works" {
			t.Errorf("requests.xml %+v", xr)
		}
		q := func(v url.Values) []string { return ids(t, x.get(t, "/requests.json?"+v.Encode())) }
		// A window that holds the old one, an end alone, a start alone.
		if got := q(url.Values{"start_date": {zonedTime(t0.Add(-time.Hour))}, "end_date": {zonedTime(t0.Add(time.Hour))}}); !same(got, old.Ref) {
			t.Errorf("old window: %v", got)
		}
		if got := q(url.Values{"start_date": {zonedTime(t1.Add(-time.Minute).In(time.FixedZone("x", -8*3600)))}}); !same(got, c.Ref, b.Ref, a.Ref) {
			t.Errorf("start only (another zone): %v", got)
		}
		if got := q(url.Values{"end_date": {zonedTime(t0.Add(time.Hour))}}); !same(got, old.Ref) {
			t.Errorf("end only: %v", got)
		}
		// Status and service_code (comma lists; empty is absent).
		if got := q(url.Values{"status": {"closed"}}); !same(got, b.Ref) {
			t.Errorf("closed: %v", got)
		}
		if got := q(url.Values{"status": {"open"}, "service_code": {"pothole"}}); !same(got, c.Ref, a.Ref) {
			t.Errorf("open potholes: %v", got)
		}
		if got := q(url.Values{"status": {"open,closed"}, "service_code": {"streetlight,nope"}, "page": {""}}); !same(got, b.Ref) {
			t.Errorf("lists: %v", got)
		}
		// service_request_id overrides every other argument.
		if got := q(url.Values{"service_request_id": {old.Ref + ", " + c.Ref + ",MZ-GRV-0000-000000-0,junk"}, "status": {"closed"},
			"service_code": {"streetlight"}, "start_date": {zonedTime(t2)}, "page_size": {"1"}, "page": {"5"}}); len(got) != 2 {
			t.Errorf("override: %v", got)
		}
		// Updated since: only what changed, oldest change first.
		if got := q(url.Values{"updated_after": {zonedTime(t2)}}); !same(got, b.Ref) {
			t.Errorf("updated_after: %v", got)
		}
		if got := q(url.Values{"updated_before": {zonedTime(t1.Add(-time.Hour))}}); !same(got, old.Ref) {
			t.Errorf("updated_before: %v", got)
		}
		// Near a point.
		if got := q(url.Values{"lat": {"23.7300"}, "long": {"92.7200"}, "radius": {"300"}}); !same(got, a.Ref) {
			t.Errorf("300 m: %v", got)
		}
		if got := q(url.Values{"lat": {"23.7300"}, "long": {"92.7200"}, "radius": {"1500"}}); !same(got, b.Ref, a.Ref) {
			t.Errorf("1500 m: %v", got)
		}
		if got := q(url.Values{"lat": {"23.7300"}, "long": {"92.7200"}, "radius": {"50000"}}); !same(got, b.Ref, a.Ref) {
			t.Errorf("50 km: %v", got)
		}
		if got := q(url.Values{"lat": {"22.8801"}, "long": {"92.7301"}}); !same(got, c.Ref) {
			t.Errorf("default radius: %v", got)
		}
		// Pages.
		p1 := q(url.Values{"page_size": {"2"}})
		p2 := q(url.Values{"page_size": {"2"}, "page": {"2"}})
		p3 := q(url.Values{"page_size": {"2"}, "page": {"3"}})
		if !same(p1, c.Ref, b.Ref) || !same(p2, a.Ref) || len(p3) != 0 {
			t.Errorf("pages %v %v %v", p1, p2, p3)
		}
		if r := x.get(t, "/requests.json?page_size=2&page=3"); strings.TrimSpace(r.Body) != "[]" {
			t.Errorf("an empty page is not []: %s", r.Body)
		}

		// Bad arguments: 400 in Open311's format.
		for _, v := range []url.Values{
			{"start_date": {"2026-11-01T10:00:00"}},
			{"end_date": {"2026-11-01"}},
			{"updated_after": {"yesterday"}},
			{"start_date": {zonedTime(t0)}, "end_date": {zonedTime(t0.Add(91 * 24 * time.Hour))}},
			{"start_date": {zonedTime(t1)}, "end_date": {zonedTime(t0)}},
			{"status": {"pending"}},
			{"lat": {"23.7"}},
			{"lat": {"23.7"}, "long": {"92.7"}, "radius": {"50001"}},
			{"radius": {"100"}},
			{"lat": {"23.7"}, "long": {"92.7"}, "radius": {"-5"}},
			{"page": {"0"}},
			{"page_size": {"1001"}},
			{"page_size": {"ten"}},
			{"service_request_id": {strings.Repeat("a,", 201)}},
		} {
			r := x.get(t, "/requests.json?"+v.Encode())
			if r.Status != 400 {
				t.Errorf("%v: %d %s", v, r.Status, r.Body)
				continue
			}
			checkJSON(t, r, "errors")
			var ex xErrors
			checkXML(t, x.get(t, "/requests.xml?"+v.Encode()), &ex)
		}
		if r := x.get(t, "/requests.json?start_date=2026-11-01T10:00:00"); !strings.Contains(r.Body, "start_date") {
			t.Errorf("the error names the argument: %s", r.Body)
		}

		// One request; unknown ones are 404.
		one := checkJSON(t, x.get(t, "/requests/"+b.Ref+".json"), "requests").([]any)
		if len(one) != 1 || one[0].(map[string]any)["status"] != "closed" {
			t.Errorf("one: %v", one)
		}
		var ox xRequests
		checkXML(t, x.get(t, "/requests/"+strings.ToLower(b.Ref)+".xml"), &ox)
		if len(ox.Requests) != 1 || ox.Requests[0].ServiceRequestID != b.Ref {
			t.Errorf("one.xml %+v", ox)
		}
		for _, p := range []string{"/requests/MZ-GRV-2627-999999-1.json", "/requests/nope.json", "/requests/MZ-ILP-2627-000001-4.json"} {
			r := x.get(t, p)
			if r.Status != 404 {
				t.Errorf("%s: %d", p, r.Status)
			}
			checkJSON(t, r, "errors")
		}
	})
}

// TestOpen311Defaults: at most 1,000 requests by default and per page.
func TestOpen311Defaults(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		x := setupO311(t, e)
		ctx := context.Background()
		lat, lng := 23.73, 92.72
		err := e.App.DB.Tx(ctx, func(tx *db.Tx) error {
			for i := range 1001 {
				if _, err := x.svc.FileTx(ctx, tx, grievance.NewGrievance{Category: "streetlight", Description: fmt.Sprint("Lamp ", i),
					DistrictID: 1, Lat: &lat, Lng: &lng, Channel: grievance.ChannelWeb, Actor: workflow.Actor{Label: "test"}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(t, x.get(t, "/requests.json")); len(got) != 1000 {
			t.Errorf("default: %d", len(got))
		}
		if got := ids(t, x.get(t, "/requests.json?page=2")); len(got) != 1 {
			t.Errorf("page 2: %d", len(got))
		}
		if got := ids(t, x.get(t, "/requests.json?page_size=1000&page=2")); len(got) != 1 {
			t.Errorf("page 2 of 1000: %d", len(got))
		}
	})
}

// TestOpen311Extensions: extensions=true adds the answers, the district,
// the photos and the public history as notes (without the reporter's words).
func TestOpen311Extensions(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		x := setupO311(t, e)
		// A photo, filed as the web form does.
		img := image.NewRGBA(image.Rect(0, 0, 8, 8))
		img.Set(1, 1, color.RGBA{R: 200, A: 255})
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		up, err := files.Check(buf.Bytes(), "hole.png", grievance.MaxPhoto, files.Images...)
		if err != nil {
			t.Fatal(err)
		}
		lat, lng := 23.73, 92.72
		g, err := x.svc.File(context.Background(), grievance.NewGrievance{Category: "pothole", Description: "Hole with a photo", DistrictID: 1,
			Lat: &lat, Lng: &lng, Channel: grievance.ChannelWeb, Attributes: map[string][]string{"ROADTYPE": {"NH"}, "HAZARD": {"NIGHT", "WATER"}},
			Photos: []files.Upload{up}, Actor: workflow.Actor{Label: "test"}})
		if err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Hour)
		x.officer(t, g.CaseID, "ask_info", "How wide is it?")
		e.Clock.Advance(time.Hour)
		x.act(t, g.CaseID, "no_reply", "", workflow.System)
		e.Clock.Advance(time.Hour)
		x.officer(t, g.CaseID, "resolve", "Filled with bitumen")

		r := x.get(t, "/requests/"+g.Ref+".json?extensions=true")
		req := checkJSON(t, r, "requests").([]any)[0].(map[string]any)
		ext := req["extended_attributes"].(map[string]any)
		if ext["channel"] != "web" || ext["state"] != "resolved" || ext["district_lgd"] != "261" || len(ext["attributes"].([]any)) != 3 {
			t.Errorf("extended_attributes %v", ext)
		}
		first := ext["attributes"].([]any)[0].(map[string]any)
		if first["code"] != "HAZARD" || first["label"] != "Hazards" || first["value"] != "NIGHT" || first["name"] != "Unlit" {
			t.Errorf("answer %v", first)
		}
		notes := req["notes"].([]any)
		if len(notes) != 4 || notes[0].(map[string]any)["type"] != "opened" || notes[3].(map[string]any)["type"] != "closed" ||
			notes[3].(map[string]any)["description"] != "Filled with bitumen" || notes[2].(map[string]any)["summary"] == "" || notes[1].(map[string]any)["description"] != "How wide is it?" {
			t.Errorf("notes %v", notes)
		}
		// The citizen's photo is counted, never published.
		if req["media_url"] != nil || ext["photos"] != float64(1) {
			t.Errorf("media_url %v, photos %v", req["media_url"], ext["photos"])
		}
		// Without extensions: no notes, no extended attributes.
		plain := checkJSON(t, x.get(t, "/requests/"+g.Ref+".json"), "requests").([]any)[0].(map[string]any)
		if plain["notes"] != nil || plain["extended_attributes"] != nil {
			t.Errorf("extensions without asking: %v", plain)
		}
		var xr xRequests
		checkXML(t, x.get(t, "/requests.xml?extensions=true"), &xr)
		if len(xr.Requests) != 1 || len(xr.Requests[0].Notes) != 4 || xr.Requests[0].Notes[3].Type != "closed" {
			t.Errorf("notes.xml %+v", xr)
		}
		if r := x.get(t, "/requests/"+g.Ref+"/media/1"); r.Status != 404 {
			t.Errorf("a citizen's photo is published: %d", r.Status)
		}
	})
}
