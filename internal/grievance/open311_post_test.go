package grievance_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
)

func potholeForm(key string) url.Values {
	return url.Values{"api_key": {key}, "service_code": {"pothole"}, "lat": {"23.7301"}, "long": {"92.7190"},
		"address_string": {"Zarkawt main road, Aizawl"}, "description": {"A deep pothole near the bus stop"},
		"attribute[ROADTYPE]": {"TOWN"}, "attribute[HAZARD][]": {"WATER", "NIGHT"}, "attribute[DEPTH]": {"30"}}
}

// TestOpen311Post files through Open311 in both formats: the reply's shape,
// the grievance's district, owner and acknowledgement, the token, and a
// retried POST that files once.
func TestOpen311Post(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		x := setupO311(t, e)
		f := potholeForm(x.key)
		f.Set("phone", "98620 77777")
		f.Set("email", "Reporter@Example.org")
		f.Set("first_name", "Zorami")
		f.Set("last_name", "Hnamte")
		f.Set("media_url", "https://example.org/photo.jpg")
		f.Set("device_id", "device-1")
		r := x.post(t, "/requests.json", f)
		if r.Status != 200 {
			t.Fatalf("post: %d %s", r.Status, r.Body)
		}
		posted := checkJSON(t, r, "posted").([]any)[0].(map[string]any)
		ref := posted["service_request_id"].(string)
		token := r.Header.Get("Open311-Token")
		if !strings.HasPrefix(ref, "MZ-GRV-") || token == "" || !strings.Contains(posted["service_notice"].(string), "15 days") {
			t.Fatalf("reply %v token %q", posted, token)
		}
		// The grievance: channel, client, district (nearest HQ: Aizawl),
		// answers, and its owner found or made from the phone.
		var channel, client, caller string
		var district, owner int64
		if err := e.App.DB.R().QueryRow(`SELECT channel, api_client, district_id, citizen_id, caller_name FROM grv_grievances WHERE ref = $1`, ref).
			Scan(&channel, &client, &district, &owner, &caller); err != nil {
			t.Fatal(err)
		}
		if channel != "open311" || client != "fms-test" || district != 1 || owner == 0 || caller != "Zorami Hnamte" {
			t.Errorf("filed %s %s %d %d %q", channel, client, district, owner, caller)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM people WHERE id = $1 AND phone = '+919862077777' AND email = 'reporter@example.org'`, owner); n != 1 {
			t.Errorf("reporter not created with phone and email")
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM grv_attribute_values WHERE grievance_id = (SELECT case_id FROM grv_grievances WHERE ref = $1)`, ref); n != 4 {
			t.Errorf("answers: %d", n)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if m, ok := e.SMS.Last("+919862077777"); ok && strings.Contains(m.Body, ref) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no acknowledgement reached the reporter: %v", e.SMS.Sent())
			}
			time.Sleep(20 * time.Millisecond)
		}

		// Reading it back: no personal data, the client's media_url.
		r = x.get(t, "/requests/"+ref+".json")
		req := checkJSON(t, r, "requests").([]any)[0].(map[string]any)
		for _, secret := range []string{"77777", "eporter", "Zorami", "Hnamte", "device-1"} {
			if strings.Contains(r.Body, secret) {
				t.Errorf("personal data %q in %s", secret, r.Body)
			}
		}
		if req["status"] != "open" || req["service_code"] != "pothole" || req["agency_responsible"] != "Public Works" ||
			req["media_url"] != "https://example.org/photo.jpg" || req["lat"] != 23.7301 || req["expected_datetime"] == nil ||
			req["address"] != "Zarkawt main road, Aizawl" {
			t.Errorf("request %v", req)
		}
		// The token resolves, in both formats.
		tok := checkJSON(t, x.get(t, "/tokens/"+token+".json"), "tokens").([]any)[0].(map[string]any)
		if tok["service_request_id"] != ref || tok["token"] != token {
			t.Errorf("token %v", tok)
		}
		var tx xRequests
		checkXML(t, x.get(t, "/tokens/"+token+".xml"), &tx)
		if len(tx.Requests) != 1 || tx.Requests[0].ServiceRequestID != ref || tx.Requests[0].Token != token {
			t.Errorf("token.xml %+v", tx)
		}

		// XML, without a reporter: the grievance has no owner. Districts
		// from a point near Lunglei, a village code, a district name.
		before := e.Count(t, `SELECT COUNT(*) FROM people`)
		for _, c := range []struct {
			set      url.Values
			district int64
			village  bool
		}{
			{url.Values{"lat": {"22.8900"}, "long": {"92.7400"}}, 7, false},
			{url.Values{"lat": {""}, "long": {""}, "address_id": {"T-V1"}}, 7, true},
			{url.Values{"lat": {""}, "long": {""}, "address_string": {"Bazar Veng, Siaha"}}, 9, false},
			{url.Values{"lat": {""}, "long": {""}, "address_string": {"Near the stadium, Champhai"}}, 2, false},
		} {
			f := potholeForm(x.key)
			for k, v := range c.set {
				f[k] = v
			}
			r := x.post(t, "/requests.xml", f)
			var out xRequests
			if r.Status != 200 {
				t.Fatalf("%v: %d %s", c.set, r.Status, r.Body)
			}
			checkXML(t, r, &out)
			if len(out.Requests) != 1 || out.Requests[0].ServiceRequestID == "" || out.Requests[0].Token != "" {
				t.Fatalf("post.xml %+v", out)
			}
			var district int64
			var village, owner *int64
			if err := e.App.DB.R().QueryRow(`SELECT district_id, village_id, citizen_id FROM grv_grievances WHERE ref = $1`, out.Requests[0].ServiceRequestID).
				Scan(&district, &village, &owner); err != nil {
				t.Fatal(err)
			}
			if district != c.district || (village != nil) != c.village || owner != nil {
				t.Errorf("%v: district %d village %v owner %v", c.set, district, village, owner)
			}
		}
		if after := e.Count(t, `SELECT COUNT(*) FROM people`); after != before {
			t.Errorf("people %d → %d without a phone or email", before, after)
		}

		// A retried POST with the same Idempotency-Key files once.
		n := e.Count(t, `SELECT COUNT(*) FROM grv_grievances`)
		x.c.Header.Set("Idempotency-Key", "retry-1")
		r1 := x.post(t, "/requests.json", potholeForm(x.key))
		r2 := x.post(t, "/requests.json", potholeForm(x.key))
		x.c.Header.Del("Idempotency-Key")
		id1 := checkJSON(t, r1, "posted").([]any)[0].(map[string]any)["service_request_id"]
		id2 := checkJSON(t, r2, "posted").([]any)[0].(map[string]any)["service_request_id"]
		if id1 != id2 || e.Count(t, `SELECT COUNT(*) FROM grv_grievances`) != n+1 {
			t.Errorf("retried POST: %v %v", id1, id2)
		}
		// The same key from another client is another request.
		x.c.Header.Set("Idempotency-Key", "retry-1")
		r3 := x.post(t, "/requests.json", potholeForm(x.other))
		x.c.Header.Del("Idempotency-Key")
		if id3 := checkJSON(t, r3, "posted").([]any)[0].(map[string]any)["service_request_id"]; id3 == id1 {
			t.Errorf("another client's idempotency key returned %v", id3)
		}
	})
}

