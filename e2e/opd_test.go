package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestOPDBooking books an OPD token as a new citizen: add oneself, pick the
// department's first open session, book, open the card and check it.
func TestOPDBooking(t *testing.T) {
	for i, v := range variants {
		t.Run(fmt.Sprintf("%s-%d", v.lang, v.width), func(t *testing.T) {
			tb := newTab(t, v.width, v.lang, v.width == 360)
			tb.visit("/opd")
			tb.check("opd-home")
			phone := fmt.Sprintf("+9198620300%02d", i)
			mark := logMark()
			tb.visit("/signin?next=/opd/book")
			tb.fill("#contact", phone[3:])
			tb.submit("form[action='/signin/otp'] button[type=submit]")
			tb.fill("#code", otp(t, phone, mark))
			tb.submit("form[action='/signin/verify'] button[type=submit]")
			tb.visit("/opd/book?hospital=1&department=1")
			tb.check("opd-book")
			// No patient yet: the page sends the citizen to add themselves.
			tb.submit("#patient_id a")
			tb.check("opd-patients")
			tb.submit("form[action='/opd/patients'] button[type=submit]") // empty: errors shown
			tb.check("opd-patients-error")
			tb.fill("#name", "E2E Patient")
			tb.do(chromedp.Click(chromedp.CSS("input[name=sex][value=female]")))
			tb.fill("#birth_year", "1990")
			tb.submit("form[action='/opd/patients'] button[type=submit]")
			if !strings.HasPrefix(tb.path(), "/opd/book") {
				t.Fatalf("after adding oneself at %s", tb.path())
			}
			// A double-clicked "Book" books one token (with JavaScript off at
			// 1280 px nothing in the page stops the second click).
			tb.doubleSubmit("form[action^='/opd/book'] button[type=submit]")
			if !strings.HasPrefix(tb.path(), "/opd/bookings/") {
				t.Fatalf("after booking at %s", tb.path())
			}

			tb.check("opd-booking")
			tb.submit("a[href$='/card']")
			tb.check("opd-card")
			if get(tb, chromedp.Evaluate[int](`document.querySelectorAll("img.qr").length`)) != 1 {
				t.Error("no QR code on the card")
			}
			tb.submit(".opd-card a[href*='/opd/card/verify']")
			tb.check("opd-card-verify")
			tb.visit("/opd/bookings")
			tb.check("opd-bookings")
			if n := get(tb, chromedp.Evaluate[int](`document.querySelectorAll("main tbody tr").length`)); n != 1 {
				t.Errorf("a double-clicked booking made %d bookings", n)
			}
			tb.visit("/opd/board/1")
			tb.check("opd-board")
		})
	}
}

// TestOPDCounterAndAdministration signs in the demo's counter clerk and
// administrator (the demo needs no authenticator code).
func TestOPDCounterAndAdministration(t *testing.T) {
	for _, v := range variants {
		t.Run(fmt.Sprintf("%s-%d", v.lang, v.width), func(t *testing.T) {
			for _, who := range []struct {
				user  string
				pages []string
			}{{"counter.cha", []string{"/opd/counter", "/opd/counter/1"}}, {"admin", []string{"/opd/manage", "/opd/manage/1"}}} {
				tb := newTab(t, v.width, v.lang, true)
				tb.visit("/staff/signin")
				tb.fill("#username", who.user)
				tb.fill("#password", "mizoram-demo-2026")
				tb.submit("form[action='/staff/signin'] button[type=submit]")
				for _, p := range who.pages {
					tb.visit(p)
					tb.check("opd" + strings.ReplaceAll(strings.TrimPrefix(p, "/opd"), "/", "-"))
				}
				if who.user == "counter.cha" {
					counterCallsWalkIn(t, tb, v.lang)
				}
			}
		})
	}
}

// counterCallsWalkIn registers a walk-in patient at the Medicine counter
// (double-clicked: one token; when today's session has ended the form says
// so by its session field), then calls the next patient in and finds their
// token under "now serving" on the waiting-hall board.
func counterCallsWalkIn(t *testing.T, tb *tab, lang string) {
	t.Helper()
	tb.visit("/opd/counter/1")
	if get(tb, chromedp.Evaluate[int](`document.querySelectorAll("form[action$='/walkin']").length`)) == 0 {
		t.Log("no Medicine session today in the demo data: no walk-in, no call")
		return
	}
	rows := `document.querySelectorAll("main tbody tr").length`
	before := get(tb, chromedp.Evaluate[int](rows))
	tb.fill("#name", "E2E Walk-in "+lang)
	tb.do(chromedp.Click(chromedp.CSS("input[name=sex][value=male]")))
	tb.fill("#age", "40")
	tb.doubleSubmit("form[action$='/walkin'] button[type=submit]")
	tb.check("opd-counter-walkin")
	added := get(tb, chromedp.Evaluate[int](rows)) - before
	if get(tb, chromedp.Evaluate[int](`document.querySelectorAll(".error-summary").length`)) > 0 {
		// Outside the session's hours: the problem is by the walk-in form's session.
		if get(tb, chromedp.Evaluate[int](`document.querySelectorAll("#session_id[aria-invalid=true], .has-error #session_id, .error-summary a[href='#session_id']").length`)) == 0 {
			t.Error("the walk-in refusal is not shown by the walk-in form")
		}
		if added != 0 {
			t.Errorf("a refused walk-in added %d rows", added)
		}
	} else if added != 1 {
		t.Errorf("a double-clicked walk-in added %d rows", added)
	}
	next := "form[action$='/next'] button"
	label := get(tb, chromedp.Evaluate[string](`(document.querySelector("`+next+`") || {}).textContent || ""`))
	m := regexp.MustCompile(`\((\d+)\)`).FindStringSubmatch(label)
	if m == nil {
		t.Log("nobody waiting in today's Medicine queue")
		return
	}
	tb.submit(next)
	tb.visit("/opd/board/1")
	serving := get(tb, chromedp.Evaluate[string](`[...document.querySelectorAll(".now-token, .now-token + p")].map(e => e.textContent).join(" ")`))
	if !regexp.MustCompile(`\b` + m[1] + `\b`).MatchString(serving) {
		t.Errorf("token %s is not under now serving on the board (%q)", m[1], serving)
	}
}
