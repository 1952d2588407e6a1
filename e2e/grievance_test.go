package e2e

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestGrievanceJourney: a citizen files a grievance with a photo (the
// submit double-clicked: one grievance), finds it in "my grievances" and
// tracks it signed out; a grievance officer signs in with password and
// authenticator code, assigns it, sends an interim reply and resolves it;
// the citizen rates it 2 and appeals.
func TestGrievanceJourney(t *testing.T) {
	photo := filepath.Join(t.TempDir(), "drain.jpg")
	writeJPEG(t, photo)
	for i, v := range variants {
		t.Run(fmt.Sprintf("%s-%d", v.lang, v.width), func(t *testing.T) {
			js := v.width == 360 // at 1280 px the journey runs with JavaScript off
			citizen := newTab(t, v.width, v.lang, js)
			citizen.visit("/grievances")
			citizen.check("grievance-home")
			phone := fmt.Sprintf("+9198620400%02d", i)
			mark := logMark()
			citizen.visit("/signin?next=/grievances/new")
			citizen.fill("#contact", phone[3:])
			citizen.submit("form[action='/signin/otp'] button[type=submit]")
			citizen.fill("#code", otp(t, phone, mark))
			citizen.submit("form[action='/signin/verify'] button[type=submit]")
			if !strings.HasPrefix(citizen.path(), "/grievances/new") {
				t.Fatalf("after sign-in at %s", citizen.path())
			}
			citizen.check("grievance-new")

			// Step 1 empty, then step 2 without a description: the summary has focus, input kept.
			citizen.submit("form[action='/grievances/new'] button[type=submit]")
			expectErrors(t, citizen, "category")
			citizen.check("grievance-new-error")
			citizen.do(chromedp.Click(chromedp.CSS("input[name=category][value=drain-blocked]")), chromedp.SetValue(chromedp.CSS("#district"), "1"))
			citizen.submit("form[action='/grievances/new'] button[type=submit]")
			citizen.check("grievance-new-2")
			citizen.fill("#address", "Near the Dawrpui market steps")
			citizen.submit("form[method=post][action='/grievances/new'] button[type=submit]")
			expectErrors(t, citizen, "description")
			if got := get(citizen, chromedp.Value(chromedp.CSS("#address"))); got != "Near the Dawrpui market steps" {
				t.Errorf("address not kept: %q", got)
			}
			citizen.check("grievance-new-2-error")
			citizen.fill("#description", "The drain beside the steps is blocked with plastic and overflows onto the road when it rains.")
			citizen.do(chromedp.SetUploadFiles(chromedp.CSS("#photos"), []string{photo}))
			citizen.doubleSubmit("form[method=post][action='/grievances/new'] button[type=submit]")
			m := regexp.MustCompile(`^/grievances/g/(MZ-GRV-[0-9-]+)`).FindStringSubmatch(citizen.path())
			if m == nil {
				t.Fatalf("after filing at %s", citizen.path())
			}
			ref := m[1]
			citizen.check("grievance-case")
			if get(citizen, chromedp.Evaluate[int](`document.querySelectorAll("img[src^='/grievances/photos/']").length`)) != 1 {
				t.Error("the photo is not on the citizen's page")
			}
			citizen.visit("/grievances/mine")
			citizen.check("grievance-mine")
			if n := strings.Count(get(citizen, chromedp.Evaluate[string](`document.querySelector("main").textContent`)), "MZ-GRV-"); n != 1 {
				t.Errorf("a double-clicked submit filed %d grievances", n)
			}

			// Anyone can track it, signed out, without personal data.
			public := newTab(t, v.width, v.lang, js)
			public.visit("/grievances/track?ref=" + ref)
			public.check("grievance-track")
			page := get(public, chromedp.Evaluate[string](`document.body.textContent`))
			if !strings.Contains(page, ref) || strings.Contains(page, phone[3:]) || strings.Contains(page, "Dawrpui market") {
				t.Error("the tracking page is missing the reference or shows personal data")
			}
			public.visit("/grievances/track?ref=MZ-GRV-0000-000000-0")
			public.expectStatus(404)
			public.check("grievance-track-unknown")

			// The grievance officer of PWD, Aizawl.
			officer := signInOfficer(t, v.width, v.lang, fmt.Sprintf("e2e.gro.%s.%d", v.lang, v.width), "grievance_officer", "PWD", "Aizawl")
			officer.visit("/grievances/inbox?view=team")
			officer.check("grievance-inbox")
			if get(officer, chromedp.Evaluate[int](`document.querySelectorAll("a[href='/grievances/office/`+ref+`']").length`)) == 0 {
				t.Errorf("%s is not in the officer's team inbox", ref)
			}
			officer.visit("/grievances/search?q=drain+plastic")
			officer.check("grievance-search")
			officer.visit("/grievances/office/" + ref)
			officer.check("grievance-office")
			openAction(officer, "assign")
			officer.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("#assign-assignee"); s.value = s.options[1].value; })()`))
			officer.submit("form:has(input[name=action][value=assign]) button[type=submit]")
			officer.check("grievance-office-assigned")
			openAction(officer, "interim_reply")
			officer.fill("#interim_reply-comment", "A team will clear the drain this week.")
			due := time.Now().AddDate(0, 0, 5).Format("2006-01-02")
			officer.do(chromedp.SetValue(chromedp.CSS("#interim_reply-due"), due))
			officer.submit("form:has(input[name=action][value=interim_reply]) button[type=submit]")
			openAction(officer, "resolve")
			officer.fill("#resolve-comment", "Drain cleared and a grating fitted on 27-11.")
			officer.submit("form:has(input[name=action][value=resolve]) button[type=submit]")
			officer.check("grievance-office-resolved")
			if st := get(officer, chromedp.Evaluate[string](`document.querySelector("main").textContent`)); !strings.Contains(st, "Drain cleared") {
				t.Error("the action-taken report is not in the history")
			}

			// The citizen rates it 2; a poor rating opens the appeal.
			citizen.visit("/grievances/g/" + ref)
			citizen.check("grievance-case-resolved")
			citizen.do(chromedp.Click(chromedp.CSS("#rate input[name=rating][value='2']")))
			citizen.submit("#rate button[type=submit]")
			citizen.fill("#appeal textarea[name=comment]", "The grating is loose and the drain is blocked again.")
			citizen.submit("#appeal button[type=submit]")
			citizen.check("grievance-case-appeal")
			if get(citizen, chromedp.Evaluate[int](`document.querySelectorAll("form#appeal").length`)) != 0 {
				t.Error("the appeal form is still offered after appealing")
			}
			citizen.submit("form[action='/signout'] button")
		})
	}
}

// TestGrievanceDashboard: the public dashboard, signed out.
func TestGrievanceDashboard(t *testing.T) {
	for _, v := range variants {
		t.Run(fmt.Sprintf("%s-%d", v.lang, v.width), func(t *testing.T) {
			tb := newTab(t, v.width, v.lang, v.width == 360)
			tb.visit("/grievances/dashboard")
			tb.check("grievance-dashboard")
			if get(tb, chromedp.Evaluate[int](`document.querySelectorAll("main svg").length`)) == 0 {
				t.Error("no chart on the dashboard")
			}
		})
	}
}

// openAction opens the officer's panel for action.
func openAction(tb *tab, action string) {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("form:has(input[name=action][value=` + action + `])").closest("details").open = true`))
}

