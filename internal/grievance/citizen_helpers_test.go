package grievance_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"mizogov/internal/app/apptest"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/grievance"
	"mizogov/internal/workflow"
)

// world is a platform with a Public Works Department, two villages (one in
// Aizawl, one in Lunglei), the pothole category (with a question of every
// Open311 type) and a grievance officer of PWD Aizawl.
type world struct {
	e        *apptest.Env
	pwd      int64
	aizawlV  int64 // a village in Aizawl (district 1)
	lungleiV int64 // a village in Lunglei (district 7)
	gro      auth.Credentials
}

func newWorld(t testing.TB, e *apptest.Env) *world {
	t.Helper()
	ctx := context.Background()
	pwd, err := e.App.Auth.SaveDepartment(ctx, nil, auth.Department{Code: "PWD", Name: "Public Works Department", NameLus: "Kawng leh In Sakna"})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{e: e, pwd: pwd}
	svc := &grievance.Service{DB: e.App.DB, Now: e.Clock.Now}
	f := false
	err = e.App.DB.Tx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO villages (code, name, district_id) VALUES ('T-AZL-1', 'Dawrpui', 1) RETURNING id`).Scan(&w.aizawlV); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO villages (code, name, district_id) VALUES ('T-LGL-1', 'Venglai', 7) RETURNING id`).Scan(&w.lungleiV); err != nil {
			return err
		}
		_, err := svc.SaveCategory(ctx, tx, grievance.Category{Code: "road-pothole", DepartmentID: pwd, Name: "Potholes", NameLus: "Kawng khur",
			SLADays: 15, Active: true, Attributes: []grievance.Attribute{
				{Code: "size", Datatype: grievance.AttrSingle, Required: true, Description: "How big?", DescriptionLus: "Eng chen nge?",
					Values: []grievance.AttrValue{{Key: "small", Name: "Small", NameLus: "Te"}, {Key: "large", Name: "Large", NameLus: "Lian"}}},
				{Code: "kinds", Datatype: grievance.AttrMulti, Description: "What kind?", DescriptionLus: "Eng ang nge?",
					Values: []grievance.AttrValue{{Key: "hole", Name: "Hole", NameLus: "Khur"}, {Key: "edge", Name: "Edge", NameLus: "Kam"}}},
				{Code: "width", Datatype: grievance.AttrNumber, Description: "Width in metres", DescriptionLus: "A zau zawng (metre)"},
				{Code: "since", Datatype: grievance.AttrDate, Description: "Since when?", DescriptionLus: "Engtik aṭangin?"},
				{Code: "landmark", Datatype: grievance.AttrString, Description: "Landmark", DescriptionLus: "Hriatna"},
				{Code: "story", Datatype: grievance.AttrText, Description: "What happened?", DescriptionLus: "Eng nge thleng?"},
				{Code: "warn", Datatype: grievance.AttrString, Description: "Call 112 in an emergency", DescriptionLus: "Harsatna lianah 112 rawh", Variable: &f},
			}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	w.gro = e.Officer(t, "gro.pwd.azl", grievance.RoleGRO, pwd, 1)
	return w
}

// signIn signs a browser in by OTP through the web form and returns it.
func (w *world) signIn(t testing.TB, phone string) *apptest.Client {
	t.Helper()
	w.e.Clock.Advance(time.Minute) // one code a phone every 20 seconds
	b := w.e.Client()
	code := w.e.OTP(t, phone, func() {
		if r := b.Post(t, "/signin/otp", url.Values{"contact": {phone}, "next": {"/grievances/new"}}); r.Status != http.StatusOK {
			t.Fatalf("otp: %d %s", r.Status, r.Body)
		}
	})
	r := b.Post(t, "/signin/verify", url.Values{"contact": {phone}, "code": {code}, "next": {"/grievances/new"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/grievances/new" {
		t.Fatalf("verify: %d %s %s", r.Status, r.Header.Get("Location"), r.Body)
	}
	return b
}

var tokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

// formToken opens step 2 of the filing form and returns its token.
func formToken(t testing.TB, b *apptest.Client) string {
	t.Helper()
	r := b.Get(t, "/grievances/new?category=road-pothole&district=1")
	if r.Status != http.StatusOK {
		t.Fatalf("step 2: %d %s", r.Status, r.Body)
	}
	m := tokenRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no token in the form")
	}
	return m[1]
}

// good is a valid filing form.
func (w *world) good(token string) url.Values {
	return url.Values{"category": {"road-pothole"}, "district": {"1"}, "village": {itoa(w.aizawlV)}, "token": {token},
		"description": {"A deep pothole in front of the Dawrpui church; two scooters fell into it this week."},
		"address":     {"House 12, Church Road"}, "lat": {"23.72760"}, "lng": {"92.71760"}, "lang": {"en"},
		"attr.size": {"large"}, "attr.kinds": {"hole", "edge"}, "attr.width": {"1.5"}, "attr.since": {"2026-11-01"},
		"attr.landmark": {"church"}, "attr.story": {"It grew after the rain."}}
}

type photo struct {
	name string
	data []byte
}

// postForm sends the filing form as multipart/form-data with photos.
func postForm(t testing.TB, b *apptest.Client, v url.Values, photos ...photo) *apptest.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range v {
		for _, x := range vs {
			mw.WriteField(k, x)
		}
	}
	for _, p := range photos {
		fw, _ := mw.CreateFormFile("photos", p.name)
		fw.Write(p.data)
	}
	mw.Close()
	return b.Do(t, "POST", "/grievances/new", &body, mw.FormDataContentType())
}

var refRE = regexp.MustCompile(`/grievances/g/(MZ-GRV-[0-9A-Z-]+)`)

// file files the good form and returns the reference.
func (w *world) file(t testing.TB, b *apptest.Client, edit func(url.Values)) string {
	t.Helper()
	v := w.good(formToken(t, b))
	if edit != nil {
		edit(v)
	}
	r := postForm(t, b, v)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	m := refRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirect: %s", r.Header.Get("Location"))
	}
	return m[1]
}

