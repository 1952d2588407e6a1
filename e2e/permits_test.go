package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// signInStaff signs a demo officer in (the demo needs no authenticator code).
func signInStaff(t *testing.T, tb *tab, username string) {
	t.Helper()
	tb.visit("/staff/signin")
	tb.fill("#username", username)
	tb.fill("#password", "mizoram-demo-2026")
	tb.submit("form[action='/staff/signin'] button[type=submit]")
	if tb.path() != "/staff" {
		t.Fatalf("%s: after sign-in at %s", username, tb.path())
	}
}

// sessions keeps each visitor's session cookie: a number may ask for a code
// once in 30 seconds, so later tabs reuse the first sign-in.
var (
	sessionsMu sync.Mutex
	sessions   = map[string]string{}
)

// signInCitizen signs a demo visitor in with their phone number.
func signInCitizen(t *testing.T, tb *tab, phone string) {
	t.Helper()
	sessionsMu.Lock()
	defer sessionsMu.Unlock()
	if v, ok := sessions[phone]; ok {
		call(t, tb.ctx, network.SetCookie, network.SetCookieParams{Name: "mzsession", Value: v, URL: s.base + "/"})
		return
	}
	tb.visit("/signin")
	mark := logMark()
	tb.fill("#contact", phone)
	tb.submit("form[action='/signin/otp'] button[type=submit]")
	tb.fill("#code", otp(t, phone, mark))
	tb.submit("form[action='/signin/verify'] button[type=submit]")
	for _, c := range call(t, tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.base + "/"}}).Cookies {
		if c.Name == "mzsession" {
			sessions[phone] = c.Value
		}
	}
}

// firstLink is the href of the first element matching sel.
func firstLink(tb *tab, sel string) string {
	tb.t.Helper()
	href := get(tb, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`) || {}).getAttribute ? document.querySelector(`+jsString(sel)+`).getAttribute("href") : ""`))
	if href == "" {
		tb.t.Fatalf("no link %s", sel)
	}
	return href
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

func TestPermitsPages(t *testing.T) {
	for i, v := range variants {
		t.Run(fmt.Sprintf("%s-%d", v.lang, v.width), func(t *testing.T) {
			// A visitor whose group's permits are issued (demo data).
			tb := newTab(t, v.width, v.lang, true)
			signInCitizen(t, tb, "+919830100009")
			tb.visit("/permits")
			tb.check("permits-home")
			tb.visit(firstLink(tb, "table a[href^='/permits/applications/']"))
			tb.check("permits-application")
			tb.visit(firstLink(tb, "a[href^='/permits/p/']"))
			tb.check("permits-permit")
			tb.visit("/permits/apply")
			tb.check("permits-apply")
			tb.submit("form[action='/permits/apply'] button[type=submit]")
			if get(tb, chromedp.Evaluate[int](`document.querySelectorAll(".error-summary li").length`)) < 5 {
				t.Error("an empty application does not list its problems")
			}
			tb.check("permits-apply-error")
			// A draft with its upload forms.
			draft := newTab(t, v.width, v.lang, true)
			signInCitizen(t, draft, "+919830100001")
			draft.visit("/permits")
			draft.visit(firstLink(draft, "table a[href^='/permits/applications/']"))
			draft.check("permits-draft")

			sponsor := newTab(t, v.width, v.lang, true)
			signInCitizen(t, sponsor, "+919862000001")
			sponsor.visit("/permits/sponsor")
			sponsor.check("permits-sponsor")

			officer := newTab(t, v.width, v.lang, true)
			signInStaff(t, officer, "ilp.kolasib")
			officer.visit("/permits/office?view=all")
			officer.check("permits-office")
			officer.visit(firstLink(officer, "table a[href^='/permits/office/']"))
			officer.check("permits-office-case")
			officer.visit("/permits/reports")
			officer.check("permits-reports")

			police := newTab(t, v.width, v.lang, true)
			signInStaff(t, police, "police.vairengte")
			police.visit("/permits/gate/")
			police.check("permits-gate")

			if i == 0 {
				admin := newTab(t, v.width, v.lang, true)
				signInStaff(t, admin, "admin")
				admin.visit("/permits/rules")
				admin.check("permits-rules")
			}
		})
	}
}

