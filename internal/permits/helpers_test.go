package permits_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/auth"
)

// world is a platform with the Home Department, an issuing officer and a
// police officer at Kolasib (Vairengte and Bairabi gates).
type world struct {
	e       *apptest.Env
	home    int64
	kolasib int64
	officer *apptest.Client
	police  *apptest.Client
	creds   []auth.Credentials
}

// relogin signs the officers in again (after the clock moved past their sessions).
func (w *world) relogin(t testing.TB) {
	w.officer, w.police = w.e.Staff(t, w.creds[0]), w.e.Staff(t, w.creds[1])
}

func newWorld(t testing.TB, e *apptest.Env) *world {
	t.Helper()
	ctx := context.Background()
	home, err := e.App.Auth.SaveDepartment(ctx, nil, auth.Department{Code: "HOME", Name: "Home Department", NameLus: "Home Department"})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{e: e, home: home, kolasib: 5}
	w.creds = []auth.Credentials{e.Officer(t, "ilp.kolasib", "ilp_officer", home, w.kolasib), e.Officer(t, "police.vrt", "police", home, w.kolasib)}
	w.relogin(t)
	return w
}

func person(name, idType, id string) map[string]any {
	return map[string]any{"name": name, "gender": "f", "birth_date": "1990-05-17", "address": "12 Park Street, Kolkata",
		"id_type": idType, "id_number": id}
}

func (w *world) day(offset int) string {
	ist := time.FixedZone("IST", 5*3600+1800)
	return w.e.Clock.Now().In(ist).AddDate(0, 0, offset).Format("2006-01-02")
}

// application is a TEMP application (tourism at Vairengte) for people.
func (w *world) application(people ...map[string]any) map[string]any {
	members := []map[string]any{}
	members = append(members, people...)
	return map[string]any{"type": "TEMP", "purpose": "tourism", "places": "Aizawl, Reiek", "entry_point": "VRT",
		"entry_date": w.day(1), "local_contact": "Hotel Regency, 0389 2300000", "members": members}
}

var tinyPNG = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 24, 30))
	for x := 0; x < 24; x++ {
		for y := 0; y < 30; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 10), uint8(y * 8), 120, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}()

func upload(t testing.TB, c *apptest.Client, path string, data []byte) *apptest.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "photo.png")
	fw.Write(data)
	mw.Close()
	return c.Do(t, "POST", path, &body, mw.FormDataContentType())
}

func decode(t testing.TB, r *apptest.Response, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("%d %s: %v", r.Status, r.Body, err)
	}
}

type app struct {
	ID      int64  `json:"id"`
	Number  string `json:"number"`
	Status  string `json:"status"`
	Members []struct {
		ID int64 `json:"id"`
	} `json:"members"`
	DemandID int64 `json:"demand_id"`
}

// apply creates a draft, uploads every person's photo and ID scan, and submits it.
func (w *world) apply(t testing.TB, c *apptest.Client, body map[string]any) app {
	t.Helper()
	r := c.JSON(t, "POST", "/api/v1/permits/applications", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	var a app
	decode(t, r, &a)
	for _, m := range a.Members {
		for _, kind := range []string{"photo", "idscan"} {
			if r := upload(t, c, fmt.Sprintf("/api/v1/permits/applications/%d/members/%d/%s", a.ID, m.ID, kind), tinyPNG); r.Status != 200 {
				t.Fatalf("upload %s: %d %s", kind, r.Status, r.Body)
			}
		}
	}
	r = c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/submit", a.ID), nil)
	if r.Status != 200 {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	decode(t, r, &a)
	return a
}

// act takes an officer's action with the case's current version.
func (w *world) act(t testing.TB, officer *apptest.Client, id int64, action, comment string) *apptest.Response {
	t.Helper()
	r := officer.Get(t, fmt.Sprintf("/api/v1/permits/applications/%d", id))
	if r.Status != 200 {
		return r
	}
	var v struct {
		Case struct {
			Version int `json:"version"`
		} `json:"case"`
	}
	decode(t, r, &v)
	return officer.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/office/applications/%d/act", id),
		map[string]any{"action": action, "version": v.Case.Version, "comment": comment})
}

// pay pays an approved application through the test gateway.
func (w *world) pay(t testing.TB, c *apptest.Client, id int64) string {
	t.Helper()
	r := c.JSON(t, "POST", fmt.Sprintf("/api/v1/permits/applications/%d/pay", id), nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("pay: %d %s", r.Status, r.Body)
	}
	var st struct {
		RedirectURL string `json:"redirect_url"`
	}
	decode(t, r, &st)
	b := w.e.Client()
	done := b.Post(t, st.RedirectURL, url.Values{"outcome": {"paid"}})
	if done.Status != http.StatusSeeOther {
		t.Fatalf("gateway: %d %s", done.Status, done.Body)
	}
	back := b.Get(t, done.Header.Get("Location"))
	if back.Status != http.StatusSeeOther || !strings.Contains(back.Header.Get("Location"), "payment=success") {
		t.Fatalf("callback: %d %s", back.Status, back.Header.Get("Location"))
	}
	return back.Header.Get("Location")
}

type permit struct {
	Number     string `json:"number"`
	Token      string `json:"token"`
	HolderName string `json:"holder_name"`
	Status     string `json:"status"`
}

// issued runs an application through the office and payment and returns its permits.
func (w *world) issued(t testing.TB, c *apptest.Client, body map[string]any) (app, []permit) {
	t.Helper()
	a := w.apply(t, c, body)
	for _, step := range []string{"verify", "approve"} {
		if r := w.act(t, w.officer, a.ID, step, ""); r.Status != 200 {
			t.Fatalf("%s: %d %s", step, r.Status, r.Body)
		}
	}
	w.pay(t, c, a.ID)
	r := c.Get(t, fmt.Sprintf("/api/v1/permits/applications/%d", a.ID))
	var v struct {
		Application app      `json:"application"`
		Permits     []permit `json:"permits"`
	}
	decode(t, r, &v)
	if v.Application.Status != "issued" || len(v.Permits) != len(a.Members) {
		t.Fatalf("not issued: %s", r.Body)
	}
	return v.Application, v.Permits
}

func (w *world) gate(t testing.TB, check map[string]string) map[string]any {
	t.Helper()
	r := w.police.JSON(t, "POST", "/api/v1/permits/gate/verify", check)
	if r.Status != 200 {
		t.Fatalf("gate: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// citizenAgain signs a visitor in again, once every message queued for them
// has gone (a permit number in an SMS would look like a one-time code).
func (w *world) citizenAgain(t testing.TB, phone string) *apptest.Client {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.e.Count(t, `SELECT COUNT(*) FROM outbox WHERE status = 'pending'`) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return w.e.Citizen(t, phone)
}
