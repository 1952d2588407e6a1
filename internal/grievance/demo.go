package grievance

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/files"
	"mizogov/internal/workflow"
)

// DemoCitizenPhone is the demo citizen (seeded by the platform's demo data).
const DemoCitizenPhone = "+919862000001"

func attrs(a ...Attribute) []Attribute { return a }

func vals(kv ...string) []AttrValue {
	var out []AttrValue
	for i := 0; i+2 < len(kv); i += 3 {
		out = append(out, AttrValue{Key: kv[i], Name: kv[i+1], NameLus: kv[i+2]})
	}
	return out
}

// demoCategories are Mipui Aw's demo categories: department code, then the category.
var demoCategories = []struct {
	Dept string
	Cat  Category
	Says []string // what citizens write
}{
	{"PWD", Category{Code: "road-pothole", Name: "Potholes or damaged road", NameLus: "Kawng khur leh kawng chhia", SLADays: 15,
		Keywords: "road pothole kawng khur", Description: "A road with potholes, broken edges or a damaged surface",
		DescriptionLus: "Kawng khur nei, a kam tliak emaw a chung chhia",
		Attributes: attrs(
			Attribute{Code: "size", Datatype: AttrSingle, Required: true, Order: 1, Description: "How big is the damage?", DescriptionLus: "A chhiatna hi eng chen nge a lian?",
				Values: vals("small", "Smaller than a tyre", "Tyre aia te", "medium", "About a car's length", "Motor pakhat tluk vel", "large", "The road is blocked", "Kawng a tawp vek")},
			Attribute{Code: "since", Datatype: AttrDate, Order: 2, Description: "Since when (date)?", DescriptionLus: "Engtik aṭangin nge (ni)?"},
		),
	}, []string{"Big potholes on the main road near the church; two-wheelers fall here every week.", "The road edge has broken away after the rain and buses cannot pass each other.", "Kawng laili khur lian tak a awm a, motor a tla thin."}},
	{"PWD", Category{Code: "road-landslide", Name: "Landslide blocking a road", NameLus: "Minpui kawng dal", SLADays: 7,
		Description: "Earth or rocks on a road after a landslide", DescriptionLus: "Minpui avanga kawngah lei leh lung a awm",
	}, []string{"A landslide has blocked the road since yesterday; nobody has come to clear it.", "Rocks keep falling on the road below the school; it is dangerous for children."}},
	{"PWD", Category{Code: "drain-blocked", Name: "Blocked or broken drain", NameLus: "Tuikawr tawp emaw chhia", SLADays: 21,
		Description: "A roadside drain that is blocked, broken or overflowing", DescriptionLus: "Kawng kama tuikawr tawp, chhia emaw luang chhuak",
	}, []string{"The drain is full of rubbish and water flows over the road into houses.", "Tuikawr a tawp a, ruah sur apiangin kawngah tui a luang."}},
	{"PHED", Category{Code: "water-no-supply", Name: "No water supply", NameLus: "Tui lut lo", SLADays: 7,
		Description: "Piped water has not come", DescriptionLus: "Pipe tui a lut lo",
		Attributes: attrs(
			Attribute{Code: "days", Datatype: AttrNumber, Required: true, Order: 1, Description: "For how many days?", DescriptionLus: "Ni engzat nge?"},
			Attribute{Code: "connection", Datatype: AttrString, Order: 2, Description: "Water connection number (if you know it)", DescriptionLus: "Tui connection number (i hriat chuan)"},
		),
	}, []string{"No water in our locality for ten days; we are buying water from tankers.", "Tui a lut lo ni sawm lai a ni tawh, tanker tui kan lei mek.", "Only a trickle of water comes twice a week."}},
	{"PHED", Category{Code: "water-leak", Name: "Leaking water pipe", NameLus: "Tui pipe chhuak", SLADays: 10,
		Description: "A water main or pipe leaking on the road", DescriptionLus: "Tui pipe kawngah a chhuak",
	}, []string{"The main pipe has burst near the market and clean water is wasted day and night.", "A pipe leaks under the road and has started to wash the road away."}},
	{"PHED", Category{Code: "water-dirty", Name: "Dirty or muddy water", NameLus: "Tui bawlhhlawh", SLADays: 5,
		Description: "Supplied water is muddy, smells or is not safe", DescriptionLus: "Tui lut chu a bawlhhlawh, a rim chhe emaw him lo",
	}, []string{"The water from the tap has been brown and smelly for a week.", "Children fell ill after drinking the supplied water."}},
	{"PED", Category{Code: "power-cut", Name: "Power cut", NameLus: "Electric thi", SLADays: 3,
		Description: "No electricity in a house or locality", DescriptionLus: "In emaw veng-ah electric a awm lo",
		Attributes: attrs(
			Attribute{Code: "consumer", Datatype: AttrString, Order: 1, Description: "Consumer number on the bill", DescriptionLus: "Bill-a consumer number"},
			Attribute{Code: "scope", Datatype: AttrSingle, Required: true, Order: 2, Description: "Who is without power?", DescriptionLus: "Tu te nge electric nei lo?",
				Values: vals("house", "Only my house", "Ka in chauh", "street", "My street", "Ka kawtthler", "locality", "The whole locality", "Veng pumpui")},
		),
	}, []string{"No electricity since last night after the storm; the transformer made a loud noise.", "Electric a thi ni thum a ni tawh.", "Power goes off every evening for hours without notice."}},
	{"PED", Category{Code: "street-light", Name: "Street light not working", NameLus: "Kawng êng thi", SLADays: 10,
		Description: "A street light that is off, flickering or on all day", DescriptionLus: "Kawng êng thi, a mit-chhuak-mit-lut emaw chhun lamah a eng",
		Attributes: attrs(
			Attribute{Code: "pole", Datatype: AttrString, Order: 1, Description: "Number painted on the pole", DescriptionLus: "Pole-a number ziak"},
			Attribute{Code: "problem", Datatype: AttrMulti, Required: true, Order: 2, Description: "What is wrong? (choose all that apply)", DescriptionLus: "Eng nge dik lo? (a dik zawng zawng thlang rawh)",
				Values: vals("off", "It does not light", "A eng lo", "flicker", "It flickers", "A mit-chhuak-mit-lut", "day", "It stays on in the day", "Chhunah a eng reng", "wire", "Loose or hanging wire", "Hrui a thlawn")},
			Attribute{Code: "note", Datatype: AttrString, Order: 3, Description: "Danger from fallen wires: call 1912 at once.", DescriptionLus: "Hrui tla hlauhawm: 1912 nghal rawh.", Variable: new(bool)},
		),
	}, []string{"Three street lights on the steps to the market have been off for a month; it is unsafe at night.", "The street light stays on all day and off all night."}},
	{"PED", Category{Code: "power-bill", Name: "Wrong electricity bill", NameLus: "Electric bill dik lo", SLADays: 21,
		Description: "A bill much higher than usual or for a wrong meter reading", DescriptionLus: "Bill pangngai aia sang hle emaw meter chhiar dik lo",
	}, []string{"My bill this month is five times the usual amount although nothing changed.", "The meter reader did not come and the bill is estimated wrongly."}},
	{"HFW", Category{Code: "hospital-service", Name: "Hospital or health centre service", NameLus: "Damdawi in emaw health centre rawngbawlna", SLADays: 14,
		Description: "Staff absent, long waits, poor treatment or rude behaviour", DescriptionLus: "Hnathawktu awm lo, nghah rei, enkawl ṭha lo emaw nungchang ṭha lo",
		Attributes: attrs(
			Attribute{Code: "facility", Datatype: AttrString, Required: true, Order: 1, Description: "Name of the hospital or health centre", DescriptionLus: "Damdawi in emaw health centre hming"},
			Attribute{Code: "what", Datatype: AttrText, Order: 2, Description: "What happened, and when?", DescriptionLus: "Eng nge thleng, engtikah nge?"},
		),
	}, []string{"No doctor at the health centre on three working days this week.", "We waited six hours at the OPD and were sent home without being seen."}},
	{"HFW", Category{Code: "medicine-stock", Name: "Medicines not available", NameLus: "Damdawi awm lo", SLADays: 7,
		Description: "Free medicines out of stock at a government facility", DescriptionLus: "Sawrkar damdawi inah damdawi a awm lo",
	}, []string{"The health centre has had no diabetes medicine for a month.", "Insulin is out of stock at the district hospital pharmacy."}},
	{"RD", Category{Code: "mgnrega-wages", Name: "MGNREGA wages not paid", NameLus: "MGNREGA hlawh pek loh", SLADays: 15,
		Description: "Wages for work done not received", DescriptionLus: "Hna thawh hlawh dawn loh",
	}, []string{"We worked 20 days on the village road in March and have not been paid.", "Job card holders in our village have not received wages for two months."}},
	{"RD", Category{Code: "rural-housing", Name: "Rural housing (PMAY-G) problem", NameLus: "Thingtlang in sak (PMAY-G) harsatna", SLADays: 21,
		Description: "Instalments not released or wrongly left out of the list", DescriptionLus: "Pawisa pek loh emaw list-ah dah tel loh",
	}, []string{"The second instalment for my house has not been released after inspection.", "Our family is eligible but was left out of the beneficiary list."}},
	{"LRS", Category{Code: "land-record", Name: "Land record or pass", NameLus: "Ram record emaw pass", SLADays: 30,
		Description: "Delay or mistake in a land record, pass or mutation", DescriptionLus: "Ram record, pass emaw mutation tihfel rei emaw dik lo",
	}, []string{"My LSC application has been pending for eight months without any reason.", "The name in the periodic patta is spelled wrongly and the office will not correct it."}},
	{"GAD", Category{Code: "office-service", Name: "Government office service", NameLus: "Sawrkar office rawngbawlna", SLADays: 21,
		Description: "Delays, absent staff or demands for money in a government office", DescriptionLus: "Sawrkar office-a rei tak nghah, hnathawktu awm lo emaw pawisa phut",
	}, []string{"The office was closed during working hours on two days I went.", "I was asked to pay money to get my certificate faster."}},
	{"ICT", Category{Code: "online-service", Name: "Online service not working", NameLus: "Online rawngbawlna kal lo", SLADays: 10,
		Description: "A government website or app that fails", DescriptionLus: "Sawrkar website emaw app kal lo",
	}, []string{"The payment page fails every time and the money is deducted from my account.", "The OTP never arrives when I try to sign in."}},
}

