package docs_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"mizogov/internal/app/apptest"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/docs"
)

func TestHTTP(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		ctx := context.Background()
		var iss docs.Issued
		if err := e.App.DB.Tx(ctx, func(tx *db.Tx) error {
			var err error
			iss, err = e.App.Docs.Issue(ctx, tx, docs.Doc{Type: "OPD", Number: "MZ-OPD-2627-000001-5", Claims: map[string]any{"name": "Zothan"}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		anon := e.Client()
		r := anon.Get(t, "/.well-known/jwks.json")
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/jwk-set+json") ||
			!strings.Contains(r.Header.Get("Cache-Control"), "max-age") || r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("jwks: %d %v", r.Status, r.Header)
		}
		ks, err := docs.ParseJWKS([]byte(r.Body))
		if err != nil || !ks.Has(iss.Kid) {
			t.Fatalf("jwks body: %s %v", r.Body, err)
		}
		if _, err := ks.Verify(iss.Token); err != nil {
			t.Fatalf("offline verify with the published set: %v", err)
		}

		verify := func(tok string) map[string]any {
			r := anon.JSON(t, "POST", "/api/v1/docs/verify", map[string]string{"token": tok})
			if r.Status != 200 {
				t.Fatalf("verify: %d %s", r.Status, r.Body)
			}
			return r.JSON(t)
		}
		if v := verify(iss.Token); v["valid"] != true || v["kid"] != iss.Kid {
			t.Fatalf("good token: %v", v)
		}
		if v := verify(iss.Token[:len(iss.Token)-5]); v["valid"] != false || v["reason"] != "truncated" {
			t.Fatalf("truncated: %v", v)
		}
		if r := anon.JSON(t, "POST", "/api/v1/docs/verify", map[string]string{"token": ""}); r.Status != 422 {
			t.Fatalf("empty token: %d", r.Status)
		}
		if r := anon.JSON(t, "POST", "/api/v1/docs/verify", `{"token":"x","extra":1}`); r.Status != 400 {
			t.Fatalf("unknown field: %d", r.Status)
		}
		if err := e.App.DB.Tx(ctx, func(tx *db.Tx) error { return e.App.Docs.Revoke(ctx, tx, iss.ID, "test") }); err != nil {
			t.Fatal(err)
		}
		if v := verify(iss.Token); v["valid"] != false || v["reason"] != "revoked" {
			t.Fatalf("revoked: %v", v)
		}
		r = anon.Get(t, "/api/v1/docs/revocations?type=OPD")
		var list docs.RevocationList
		if r.Status != 200 || json.Unmarshal([]byte(r.Body), &list) != nil || len(list.Revoked) != 1 {
			t.Fatalf("revocations: %d %s", r.Status, r.Body)
		}
		for _, q := range []string{"", "?type=O", "?type=OPD&since=yesterday"} {
			if r := anon.Get(t, "/api/v1/docs/revocations"+q); r.Status != 422 {
				t.Errorf("revocations%s: %d", q, r.Status)
			}
		}

		// Only administrators see and rotate keys.
		if r := anon.Get(t, "/api/v1/docs/keys"); r.Status != 401 {
			t.Fatalf("anonymous keys: %d", r.Status)
		}
		officer := e.Staff(t, e.Officer(t, "off1", auth.RoleOfficer, 0, 1))
		if r := officer.JSON(t, "POST", "/api/v1/docs/keys/rotate", nil); r.Status != 403 {
			t.Fatalf("officer rotate: %d", r.Status)
		}
		admin := e.StaffBrowser(t, e.Officer(t, "adm1", auth.RoleAdmin, 0, 0))
		if r := admin.Post(t, "/admin/docs/keys/rotate", url.Values{}); r.Status != http.StatusSeeOther {
			t.Fatalf("rotate: %d %s", r.Status, r.Body)
		}
		page := admin.Get(t, "/admin/docs/keys")
		if page.Status != 200 || strings.Count(page.Body, "<code>") != 2 {
			t.Fatalf("keys page: %d", page.Status)
		}
		if v := verify(iss.Token); v["reason"] != "revoked" { // old key still known after rotation
			t.Fatalf("after rotation: %v", v)
		}
	})
}