// officerAct takes an officer's step on the workflow, as the officer pages do.
func (w *world) officerAct(t testing.TB, ref, action, comment string) workflow.Case {
	t.Helper()
	ctx := context.Background()
	var out workflow.Case
	err := w.e.App.DB.Tx(ctx, func(tx *db.Tx) error {
		c, err := w.e.App.Workflow.GetByRef(ctx, tx, grievance.CaseType, ref)
		if err != nil {
			return err
		}
		st, err := w.e.App.Workflow.Act(ctx, tx, workflow.Act{CaseID: c.ID, Action: action, Version: c.Version, Comment: comment,
			Actor: workflow.Actor{ID: w.gro.PersonID, Roles: func(int64, int64) []string { return []string{grievance.RoleGRO} }}})
		out = st.Case
		return err
	})
	if err != nil {
		t.Fatalf("%s %s: %v", action, ref, err)
	}
	return out
}

// version reads a case's version (what the page's forms carry).
func (w *world) version(t testing.TB, ref string) string {
	t.Helper()
	c, err := w.e.App.Workflow.GetByRef(context.Background(), w.e.App.DB.R(), grievance.CaseType, ref)
	if err != nil {
		t.Fatal(err)
	}
	return itoa(int64(c.Version))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// phoneJPEG is a real JPEG carrying EXIF with a camera make and a GPS
// position (Aizawl), as a phone camera writes it.
func phoneJPEG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 90, 255})
		}
	}
	var raw bytes.Buffer
	if err := jpeg.Encode(&raw, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	be := binary.BigEndian
	var tiff bytes.Buffer
	tiff.Write([]byte{'M', 'M', 0, 42, 0, 0, 0, 8})
	tag := func(id, typ uint16, count, value uint32) {
		binary.Write(&tiff, be, id)
		binary.Write(&tiff, be, typ)
		binary.Write(&tiff, be, count)
		binary.Write(&tiff, be, value)
	}
	// IFD0 at 8 with 2 entries (ends at 8+2+24+4 = 38): Make at 38 ("TestCam\0"), GPS IFD at 46.
	binary.Write(&tiff, be, uint16(2))
	tag(0x010F, 2, 8, 38)
	tag(0x8825, 4, 1, 46)
	binary.Write(&tiff, be, uint32(0))
	tiff.WriteString("TestCam\x00")
	// GPS IFD at 46 with 2 entries (ends at 46+2+24+4 = 76): latitude rationals at 76.
	binary.Write(&tiff, be, uint16(2))
	tag(0x0001, 2, 2, 'N'<<24)
	tag(0x0002, 5, 3, 76)
	binary.Write(&tiff, be, uint32(0))
	for _, v := range []uint32{23, 1, 43, 1, 36, 1} {
		binary.Write(&tiff, be, v)
	}
	exif := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	be.PutUint16(seg[2:], uint16(len(exif)+2))
	seg = append(seg, exif...)
	r := raw.Bytes()
	out := append([]byte{}, r[:2]...)
	out = append(out, seg...)
	return append(out, r[2:]...)
}

// app1Segments counts the APP1 (EXIF/XMP) segments before a JPEG's image data.
func app1Segments(t testing.TB, data []byte) int {
	t.Helper()
	n := 0
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			t.Fatalf("not a marker at %d", i)
		}
		m := data[i+1]
		if m == 0xDA {
			return n
		}
		if m == 0xE1 {
			n++
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	return n
}

// waitSMS waits for a message built from template to reach to.
func waitSMS(t testing.TB, e *apptest.Env, to, template string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range e.SMS.Sent() {
			if m.To == to && m.Template == template {
				return m.Body
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, m := range e.SMS.Sent() {
		t.Logf("sms %s %s %q", m.To, m.Template, m.Body)
	}
	t.Fatalf("no %s message reached %s", template, to)
	return ""
}
