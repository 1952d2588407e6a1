package grievance_test

import (
	"net/http"
	"strings"
	"testing"

	"mizogov/internal/app/apptest"
	"mizogov/internal/grievance"
)

// TestOpen311Discovery: discovery, the service list and definitions in both
// formats, with the spec's shapes, content types and CORS.
func TestOpen311Discovery(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		x := setupO311(t, e)

		r := x.get(t, "/discovery.json")
		if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("discovery: %d %v", r.Status, r.Header)
		}
		d := checkJSON(t, r, "discovery").(map[string]any)
		ep := d["endpoints"].([]any)[0].(map[string]any)
		if ep["specification"] != "http://wiki.open311.org/GeoReport_v2" || !strings.HasSuffix(ep["url"].(string), "/open311/v2") {
			t.Errorf("endpoint %v", ep)
		}
		var dx xDiscovery
		checkXML(t, x.get(t, "/discovery.xml"), &dx)
		if len(dx.Endpoints) != 1 || len(dx.Endpoints[0].Formats) != 2 || dx.KeyService == "" {
			t.Errorf("discovery.xml %+v", dx)
		}

		list := checkJSON(t, x.get(t, "/services.json"), "services").([]any)
		codes := map[string]map[string]any{}
		for _, s := range list {
			m := s.(map[string]any)
			codes[m["service_code"].(string)] = m
		}
		if len(codes) != 2 || codes["retired"] != nil || codes["pothole"]["metadata"] != true || codes["streetlight"]["metadata"] != false ||
			codes["pothole"]["group"] != "Public Works" || codes["pothole"]["type"] != "realtime" {
			t.Errorf("services %v", codes)
		}
		var sx xServices
		checkXML(t, x.get(t, "/services.xml"), &sx)
		if len(sx.Services) != 2 {
			t.Errorf("services.xml %+v", sx)
		}
		// Mizo names for a Mizo client.
		x.c.Lang = "lus"
		if r := x.get(t, "/services.json"); !strings.Contains(r.Body, "Kawng khur") {
			t.Errorf("lus services: %s", r.Body)
		}
		x.c.Lang = ""

		def := checkJSON(t, x.get(t, "/services/pothole.json"), "definition").(map[string]any)
		attrs := def["attributes"].([]any)
		if len(attrs) != 4 || attrs[0].(map[string]any)["required"] != true || attrs[3].(map[string]any)["variable"] != false {
			t.Errorf("definition %v", def)
		}
		var dfx xDefinition
		checkXML(t, x.get(t, "/services/pothole.xml"), &dfx)
		if dfx.ServiceCode != "pothole" || len(dfx.Attributes) != 4 || len(dfx.Attributes[0].Values) != 2 || dfx.Attributes[1].Datatype != "multivaluelist" {
			t.Errorf("definition.xml %+v", dfx)
		}
		checkJSON(t, x.get(t, "/services/streetlight.json"), "definition")

		// Not found: unknown and inactive services, bad or missing
		// extensions, unknown paths and jurisdictions, all in Open311's format.
		for _, p := range []string{"/services/nope.json", "/services/retired.json", "/nothing.json", "/services/pothole.html.json",
			"/services.json?jurisdiction_id=example.org"} {
			r := x.get(t, p)
			if r.Status != 404 {
				t.Errorf("%s: %d", p, r.Status)
			}
			checkJSON(t, r, "errors")
		}
		for _, p := range []string{"/services/pothole.csv", "/services", "/services/pothole", "/requests", "/discovery", "/requests/MZ-GRV-2627-000001-7",
			"/services/nope.xml", "/tokens/abc"} {
			r := x.get(t, p)
			var ex xErrors
			if r.Status != 404 {
				t.Errorf("%s: %d", p, r.Status)
			}
			checkXML(t, r, &ex)
		}
		if r := x.get(t, "/services.json?jurisdiction_id=mizoram.gov.in"); r.Status != 200 {
			t.Errorf("our jurisdiction: %d", r.Status)
		}
		// Other methods, a preflight, and a bad bearer token.
		if r := x.c.Do(t, "DELETE", grievance.Open311Base+"/requests.json", nil, ""); r.Status != 404 || strings.Contains(r.Body, "<html") {
			t.Errorf("DELETE: %d %s", r.Status, r.Body)
		} else {
			checkJSON(t, r, "errors")
		}
		r = x.c.Do(t, "OPTIONS", grievance.Open311Base+"/requests.json", nil, "")
		if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "GET") {
			t.Errorf("preflight: %d %v", r.Status, r.Header)
		}
		bad := e.Client()
		bad.Token = "not-a-session"
		r = bad.Get(t, grievance.Open311Base+"/services.json")
		if r.Status != 403 {
			t.Errorf("bad bearer: %d", r.Status)
		}
		checkJSON(t, r, "errors")
		// Errors speak the client's language.
		x.c.Lang = "lus"
		if r := x.get(t, "/services/nope.json"); !strings.Contains(r.Body, "a awm lo") {
			t.Errorf("lus error: %s", r.Body)
		}
	})
}
