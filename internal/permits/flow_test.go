package permits_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/docs"
)

func TestApplyApprovePayIssueVerify(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		w := newWorld(t, e)
		visitor := e.Citizen(t, "+919830000001")
		a, permits := w.issued(t, visitor, w.application(person("Anita Sharma", "pan", "ABCDE1234F"), person("Rohan Sharma", "passport", "K1234567")))
		if permits[0].HolderName != "Anita Sharma" || permits[1].HolderName != "Rohan Sharma" {
			t.Fatalf("permits: %+v", permits)
		}
		// The token verifies offline with the published keys and carries the permit.
		ks, err := docs.ParseJWKS([]byte(e.Client().Get(t, "/.well-known/jwks.json").Body))
		if err != nil {
			t.Fatal(err)
		}
		v, err := ks.Verify(permits[0].Token)
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		v.Claims(&c)
		if c["sub"] != permits[0].Number || c["ptp"] != "TEMP" || c["name"] != "Anita Sharma" || c["idm"] != "XXXXXX234F" || c["nbf"] == nil || c["exp"] == nil {
			t.Fatalf("claims: %v", c)
		}
		if exp, nbf := c["exp"].(float64), c["nbf"].(float64); exp-nbf != 7*24*3600 {
			t.Fatalf("validity %v s", exp-nbf)
		}
		// Fee: two people × ₹150, one receipt.
		if n := e.Count(t, `SELECT COUNT(*) FROM pay_demands WHERE amount_paise = 30000 AND status = 'paid'`); n != 1 {
			t.Fatalf("paid demands: %d", n)
		}
		// The gate: not yet valid today (entry is tomorrow), valid tomorrow.
		if g := w.gate(t, map[string]string{"token": permits[0].Token}); g["result"] != "not_yet_valid" {
			t.Fatalf("before entry: %v", g)
		}
		e.Clock.Advance(26 * time.Hour)
		w.relogin(t)
		g := w.gate(t, map[string]string{"token": permits[0].Token})
		if g["result"] != "valid" || g["holder_name"] != "Anita Sharma" || g["photo_url"] == nil {
			t.Fatalf("valid: %v", g)
		}
		if g := w.gate(t, map[string]string{"number": permits[1].Number}); g["result"] != "valid" {
			t.Fatalf("by number: %v", g)
		}
		// Forgeries: each a specific reason; nothing is recorded.
		parts := strings.Split(permits[0].Token, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		altered := strings.Replace(string(payload), "Anita Sharma", "Anita Sherma", 1)
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(altered)) + "." + parts[2]
		_, stranger, _ := ed25519.GenerateKey(nil)
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"stranger-key-01","typ":"JWT"}`))
		foreign := hdr + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(stranger, []byte(hdr+"."+parts[1])))
		for tok, reason := range map[string]string{
			tampered: "signature",
			permits[0].Token[:len(permits[0].Token)-20]: "truncated",
			parts[0] + "." + parts[1]:                   "truncated",
			foreign:                                     "unknown_key",
			"hello":                                     "truncated",
			"a.b.c":                                     "truncated",
		} {
			if g := w.gate(t, map[string]string{"token": tok}); g["result"] != "forged" || g["reason"] != reason {
				t.Errorf("forged %q…: %v, want %s", tok[:min(len(tok), 12)], g, reason)
			}
		}
		if g := w.gate(t, map[string]string{"number": "MZ-ILP-2627-999999-1"}); g["result"] != "forged" {
			t.Fatalf("unknown number: %v", g)
		}
		// Gate requests that make no sense are refused.
		for _, body := range []string{`{}`, `{"token":"x","number":"y"}`, `{"token":"x","extra":1}`} {
			if r := w.police.JSON(t, "POST", "/api/v1/permits/gate/verify", body); r.Status < 400 || r.Status >= 500 {
				t.Errorf("gate %s: %d", body, r.Status)
			}
		}
		if r := visitor.JSON(t, "POST", "/api/v1/permits/gate/verify", map[string]string{"number": permits[0].Number}); r.Status != 403 {
			t.Fatalf("citizen at gate: %d", r.Status)
		}

		// Entry and exit, queued offline and sent twice: kept once.
		ev := func(id, kind string) map[string]any {
			return map[string]any{"event_id": id, "number": permits[0].Number, "gate": "VRT", "kind": kind, "result": "valid",
				"at": e.Clock.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "offline": true}
		}
		batch := map[string]any{"events": []any{ev("evt-entry-0001", "entry")}}
		for i, want := range []string{"recorded", "duplicate"} {
			r := w.police.JSON(t, "POST", "/api/v1/permits/gate/events", batch)
			if r.Status != 200 || !strings.Contains(r.Body, want) {
				t.Fatalf("events %d: %d %s", i, r.Status, r.Body)
			}
		}
		// A police officer of another district cannot record at Vairengte; bad events are refused one by one.
		other := e.Staff(t, e.Officer(t, "police.lunglei", "police", w.home, 7))
		r := other.JSON(t, "POST", "/api/v1/permits/gate/events", map[string]any{"events": []any{ev("evt-entry-0002", "entry")}})
		if !strings.Contains(r.Body, "refused") {
			t.Fatalf("other district: %s", r.Body)
		}
		bad := []any{ev("short", "entry"), ev("evt-bad-kind-1", "visit"), ev("evt-future-001", "entry")}
		bad[2].(map[string]any)["at"] = e.Clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		r = w.police.JSON(t, "POST", "/api/v1/permits/gate/events", map[string]any{"events": bad})
		if strings.Count(r.Body, `"refused"`) != 3 {
			t.Fatalf("bad events: %s", r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM permit_gate_events`); n != 1 {
			t.Fatalf("gate events: %d", n)
		}
		rep := w.officer.Get(t, "/api/v1/permits/reports/inside")
		if !strings.Contains(rep.Body, permits[0].Number) || strings.Contains(rep.Body, permits[1].Number) {
			t.Fatalf("inside: %s", rep.Body)
		}
		// The permit as a document: holder and office see it; others do not.
		page := visitor.Get(t, "/permits/p/"+permits[0].Number)
		if page.Status != 200 || !strings.Contains(page.Body, "Anita Sharma") || !strings.Contains(page.Body, "qr.png") {
			t.Fatalf("permit page: %d", page.Status)
		}
		if r := visitor.Get(t, "/permits/p/"+permits[0].Number+"/permit.pdf"); r.Status != 200 || !strings.HasPrefix(r.Body, "%PDF") {
			t.Fatalf("pdf: %d", r.Status)
		}
		if r := visitor.Get(t, "/permits/p/"+permits[0].Number+"/qr.png"); r.Status != 200 || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("qr: %d", r.Status)
		}
		stranger2 := e.Citizen(t, "+919830000002")
		for _, p := range []string{"/permits/p/" + permits[0].Number, "/permits/p/" + permits[0].Number + "/permit.pdf",
			fmt.Sprintf("/api/v1/permits/applications/%d", a.ID), fmt.Sprintf("/permits/applications/%d", a.ID)} {
			if r := stranger2.Get(t, p); r.Status != 404 {
				t.Errorf("stranger %s: %d", p, r.Status)
			}
		}
		// Revocation: audited, published, and gates say REVOKED.
		if r := w.act(t, w.officer, a.ID, "revoke", ""); r.Status != 422 {
			t.Fatalf("revoke without reason: %d %s", r.Status, r.Body)
		}
		if r := w.act(t, w.officer, a.ID, "revoke", "Working without a work permit"); r.Status != 200 {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		if g := w.gate(t, map[string]string{"token": permits[0].Token}); g["result"] != "revoked" || g["note"] != "Working without a work permit" {
			t.Fatalf("revoked: %v", g)
		}
		var list docs.RevocationList
		json.Unmarshal([]byte(e.Client().Get(t, "/api/v1/docs/revocations?type=ILP").Body), &list)
		if len(list.Revoked) != 2 {
			t.Fatalf("revocations: %+v", list)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_log WHERE action IN ('ilp.verify', 'ilp.approve', 'ilp.issue', 'ilp.revoke', 'permits.gate_entry')`); n != 5 {
			t.Fatalf("audited steps: %d", n)
		}
		_ = context.Background()
	})
}
