package e2e

import (
	"fmt"
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
			tb.submit("form[action^='/opd/book'] button[type=submit]")
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
			}
		})
	}
}
