package permits

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/files"
	"mizogov/internal/payments"
	"mizogov/internal/workflow"
)

// DemoSponsorPhone is the demo citizen, who is also a registered sponsor.
const DemoSponsorPhone = "+919862000001"

// SeedDemo adds demo applications in every state: a draft, one waiting for
// its sponsor, ones with the office (new, being verified, sent back for
// correction, approved and unpaid), rejected, cancelled, issued (one group
// inside the state), expired with no exit (an overstay) and revoked. The
// demo citizen is a sponsor with places taken and a request waiting.
func (s *Service) SeedDemo(ctx context.Context) error {
	officer, err := s.staffID(ctx, "ilp.kolasib")
	if err != nil {
		return err
	}
	police, err := s.staffID(ctx, "police.vairengte")
	if err != nil {
		return err
	}
	var sponsor int64
	if err := s.DB.R().QueryRowContext(ctx, `SELECT id FROM people WHERE phone = $1`, DemoSponsorPhone).Scan(&sponsor); err != nil {
		return fmt.Errorf("demo sponsor: %w", err)
	}
	if _, err := s.RegisterSponsor(ctx, sponsor, SponsorInput{EPIC: "MZA0412345", Name: "Lalremsiami", Locality: "Kolasib, Diakkawn",
		DistrictID: 5}); err != nil {
		return err
	}
	// Some permits were issued twelve days ago: their story runs on the
	// service's clock set back (seeding runs before the server serves).
	clock := s.Now
	defer func() { s.Now = clock }()
	now := s.now()
	past := func() time.Time { return now.AddDate(0, 0, -12) }

	type demo struct {
		past     bool
		name     string
		phone    string
		typ      string
		entry    string
		group    int
		steps    []string // office steps, "pay", "entry", "cancel", "revoke:…", "correction:…", "reject:…"
		sponsor  bool
		noSubmit bool
	}
	demos := []demo{
		{name: "Priya Nair", phone: "+919830100001", typ: "TEMP", entry: "VRT", noSubmit: true},
		{name: "Rakesh Yadav", phone: "+919830100002", typ: "REGULAR", entry: "VRT", sponsor: true},
		{name: "Sunita Das", phone: "+919830100003", typ: "TEMP", entry: "VRT"},
		{name: "Arjun Menon", phone: "+919830100004", typ: "STAY", entry: "BRB", steps: []string{"verify"}},
		{name: "Fatima Begum", phone: "+919830100005", typ: "TEMP", entry: "BRB", steps: []string{"correction:The photo is not clear; upload a passport-style photo"}},
		{name: "Deepak Singh", phone: "+919830100006", typ: "TEMP", entry: "VRT", steps: []string{"verify", "approve"}},
		{name: "Manoj Tiwari", phone: "+919830100007", typ: "TEMP", entry: "VRT", steps: []string{"reject:The identity document does not match the name given"}},
		{name: "Kiran Bose", phone: "+919830100008", typ: "TEMP", entry: "BRB", steps: []string{"cancel"}},
		{name: "Ananya Ghosh", phone: "+919830100009", typ: "TEMP", entry: "VRT", group: 3, steps: []string{"verify", "approve", "pay", "entry"}},
		{name: "Bikash Thapa", phone: "+919830100010", typ: "REGULAR", entry: "VRT", sponsor: true, steps: []string{"verify", "approve", "pay"}},
		{past: true, name: "Vikram Chauhan", phone: "+919830100011", typ: "TEMP", entry: "VRT", steps: []string{"verify", "approve", "pay", "entry"}},
		{past: true, name: "Sanjay Mishra", phone: "+919830100012", typ: "TEMP", entry: "BRB", steps: []string{"verify", "approve", "pay", "revoke:Found working without a work permit"}},
	}
	photo := demoPhoto()
	for i, d := range demos {
		s.Now = clock
		if d.past {
			s.Now = past
		}
		svc := s
		person, err := s.demoPerson(ctx, d.name, d.phone)
		if err != nil {
			return err
		}
		// Most enter today; the sponsored worker enters tomorrow (NOT YET VALID at a gate).
		entry := dayStart(svc.now())
		if d.sponsor {
			entry = entry.AddDate(0, 0, 1)
		}
		in := ApplyInput{Type: d.typ, Purpose: "tourism", Places: "Aizawl, Reiek, Hmuifang", EntryPoint: d.entry,
			EntryDate: entry.Format("2006-01-02"), LocalContact: "Hotel Clover, Aizawl, 0389 2300000"}
		switch d.typ {
		case "REGULAR":
			in.Purpose, in.LocalContact = "work", ""
		case "STAY":
			in.Purpose = "business"
		}
		if d.sponsor {
			in.SponsorEPIC = "MZA0412345"
		}
		for j := 0; j < max(1, d.group); j++ {
			name := d.name
			if j > 0 {
				name = []string{"", "Rahul Ghosh", "Mitali Ghosh"}[j]
			}
			in.Members = append(in.Members, MemberInput{Name: name, Gender: []string{"f", "m", "f"}[j%3], BirthDate: fmt.Sprintf("19%02d-0%d-1%d", 70+i*2+j, 1+j, i%9),
				Address: "House 12, Park Street, Kolkata", IDType: "passport", IDNumber: fmt.Sprintf("K%07d", 1000000+i*10+j)})
		}
		a, err := svc.Apply(ctx, person, in)
		if err != nil {
			return fmt.Errorf("demo %s: %w", d.name, err)
		}
		if d.noSubmit {
			continue
		}
		up, err := files.Check(photo, "photo.png", MaxPhoto, files.Images...)
		if err != nil {
			return err
		}
		for _, m := range a.Members {
			for _, kind := range []string{"photo", "idscan"} {
				if _, err := svc.Attach(ctx, person, a.ID, m.ID, kind, up); err != nil {
					return err
				}
			}
		}
		if a, err = svc.Submit(ctx, person, a.ID); err != nil {
			return err
		}
		if d.sponsor && len(d.steps) > 0 {
			if a, err = svc.ConfirmSponsorship(ctx, sponsor, a.ID); err != nil {
				return err
			}
		}
		for _, step := range d.steps {
			if err := svc.demoStep(ctx, a.ID, person, officer, police, step); err != nil {
				return fmt.Errorf("demo %s %s: %w", d.name, step, err)
			}
		}
	}
	return nil
}