// TestGateWorksOffline: the check gate verifies a permit's signature in the
// browser with the network cut, queues the entry it records, and sends it
// when the network is back.
func TestGateWorksOffline(t *testing.T) {
	visitor := newTab(t, 1280, "en", true)
	signInCitizen(t, visitor, "+919830100009")
	visitor.visit("/permits")
	token := get(visitor, chromedp.Evaluate[string](`fetch("/api/v1/permits/applications").then(r => r.json())
		.then(list => fetch("/api/v1/permits/applications/" + list.find(a => a.status === "issued").id)).then(r => r.json())
		.then(v => v.permits[0].token)`, chromedp.EvalAwaitPromise))
	if strings.Count(token, ".") != 2 {
		t.Fatalf("token %q", token)
	}

	tb := newTab(t, 360, "en", true)
	signInStaff(t, tb, "police.vairengte")
	tb.visit("/permits/gate/")
	// The keys are on the device, and the service worker controls the page
	// (the second visit) and has cached what it needs.
	waitFor(t, tb, `localStorage.getItem("ilp.gate.jwks") !== null`)
	waitFor(t, tb, `navigator.serviceWorker.controller !== null || (location.reload(), false)`)
	waitFor(t, tb, `caches.has("ilp-gate-v1")`)
	time.Sleep(500 * time.Millisecond)
	tb.do(chromedp.SetValue(chromedp.CSS("#gate"), "VRT"))

	// The vendored library verifies too (the fallback where WebCrypto lacks Ed25519).
	ok := get(tb, chromedp.Evaluate[bool](`import("/permits/gate/ed25519.js").then(async (ed) => {
		const jwks = JSON.parse(localStorage.getItem("ilp.gate.jwks")).jwks;
		const [h, p, s] = `+jsString(token)+`.split(".");
		const dec = (x) => Uint8Array.from(atob(x.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((x.length + 3) % 4)), c => c.charCodeAt(0));
		const kid = JSON.parse(new TextDecoder().decode(dec(h))).kid;
		const key = jwks.keys.find(k => k.kid === kid);
		return ed.verifyAsync(dec(s), new TextEncoder().encode(h + "." + p), dec(key.x), {zip215: false});
	})`, chromedp.EvalAwaitPromise))
	if !ok {
		t.Fatal("noble-ed25519 does not verify the permit")
	}

	setOffline(t, tb, true)
	waitFor(t, tb, `!navigator.onLine`)
	// The page itself comes from the service worker's cache.
	tb.visit("/permits/gate/")
	waitFor(t, tb, `document.querySelector("#check-form") !== null && document.querySelector("#net-status").textContent !== ""`)
	tb.do(chromedp.SetValue(chromedp.CSS("#gate"), "VRT"))
	check := func(code, want string) {
		t.Helper()
		tb.do(chromedp.SetValue(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("#check-form button[type=submit]")))
		waitFor(t, tb, `document.querySelector("#result .verdict.v-`+want+`") !== null`)
	}
	check(token, "valid")
	if txt := tb.text("#result"); !strings.Contains(txt, "without network") {
		t.Errorf("offline check not marked as such: %q", txt)
	}
	tb.screenshot("permits-gate-offline-valid")
	parts := strings.Split(token, ".")
	check(parts[0]+"."+parts[1]+"x."+parts[2], "forged")
	check(token[:len(token)-30], "forged")
	check(token, "valid")
	tb.do(chromedp.Click(chromedp.CSS("#result .actions button")))
	if n := get(tb, chromedp.Evaluate[int](`JSON.parse(localStorage.getItem("ilp.gate.queue") || "[]").length`)); n != 1 {
		t.Fatalf("queued events: %d", n)
	}
	setOffline(t, tb, false)
	waitFor(t, tb, `JSON.parse(localStorage.getItem("ilp.gate.queue") || "[]").length === 0`)
	last := get(tb, chromedp.Evaluate[string](`fetch("/api/v1/permits/gate/verify", {method: "POST", headers: {"Content-Type": "application/json"},
		body: JSON.stringify({token: `+jsString(token)+`})}).then(r => r.json()).then(r => r.last_event + "@" + r.last_gate)`, chromedp.EvalAwaitPromise))
	if last != "entry@VRT" {
		t.Fatalf("the queued entry did not reach the server: %q", last)
	}
}

func waitFor(t *testing.T, tb *tab, cond string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	state, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`location.href + " | " + (document.querySelector("#result") || {}).innerHTML + " | " + (document.querySelector("#net-status") || {}).textContent`))
	tb.mu.Lock()
	errs := tb.errors
	tb.mu.Unlock()
	t.Fatalf("timed out waiting for %s\npage: %s\nerrors: %v", cond, state, errs)
}

// setOffline cuts (or restores) the network for the page and its service worker.
func setOffline(t *testing.T, tb *tab, off bool) {
	t.Helper()
	call(t, tb.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1})
	call(t, tb.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{EmulateOfflineServiceWorker: &off,
		MatchedNetworkConditions: []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}}})
}