// TestOpen311PostRefused: every bad POST answers 400, 403 or 404 in Open311's
// format and files nothing, creates nobody.
func TestOpen311PostRefused(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		x := setupO311(t, e)
		without := func(k string) url.Values { f := potholeForm(x.key); f.Del(k); return f }
		with := func(kv ...string) url.Values {
			f := potholeForm(x.key)
			for i := 0; i < len(kv); i += 2 {
				f.Set(kv[i], kv[i+1])
			}
			return f
		}
		cases := []struct {
			name   string
			form   url.Values
			status int
			want   string
		}{
			{"no api_key", without("api_key"), 403, "api_key"},
			{"wrong api_key", with("api_key", "mzk_abcdef_"+strings.Repeat("x", 43)), 403, "api_key"},
			{"malformed api_key", with("api_key", "letmein"), 403, "api_key"},
			{"key without the open311 scope", with("api_key", x.noPerm), 403, "api_key"},
			{"unknown service_code", with("service_code", "nope"), 404, "service_code"},
			{"inactive service_code", with("service_code", "retired"), 404, "service_code"},
			{"no service_code", without("service_code"), 400, "service_code"},
			{"no description", without("description"), 400, "description:"},
			{"blank description", with("description", "   "), 400, "description:"},
			{"4,001 characters", with("description", strings.Repeat("ä", 4001)), 400, "4001"},
			{"outside Mizoram", with("lat", "26.1445", "long", "91.7362"), 400, "outside Mizoram"},
			{"lat without long", without("long"), 400, "lat and long"},
			{"lat not a number", with("lat", "north"), 400, "lat and long"},
			{"no location", with("lat", "", "long", "", "address_string", ""), 400, "address_string"},
			{"no district in the address", with("lat", "", "long", "", "address_string", "Somewhere"), 400, "district"},
			{"unknown address_id", with("address_id", "NOPE"), 400, "address_id"},
			{"required attribute missing", without("attribute[ROADTYPE]"), 400, "attribute[ROADTYPE]:"},
			{"not a choice", with("attribute[ROADTYPE]", "RIVER"), 400, "attribute[ROADTYPE]:"},
			{"two for a single choice", with("attribute[ROADTYPE][]", "NH"), 400, "attribute[ROADTYPE]:"},
			{"not a number", with("attribute[DEPTH]", "deep"), 400, "attribute[DEPTH]:"},
			{"bad phone", with("phone", "12"), 400, "phone"},
			{"bad email", with("email", "not-an-email"), 400, "email"},
			{"bad media_url", with("media_url", "javascript:alert(1)"), 400, "media_url"},
			{"other jurisdiction", with("jurisdiction_id", "sfgov.org"), 404, "jurisdiction"},
		}
		grievances, people, outbox := e.Count(t, `SELECT COUNT(*) FROM grv_grievances`), e.Count(t, `SELECT COUNT(*) FROM people`),
			e.Count(t, `SELECT COUNT(*) FROM wf_cases`)
		for i, c := range cases {
			if i%2 == 1 {
				r := x.post(t, "/requests.xml", c.form)
				var ex xErrors
				if r.Status != c.status {
					t.Errorf("%s (xml): %d %s", c.name, r.Status, r.Body)
					continue
				}
				checkXML(t, r, &ex)
				if !strings.Contains(r.Body, c.want) {
					t.Errorf("%s (xml): %s", c.name, r.Body)
				}
				continue
			}
			r := x.post(t, "/requests.json", c.form)
			if r.Status != c.status {
				t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
				continue
			}
			checkJSON(t, r, "errors")
			if !strings.Contains(r.Body, c.want) {
				t.Errorf("%s: %s", c.name, r.Body)
			}
		}
		// A second phone on the same form: the person is not created when
		// the form is refused after the lookup (one transaction).
		f := with("phone", "9862088888")
		f.Del("description")
		if r := x.post(t, "/requests.json", f); r.Status != 400 {
			t.Errorf("refused after the person: %d", r.Status)
		}
		if g, p, c := e.Count(t, `SELECT COUNT(*) FROM grv_grievances`), e.Count(t, `SELECT COUNT(*) FROM people`),
			e.Count(t, `SELECT COUNT(*) FROM wf_cases`); g != grievances || p != people || c != outbox {
			t.Errorf("a refused POST changed something: grievances %d→%d people %d→%d cases %d→%d", grievances, g, people, p, outbox, c)
		}
		// The api_key in the URL is not read.
		f = potholeForm("")
		f.Del("api_key")
		if r := x.c.Post(t, "/open311/v2/requests.json?api_key="+url.QueryEscape(x.key), f); r.Status != 403 {
			t.Errorf("key in the URL: %d", r.Status)
		}
	})
}

// TestOpen311EveryKeyWorks: every key made by CreateAPIKey is accepted (a
// key's secret may hold "_", which once split it into too many parts and
// refused about half of all keys).
func TestOpen311EveryKeyWorks(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	for i := range 40 {
		key, err := e.App.Auth.CreateAPIKey(ctx, fmt.Sprintf("client-%d", i), []string{"open311"})
		if err != nil {
			t.Fatal(err)
		}
		if name, err := e.App.Auth.CheckAPIKey(ctx, key, "open311"); err != nil || name != fmt.Sprintf("client-%d", i) {
			t.Fatalf("key %d refused: %q %v", i, name, err)
		}
		if _, err := e.App.Auth.CheckAPIKey(ctx, key+"x", "open311"); err == nil {
			t.Fatalf("a changed key was accepted")
		}
	}
}