func (s *Service) staffID(ctx context.Context, username string) (int64, error) {
	var id int64
	err := s.DB.R().QueryRowContext(ctx, `SELECT person_id FROM staff_accounts WHERE username = $1`, username).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("demo user %s: %w", username, err)
	}
	return id, nil
}

func (s *Service) demoPerson(ctx context.Context, name, phone string) (int64, error) {
	var id int64
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO people (name, phone, lang, created_at) VALUES ($1, $2, 'en', $3) RETURNING id`,
			name, phone, db.Time(s.now())).Scan(&id); err != nil {
			return err
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "person.create", ObjectType: "person", ObjectID: fmt.Sprint(id), SubjectID: id,
			Actor: audit.System("demo")})
		return err
	})
	return id, err
}

// demoStep takes one step of a demo application's story.
func (s *Service) demoStep(ctx context.Context, id, person, officer, police int64, step string) error {
	action, comment, _ := cut(step)
	switch action {
	case "pay":
		st, err := s.Pay(ctx, person, id)
		if err != nil {
			return err
		}
		g, ok := s.Payments.Gateways["test"].(*payments.TestGateway)
		if !ok {
			return errors.New("demo payments need the test gateway")
		}
		to, err := g.Complete(ctx, st.OrderID, true)
		if err != nil {
			return err
		}
		u, err := url.Parse(to)
		if err != nil {
			return err
		}
		_, err = s.Payments.HandleCallback(ctx, "test", u.Query())
		return err
	case "cancel":
		_, err := s.Cancel(ctx, person, id)
		return err
	case "entry":
		list, err := s.PermitsOf(ctx, s.DB.R(), id)
		if err != nil {
			return err
		}
		return s.DB.Tx(ctx, func(tx *db.Tx) error {
			for _, p := range list {
				at := p.ValidFrom.Add(10 * time.Hour)
				if latest := s.now().Add(-time.Hour); at.After(latest) {
					at = latest
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO permit_gate_events (event_id, permit_id, gate, kind, result, at, recorded_at, officer_id)
					VALUES ($1, $2, 'VRT', 'entry', 'valid', $3, $3, $4)`, "demo-"+p.Number, p.ID, db.Time(at), police); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if action == "correction" {
		action = "ask_correction"
	}
	actor := workflow.Actor{ID: officer, Label: "demo officer", Roles: func(int64, int64) []string { return []string{RoleOfficer} }}
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		a, err := s.application(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.actTx(ctx, tx, a, actor, OfficeAct{Action: action, Comment: comment})
	})
}

func cut(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// demoPhoto draws a plain head-and-shoulders silhouette.
func demoPhoto() []byte {
	const w, h = 120, 150
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg, fg := color.RGBA{221, 232, 240, 255}, color.RGBA{70, 90, 110, 255}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := bg
			dx, dy := x-w/2, y-55
			if dx*dx+dy*dy < 26*26 || (y > 95 && (x-w/2)*(x-w/2) < (y-70)*(y-70)) {
				c = fg
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
