package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mizogov/internal/auth"
)

// variants are the languages and widths every journey runs in.
var variants = []struct {
	lang  string
	width int
}{{"en", 360}, {"lus", 360}, {"en", 1280}, {"lus", 1280}}

func TestCitizenSignsInAndOut(t *testing.T) {
	for i, v := range variants {
		t.Run(fmt.Sprintf("%s-%d", v.lang, v.width), func(t *testing.T) {
			tb := newTab(t, v.width, v.lang, true)
			tb.check("home")
			if lang := get(tb, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != v.lang {
				t.Fatalf("page language %q", lang)
			}
			tb.visit("/signin")
			tb.check("signin")

			// An empty form: the summary is at the top and has focus, the field says what is wrong.
			tb.submit("form[action='/signin/otp'] button[type=submit]")
			if !strings.Contains(get(tb, chromedp.Evaluate[string](`document.activeElement.className`)), "error-summary") {
				t.Error("focus is not on the error summary")
			}
			if get(tb, chromedp.Evaluate[int](`document.querySelectorAll(".error-summary a[href='#contact']").length`)) != 1 ||
				get(tb, chromedp.Evaluate[int](`document.querySelectorAll("#contact-error").length`)) != 1 {
				t.Error("no error summary link or field message")
			}
			tb.check("signin-error")
			// A wrong number is kept in the field.
			tb.fill("#contact", "12345")
			tb.submit("form[action='/signin/otp'] button[type=submit]")
			if got := get(tb, chromedp.Value(chromedp.CSS("#contact"))); got != "12345" {
				t.Errorf("typed value not kept: %q", got)
			}

			phone := fmt.Sprintf("+9198620100%02d", i)
			mark := logMark()
			tb.fill("#contact", phone[3:])
			tb.submit("form[action='/signin/otp'] button[type=submit]")
			tb.check("signin-code")
			code := otp(t, phone, mark)
			tb.fill("#code", code)
			tb.submit("form[action='/signin/verify'] button[type=submit]")
			if p := tb.path(); p != "/account" {
				t.Fatalf("after sign-in at %s", p)
			}
			tb.check("account")
			tb.visit("/account/data-access")
			tb.check("data-access")

			// Switch language from the header.
			other := map[string]string{"en": "lus", "lus": "en"}[v.lang]
			tb.submit(".lang-switch")
			if lang := get(tb, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != other {
				t.Errorf("language switch gave %q", lang)
			}
			tb.submit("form[action='/signout'] button")
			if tb.path() != "/" || get(tb, chromedp.Evaluate[int](`document.querySelectorAll("form[action='/signout']").length`)) != 0 {
				t.Error("still signed in after signing out")
			}
		})
	}
}

// TestSignInWithoutJavaScript: every form works with scripts off.
func TestSignInWithoutJavaScript(t *testing.T) {
	tb := newTab(t, 360, "en", false)
	tb.check("home")
	tb.visit("/signin")
	tb.check("signin")
	phone := "+919862019999"
	mark := logMark()
	tb.fill("#contact", phone)
	tb.submit("form[action='/signin/otp'] button[type=submit]")
	tb.fill("#code", otp(t, phone, mark))
	tb.submit("form[action='/signin/verify'] button[type=submit]")
	if tb.path() != "/account" {
		t.Fatalf("without JavaScript, sign-in ended at %s", tb.path())
	}
	tb.check("account")
}

// newAdmin creates an administrator with the CLI and returns its credentials.
func newAdmin(t *testing.T, username string) auth.Credentials {
	t.Helper()
	out, err := exec.Command(s.bin, "user", "create", "--data", s.data, "--username", username, "--name", "E2E "+username, "--role", "admin").CombinedOutput()
	if err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	pw := regexp.MustCompile(`password:\s+(\S+)`).FindStringSubmatch(string(out))
	secret := regexp.MustCompile(`TOTP secret: (\S+)`).FindStringSubmatch(string(out))
	return auth.Credentials{Username: username, Password: pw[1], TOTPSecret: secret[1]}
}

func totpNow(t *testing.T, secret string) string {
	code, err := auth.TOTP(secret, auth.TOTPStep(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestAdministratorPages(t *testing.T) {
	for _, v := range variants {
		t.Run(fmt.Sprintf("%s-%d", v.lang, v.width), func(t *testing.T) {
			cred := newAdmin(t, fmt.Sprintf("e2e.admin.%s.%d", v.lang, v.width))
			tb := newTab(t, v.width, v.lang, true)
			tb.visit("/staff/signin")
			tb.check("staff-signin")
			tb.fill("#username", cred.Username)
			tb.fill("#password", cred.Password)
			tb.fill("#totp", totpNow(t, cred.TOTPSecret))
			tb.submit("form[action='/staff/signin'] button[type=submit]")
			if tb.path() != "/staff" {
				t.Fatalf("after officer sign-in at %s", tb.path())
			}
			tb.check("staff-home")
			for _, p := range []struct{ path, name string }{
				{"/admin", "admin"}, {"/admin/departments", "admin-departments"}, {"/admin/officers", "admin-officers"},
				{"/admin/officers/new", "admin-officer-new"}, {"/admin/officers/4", "admin-officer"},
				{"/admin/officers/4/reset-password", "admin-confirm"}, {"/account", "staff-account"},
			} {
				tb.visit(p.path)
				tb.check(p.name)
			}
			// A bad officer form keeps what was typed and says what is wrong.
			tb.visit("/admin/officers/new")
			tb.fill("#username", "Not Valid!")
			tb.fill("#name", "Lalnunmawii")
			tb.submit("form[action='/admin/officers'] button[type=submit]")
			if get(tb, chromedp.Value(chromedp.CSS("#name"))) != "Lalnunmawii" || get(tb, chromedp.Evaluate[int](`document.querySelectorAll(".field-error").length`)) == 0 {
				t.Error("bad officer form not shown back")
			}
			tb.check("admin-officer-error")
		})
	}
}