// demoClock is the time the seeder's backdated story is at.
type demoClock struct{ t time.Time }

func (c *demoClock) now() time.Time { return c.t }

// SeedDemo adds the demo categories and a year of grievances in every
// state, in every district, with their history written at the time each
// step happened (a copy of the workflow engine whose clock the seeder
// moves), some owned by the demo citizen. Notifications are not sent for
// the backdated story.
func (s *Service) SeedDemo(ctx context.Context) error {
	depts := map[string]int64{}
	rows, err := s.DB.R().QueryContext(ctx, `SELECT code, id FROM departments`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var code string
		var id int64
		if err := rows.Scan(&code, &id); err != nil {
			rows.Close()
			return err
		}
		depts[code] = id
	}
	rows.Close()
	staff := func(u string) int64 {
		var id int64
		_ = s.DB.R().QueryRowContext(ctx, `SELECT person_id FROM staff_accounts WHERE username = $1`, u).Scan(&id)
		return id
	}
	gro, field, hod := staff("gro.pwd.aizawl"), staff("field.pwd.aizawl"), staff("hod.pwd")
	var citizen int64
	if err := s.DB.R().QueryRowContext(ctx, `SELECT id FROM people WHERE phone = $1`, DemoCitizenPhone).Scan(&citizen); err != nil {
		return fmt.Errorf("demo citizen: %w", err)
	}
	villages := map[int64][]int64{}
	vrows, err := s.DB.R().QueryContext(ctx, `SELECT district_id, id FROM villages ORDER BY id`)
	if err != nil {
		return err
	}
	for vrows.Next() {
		var d, v int64
		if err := vrows.Scan(&d, &v); err != nil {
			vrows.Close()
			return err
		}
		villages[d] = append(villages[d], v)
	}
	vrows.Close()

	clock := &demoClock{t: s.now()}
	eng := &workflow.Engine{DB: s.DB, Audit: s.Audit, Log: s.Log, Now: clock.now}
	if err := eng.Register(Workflow()); err != nil {
		return err
	}
	ds := *s
	ds.Workflow, ds.Now = eng, clock.now
	now := s.now()
	rng := rand.New(rand.NewPCG(2026, 3))

	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		var cats []Category
		var says [][]string
		for _, dc := range demoCategories {
			id, ok := depts[dc.Dept]
			if !ok {
				continue
			}
			c := dc.Cat
			c.DepartmentID, c.Active = id, true
			if _, err := s.SaveCategory(ctx, tx, c); err != nil {
				return fmt.Errorf("demo category %s: %w", c.Code, err)
			}
			full, err := s.CategoryByCode(ctx, tx, c.Code)
			if err != nil {
				return err
			}
			cats, says = append(cats, full), append(says, dc.Says)
		}
		if len(cats) == 0 {
			return nil
		}
		// Citizens who file and support.
		names := []string{"Lalhmangaihi", "Vanlalruata", "Zothanpuii", "Lalrinawma", "Malsawmi", "Lalnunsanga", "C. Lalramliana",
			"Rosangpuii", "Lalbiakzuala", "Zodinpuii", "H. Lalchhuanawma", "Lalmuanpuii", "Remruatfela", "K. Vanlalhriati",
			"Lalthanpuia", "Biakchhungi", "Laldinpuia", "Zonunsangi", "Lalrempuia", "Vanlalhmangaihi"}
		people := []int64{}
		for i, n := range names {
			id, err := s.Auth.Store.CreatePerson(ctx, tx, auth.Person{Name: n, Phone: "+9198621" + fmt.Sprintf("%05d", 100+i), Lang: "lus"}, now)
			if err != nil {
				return err
			}
			people = append(people, id)
		}
		officer := func(roles ...string) workflow.Actor {
			return workflow.Actor{Label: "demo:officer", Roles: func(int64, int64) []string { return roles }}
		}
		person := func(id int64, roles ...string) workflow.Actor {
			return workflow.Actor{ID: id, Roles: func(int64, int64) []string { return roles }}
		}
		type plan struct {
			target string
			owner  int64
			age    time.Duration
			reopen bool
			rating int
			info   bool
		}
		var plans []plan
		targets := []string{StSubmitted, StAssigned, StInfo, StResolved, StResolved, StResolved, StResolved, StRejected,
			StAppeal, StAppealed, StMerged, StResolved}
		const n = 330
		for i := range n {
			age := time.Duration(rng.Float64()*float64(365*24*time.Hour)) + 2*time.Hour
			t := targets[rng.IntN(len(targets))]
			// Recent grievances are mostly still open.
			if age < 10*24*time.Hour && rng.IntN(3) > 0 {
				t = []string{StSubmitted, StAssigned, StInfo}[rng.IntN(3)]
			}
			p := plan{target: t, owner: people[rng.IntN(len(people))], age: age, info: rng.IntN(5) == 0}
			if t == StResolved || t == StRejected {
				if rng.IntN(10) < 7 {
					p.rating = 1 + rng.IntN(5)
				}
				p.reopen = t == StResolved && rng.IntN(8) == 0
			}
			if i%29 == 0 {
				p.owner = citizen
			}
			plans = append(plans, p)
		}
		// The demo citizen's own story: one of each thing they can do.
		plans = append(plans,
			plan{target: StSubmitted, owner: citizen, age: 20 * time.Hour},
			plan{target: StInfo, owner: citizen, age: 3 * 24 * time.Hour},
			plan{target: StResolved, owner: citizen, age: 9 * 24 * time.Hour},
			plan{target: StResolved, owner: citizen, age: 40 * 24 * time.Hour, rating: 2},
			plan{target: StAppeal, owner: citizen, age: 60 * 24 * time.Hour},
		)
		// Pick place and category; PWD cases in Aizawl go through the real demo officers.
		type openOne struct {
			ci   int
			dist int64
			id   int64
		}
		var openOnes []openOne // grievances that stay open: later duplicates merge into them
		photo := demoPhoto()
		for i, p := range plans {
			ci := rng.IntN(len(cats))
			dist := int64(1 + rng.IntN(11))
			if rng.IntN(3) == 0 {
				dist = 1 // Aizawl is a third of the state
			}
			if p.target == StAssigned || p.owner == citizen {
				ci = slices.IndexFunc(cats, func(c Category) bool { return c.DepartmentCode == "PWD" })
				if p.owner == citizen && i%2 == 1 {
					ci = slices.IndexFunc(cats, func(c Category) bool { return c.Code == "water-no-supply" })
				}
				dist = 1
			}
			if ci < 0 {
				ci = 0
			}
			var into openOne
			if p.target == StMerged && len(openOnes) > 0 {
				into = openOnes[rng.IntN(len(openOnes))]
				ci, dist = into.ci, into.dist
			}
			cat := cats[ci]
			pwdAizawl := cat.DepartmentCode == "PWD" && dist == 1 && gro != 0 && field != 0
			at := now.Add(-p.age)
			clock.t = at
			g := NewGrievance{Category: cat.Code, Description: says[ci][rng.IntN(len(says[ci]))], DistrictID: dist,
				Lang: []string{"en", "lus"}[rng.IntN(2)], Anonymous: rng.IntN(6) == 0, CitizenID: p.owner,
				Channel: []string{ChannelWeb, ChannelWeb, ChannelAPI, ChannelHelpdesk}[rng.IntN(4)],
				Token:   "demo:" + strconv.Itoa(i), Attributes: demoAnswers(cat, rng), Actor: person(p.owner)}
			if vs := villages[dist]; len(vs) > 0 {
				g.VillageID = vs[rng.IntN(len(vs))]
			}
			if rng.IntN(3) == 0 {
				lat, lng := 22.2+rng.Float64()*2.2, 92.4+rng.Float64()*0.9
				g.Lat, g.Lng = &lat, &lng
			}
			if p.owner == citizen && p.target == StSubmitted {
				up, err := files.Check(photo, "road.png", MaxPhoto, files.Images...)
				if err != nil {
					return err
				}
				g.Photos = []files.Upload{up}
				g.Address = "Near the Dawrpui church steps"
			}
			filed, err := ds.FileTx(ctx, tx, g)
			if err != nil {
				return fmt.Errorf("demo grievance %d: %w", i, err)
			}
			c, err := eng.Get(ctx, tx, filed.CaseID)
			if err != nil {
				return err
			}
			if p.target == StSubmitted || p.target == StAssigned {
				openOnes = append(openOnes, openOne{ci: ci, dist: dist, id: c.ID})
			}
			// step moves the clock on by d (never past now) and acts.
			step := func(d time.Duration, a workflow.Actor, action, comment string, extra func(*workflow.Act)) error {
				if clock.t = clock.t.Add(d); clock.t.After(now) {
					clock.t = now.Add(-time.Minute)
				}
				in := workflow.Act{CaseID: c.ID, Action: action, Version: c.Version, Actor: a, Comment: comment}
				if extra != nil {
					extra(&in)
				}
				st, err := eng.Act(ctx, tx, in)
				if err != nil {
					return fmt.Errorf("demo %s %s: %w", c.Ref, action, err)
				}
				c = st.Case
				_, err = tx.ExecContext(ctx, `UPDATE grv_grievances SET updated_at = $2 WHERE case_id = $1`, c.ID, db.Time(clock.t))
				return err
			}
			gro1, field1, hod1 := officer(RoleGRO), officer(RoleField), officer(auth.RoleHOD)
			if pwdAizawl {
				gro1, field1 = person(gro, RoleGRO), person(field, RoleField)
			}
			if cat.DepartmentCode == "PWD" && hod != 0 {
				hod1 = person(hod, auth.RoleHOD)
			}
			hours := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Hour }
			total := p.age
			if p.target == StSubmitted {
				continue
			}
			if pwdAizawl {
				if err := step(hours(2, 30), gro1, "assign", "", func(a *workflow.Act) { a.AssigneeID = field }); err != nil {
					return err
				}
			}
			if p.target == StAssigned {
				continue
			}
			if p.info || p.target == StInfo {
				if err := step(hours(4, 48), field1, "ask_info", "Please tell us the exact spot: the nearest house number or landmark.", nil); err != nil {
					return err
				}
				if p.target == StInfo {
					continue
				}
				if err := step(hours(3, 60), person(p.owner), "add_info", "It is just below the community hall, opposite the shop with the green roof.", nil); err != nil {
					return err
				}
			}
			if p.target == StMerged {
				if into.id == 0 {
					// Nothing to merge into: this one stays with the officer.
					continue
				}
				var intoRef string
				if err := tx.QueryRowContext(ctx, `SELECT ref FROM grv_grievances WHERE case_id = $1`, into.id).Scan(&intoRef); err != nil {
					return err
				}
				if err := step(hours(5, 40), gro1, "merge", "The same problem was reported in "+intoRef+"; follow that grievance.", nil); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET merged_into = $2 WHERE case_id = $1`, c.ID, into.id); err != nil {
					return err
				}
				continue
			}
			if p.target == StRejected {
				if err := step(hours(20, 120), gro1, "reject", "This is not a government matter: the road is a private approach road. Please contact the village council.", nil); err != nil {
					return err
				}
			} else {
				spent := hours(30, 24*20)
				if spent > total-time.Hour {
					spent = total / 2
				}
				if err := step(spent, field1, "resolve", "Work done: the site was inspected and repaired. Photos of the work are with the office.", nil); err != nil {
					return err
				}
				resolved := clock.t
				if p.reopen && rng.IntN(2) == 0 {
					if err := step(hours(10, 100), person(p.owner), "reopen", "The repair has already come apart after one rain.", nil); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET reopened = reopened + 1 WHERE case_id = $1`, c.ID); err != nil {
						return err
					}
					if err := step(hours(24, 24*7), field1, "resolve", "Repaired again with a concrete patch.", nil); err != nil {
						return err
					}
					resolved = clock.t
				}
				if _, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET resolved_at = $2 WHERE case_id = $1`, c.ID, db.Time(resolved)); err != nil {
					return err
				}
			}
			rating := p.rating
			if p.target == StAppeal || p.target == StAppealed {
				rating = 1 + rng.IntN(2)
			}
			if rating > 0 {
				if clock.t = clock.t.Add(hours(2, 72)); clock.t.After(now) {
					clock.t = now.Add(-time.Minute)
				}
				if _, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET rating = $2, rating_comment = $3, rated_at = $4, updated_at = $4 WHERE case_id = $1`,
					c.ID, rating, []string{"", "Nothing was really done.", "Only half done.", "", "Quick and good work, thank you.", "Ṭha hle mai, ka lawm e."}[rating], db.Time(clock.t)); err != nil {
					return err
				}
			}
			if p.target == StAppeal || p.target == StAppealed {
				if err := step(hours(2, 48), person(p.owner), "appeal", "The officer closed it without doing the work. Please look at it again.", nil); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET appealed_at = $2 WHERE case_id = $1`, c.ID, db.Time(clock.t)); err != nil {
					return err
				}
				if p.target == StAppealed && p.age > 20*24*time.Hour {
					if err := step(hours(48, 24*20), hod1, "decide_appeal", "Appeal allowed: the executive engineer will inspect the site and report within a week.", nil); err != nil {
						return err
					}
				}
			}
		}
		// Some open grievances are shared by neighbours ("me too").
		open, err := tx.QueryContext(ctx, `SELECT g.case_id, g.citizen_id FROM grv_grievances g JOIN wf_cases c ON c.id = g.case_id
			WHERE c.open ORDER BY g.case_id`)
		if err != nil {
			return err
		}
		type oc struct{ id, owner int64 }
		var opens []oc
		for open.Next() {
			var o oc
			var owner *int64
			if err := open.Scan(&o.id, &owner); err != nil {
				open.Close()
				return err
			}
			if owner != nil {
				o.owner = *owner
			}
			opens = append(opens, o)
		}
		open.Close()
		for i, o := range opens {
			if i%3 != 0 {
				continue
			}
			k := 1 + rng.IntN(8)
			added := 0
			for _, pid := range people[:k] {
				if pid == o.owner {
					continue
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO grv_supporters (grievance_id, person_id, created_at) VALUES ($1, $2, $3)`,
					o.id, pid, db.Time(now.Add(-time.Duration(rng.IntN(72))*time.Hour))); err != nil {
					return err
				}
				added++
			}
			if _, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET supporters = $2 WHERE case_id = $1`, o.id, added); err != nil {
				return err
			}
			if err := eng.SetPriority(ctx, tx, o.id, added); err != nil {
				return err
			}
		}
		return nil
	})
}

// demoAnswers answers a category's questions plausibly.
func demoAnswers(c Category, rng *rand.Rand) map[string][]string {
	out := map[string][]string{}
	for _, a := range c.Attributes {
		if !a.IsVariable() || (!a.Required && rng.IntN(2) == 0) {
			continue
		}
		switch a.Datatype {
		case AttrNumber:
			out[a.Code] = []string{strconv.Itoa(2 + rng.IntN(12))}
		case AttrDate:
			out[a.Code] = []string{time.Now().AddDate(0, 0, -rng.IntN(30)).Format("2006-01-02")}
		case AttrSingle:
			out[a.Code] = []string{a.Values[rng.IntN(len(a.Values))].Key}
		case AttrMulti:
			out[a.Code] = []string{a.Values[0].Key}
			if rng.IntN(2) == 0 {
				out[a.Code] = append(out[a.Code], a.Values[len(a.Values)-1].Key)
			}
		default:
			out[a.Code] = []string{map[string]string{"connection": "AZL/W/" + strconv.Itoa(10000+rng.IntN(9000)),
				"consumer": "1021" + strconv.Itoa(100000+rng.IntN(800000)), "pole": "P-" + strconv.Itoa(100+rng.IntN(800)),
				"facility": "Primary Health Centre", "what": "Nobody was at the counter from 10 to 1."}[a.Code]}
		}
	}
	return out
}

// demoPhoto is a small generated picture (a grey road with a dark hole).
func demoPhoto() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for x := range 160 {
		for y := range 120 {
			c := color.RGBA{120, 124, 128, 255}
			if dx, dy := x-80, y-64; dx*dx+2*dy*dy < 900 {
				c = color.RGBA{40, 36, 30, 255}
			}
			if y < 30 {
				c = color.RGBA{150, 190, 230, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}
