package app_test

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"mizogov/internal/app/apptest"
	"mizogov/internal/i18n"
)

func TestLanguageSwitch(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	c := e.Client()
	if r := c.Get(t, "/"); !strings.Contains(r.Body, `<html lang="en">`) || !strings.Contains(r.Body, "Sign in") {
		t.Fatal("default is not English")
	}
	r := c.Get(t, "/?lang=lus")
	if !strings.Contains(r.Body, `<html lang="lus">`) || !strings.Contains(r.Body, "Lut rawh") || r.Header.Get("Content-Language") != "lus" {
		t.Fatalf("?lang=lus did not switch:\n%s", r.Body)
	}
	// Remembered in a cookie.
	if r := c.Get(t, "/signin"); !strings.Contains(r.Body, `<html lang="lus">`) {
		t.Fatal("language not remembered")
	}
	if r := c.Get(t, "/signin?lang=en"); !strings.Contains(r.Body, `<html lang="en">`) {
		t.Fatal("could not switch back")
	}
	// Accept-Language is honoured when nothing was chosen.
	fresh := e.Client()
	fresh.Lang = "lus, en;q=0.5"
	if r := fresh.Get(t, "/"); !strings.Contains(r.Body, `<html lang="lus">`) {
		t.Fatal("Accept-Language: lus ignored")
	}
	fresh.Lang = "fr, en;q=0.8"
	if r := fresh.Get(t, "/?lang=xx"); !strings.Contains(r.Body, `<html lang="en">`) {
		t.Fatal("unknown language not refused")
	}
}

func TestEveryPageHasTheShellAndSecurityHeaders(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Demo: true})
	c := e.Client()
	for _, path := range []string{"/", "/signin", "/staff/signin", "/help/accessibility", "/help/privacy", "/nope", "/api/v1/me", "/healthz", "/api/openapi.json"} {
		for _, lang := range []string{"en", "lus"} {
			r := c.Get(t, path+"?lang="+lang)
			h := r.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: CSP %q lacks %s", path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("%s: CSP allows inline code", path)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("Permissions-Policy") == "" || h.Get("X-Request-Id") == "" {
				t.Errorf("%s: missing headers %v", path, h)
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Errorf("%s: HSTS on plain HTTP", path)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				continue
			}
			for _, want := range []string{`href="#main"`, `id="main"`, "DEMO", `hreflang=`, "<footer", `<html lang="` + lang + `"`} {
				if !strings.Contains(r.Body, want) {
					t.Errorf("%s (%s): page lacks %s", path, lang, want)
				}
			}
			if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(r.Body) || strings.Contains(r.Body, " onclick=") {
				t.Errorf("%s: inline script", path)
			}
			if len(r.Body) > 40<<10 {
				t.Errorf("%s: %d bytes of HTML", path, len(r.Body))
			}
		}
	}
	if r := c.Get(t, "/nope?lang=en"); r.Status != 404 || !strings.Contains(r.Body, "Page not found") {
		t.Fatalf("404 page: %d", r.Status)
	}
	if r := c.Get(t, "/nope?lang=lus"); !strings.Contains(r.Body, "Phek hi a awm lo") {
		t.Fatal("404 page not translated")
	}
}