// expectErrors checks the error summary (with focus when scripts run) and
// the message by field.
func expectErrors(t *testing.T, tb *tab, field string) {
	t.Helper()
	if get(tb, chromedp.Evaluate[int](`document.querySelectorAll(".error-summary a[href='#`+field+`']").length`)) != 1 {
		t.Errorf("no error summary link to #%s", field)
	}
	if tb.js && !strings.Contains(get(tb, chromedp.Evaluate[string](`document.activeElement.className`)), "error-summary") {
		t.Error("focus is not on the error summary")
	}
}

// signInOfficer creates an officer with the CLI and signs them in with
// password and authenticator code.
func signInOfficer(t *testing.T, width int, lang, username, role, dept, district string) *tab {
	t.Helper()
	out, err := exec.Command(s.bin, "user", "create", "--data", s.data, "--username", username, "--name", "E2E "+username,
		"--role", role, "--department", dept, "--district", district).CombinedOutput()
	if err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	pw := regexp.MustCompile(`password:\s+(\S+)`).FindStringSubmatch(string(out))
	secret := regexp.MustCompile(`TOTP secret: (\S+)`).FindStringSubmatch(string(out))
	tb := newTab(t, width, lang, true)
	tb.visit("/staff/signin")
	tb.fill("#username", username)
	tb.fill("#password", pw[1])
	tb.fill("#totp", totpNow(t, secret[1]))
	tb.submit("form[action='/staff/signin'] button[type=submit]")
	if tb.path() != "/staff" {
		t.Fatalf("after officer sign-in at %s", tb.path())
	}
	return tb
}

// writeJPEG writes a small photo.
func writeJPEG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, nil); err != nil {
		t.Fatal(err)
	}
}