func TestStaticAssetsAreCachedAndSmall(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	c := e.Client()
	home := c.Get(t, "/")
	css := regexp.MustCompile(`href="(/static/site\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(home.Body)
	if css == nil {
		t.Fatal("no stylesheet link")
	}
	r := c.Get(t, css[1])
	if r.Status != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("css: %d %v", r.Status, r.Header)
	}
	if len(home.Body)+len(r.Body) > 40<<10 {
		t.Fatalf("home page HTML+CSS is %d bytes", len(home.Body)+len(r.Body))
	}
	if r := c.Get(t, "/static/../go.mod"); r.Status == 200 {
		t.Fatal("path traversal")
	}
	if r := c.Get(t, "/static/"); r.Status != 404 {
		t.Fatalf("directory listing: %d", r.Status)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		c := e.Client()
		if r := c.Get(t, "/healthz"); r.Status != 200 || r.Body != "ok\n" {
			t.Fatalf("healthz %d %q", r.Status, r.Body)
		}
		if r := c.Get(t, "/readyz"); r.Status != 200 {
			t.Fatalf("readyz %d", r.Status)
		}
		c.Get(t, "/signin")
		r := c.Get(t, "/metrics")
		for _, want := range []string{`mizogov_http_requests_total{route="GET /signin",status="200"}`, "mizogov_http_request_duration_seconds_bucket",
			"go_sql_open_connections", `mizogov_jobs{state="completed"}`, "mizogov_notifications", "go_goroutines"} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		// Metrics are for the machine itself, not for anyone behind a proxy.
		c.Header.Set("X-Forwarded-For", "203.0.113.9")
		if r := c.Get(t, "/metrics"); r.Status != 404 {
			t.Fatalf("metrics through a proxy: %d", r.Status)
		}
	})
}

func TestOpenAPIDescribesEveryAPIRoute(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	r := e.Client().Get(t, "/api/openapi.json")
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
		Comps   struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(r.Body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	for _, rt := range e.App.Web.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s is not in the OpenAPI document", rt.Pattern)
			continue
		}
		if op["summary"] == "" || op["responses"] == nil {
			t.Errorf("%s has no summary or responses", rt.Pattern)
		}
	}
	// Every $ref points at a schema that exists.
	for _, ref := range regexp.MustCompile(`"#/components/schemas/([A-Za-z0-9]+)"`).FindAllStringSubmatch(r.Body, -1) {
		if _, ok := doc.Comps.Schemas[ref[1]]; !ok {
			t.Errorf("dangling $ref %s", ref[1])
		}
	}
}

// TestMessageKeysExist finds every message key used in templates and code
// and checks that the catalog has it in both languages.
func TestMessageKeysExist(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	cat := e.App.Cat
	if err := i18n.Check(i18n.Core()); err != nil {
		t.Fatal(err)
	}
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`\.T "([a-z0-9_.]+)"`),
		regexp.MustCompile(`\.Field(?:Hint)? "[^"]+" "([a-z0-9_.]+)"`),
		regexp.MustCompile(`\.FieldHint "[^"]+" "[^"]+" "[^"]+" "([a-z0-9_.]+)"`),
		regexp.MustCompile(`(?:BadRequest|Conflict|Key:|Desc:|\.Add\("[a-z_]+",)\s*"([a-z_]+\.[a-z0-9_.]+)"`),
		regexp.MustCompile(`NewError\([^"]*"[a-z_]+", "([a-z_]+\.[a-z0-9_.]+)"`),
		regexp.MustCompile(`return "", "([a-z_]+\.[a-z0-9_.]+)"`),
	}
	root := filepath.Join("..", "..")
	missing := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") || !(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".html")) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, re := range patterns {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				if !cat.Has(m[1]) {
					missing[m[1]+" ("+p+")"] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Keys built at run time.
	for _, role := range e.App.Auth.Policy.StaffRoles() {
		if !cat.Has("role." + role) {
			missing["role."+role] = true
		}
	}
	for _, a := range []string{"disable", "enable", "unlock", "signout", "reset-password", "reset-totp"} {
		for _, k := range []string{"admin.confirm_" + a, "admin.confirm_" + a + "_hint"} {
			if !cat.Has(k) {
				missing[k] = true
			}
		}
	}
	for _, k := range []string{"account.done_profile", "account.done_password", "account.password_old", "account.password_new", "account.password_confirm", "role.citizen"} {
		if !cat.Has(k) {
			missing[k] = true
		}
	}
	if len(missing) > 0 {
		var list []string
		for k := range missing {
			list = append(list, k)
		}
		sort.Strings(list)
		t.Fatalf("message keys missing from the catalog:\n%s", strings.Join(list, "\n"))
	}
	if n := len(cat.Keys()); n < 200 {
		t.Fatalf("only %d keys found; is the pattern list broken?", n)
	}
	_ = http.StatusOK
}
