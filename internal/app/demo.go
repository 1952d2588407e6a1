package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/geo"
	"mizogov/internal/grievance"
	"mizogov/internal/permits"
)

// DemoPassword is the password of every demo account. It exists only in
// databases seeded with --demo.
const DemoPassword = "mizoram-demo-2026"

// DemoCitizenPhone is the demo citizen's mobile number.
const DemoCitizenPhone = "+919862000001"

var demoDepartments = []auth.Department{
	{Code: "GAD", Name: "General Administration Department", NameLus: "General Administration Department (Sawrkar Hnathawh Enkawlna)"},
	{Code: "HOME", Name: "Home Department", NameLus: "Home Department (Ram Chhung Humhimna)"},
	{Code: "HFW", Name: "Health & Family Welfare Department", NameLus: "Hriselna leh Chhungkaw Hamṭhatna Department"},
	{Code: "LRS", Name: "Land Revenue & Settlement Department", NameLus: "Land Revenue & Settlement Department (Ram leh Chenna)"},
	{Code: "CI", Name: "Commerce & Industries Department", NameLus: "Sumdawnna leh Hnathawhna Department"},
	{Code: "PPI", Name: "Planning & Programme Implementation Department", NameLus: "Ruahmanna leh Hmalakna Department"},
	{Code: "PWD", Name: "Public Works Department", NameLus: "Public Works Department (Kawng leh In Sakna)"},
	{Code: "PHED", Name: "Public Health Engineering Department", NameLus: "Tui leh Hriselna Engineering Department"},
	{Code: "PED", Name: "Power & Electricity Department", NameLus: "Electric Department"},
	{Code: "RD", Name: "Rural Development Department", NameLus: "Thingtlang Hmasawnna Department"},
	{Code: "PAR", Name: "Personnel & Administrative Reforms Department", NameLus: "Hnathawktute leh Enkawlna Siamṭhatna Department"},
	{Code: "ICT", Name: "Information & Communication Technology Department", NameLus: "Information & Communication Technology Department"},
}

type demoUser struct {
	Username, Name, Role, Dept, District string
}

var demoUsers = []demoUser{
	{"admin", "Lalthanzuala (Admin)", auth.RoleAdmin, "", ""},
	{"auditor", "Vanlalruati (Auditor)", auth.RoleAuditor, "", ""},
	{"hod.health", "Dr. Lalrinpuii (HoD Health)", auth.RoleHOD, "HFW", ""},
	{"officer.aizawl", "Lalremruata", auth.RoleOfficer, "", "Aizawl"},
	{"officer.champhai", "Zothansanga", auth.RoleOfficer, "", "Champhai"},
	{"officer.hnahthial", "Lalhmingmawia", auth.RoleOfficer, "", "Hnahthial"},
	{"officer.khawzawl", "Vanlalhruaia", auth.RoleOfficer, "", "Khawzawl"},
	{"officer.kolasib", "Lalnunmawii", auth.RoleOfficer, "", "Kolasib"},
	{"officer.lawngtlai", "Sanjay Chakma", auth.RoleOfficer, "", "Lawngtlai"},
	{"officer.lunglei", "Rohmingthanga", auth.RoleOfficer, "", "Lunglei"},
	{"officer.mamit", "Lalchhandama", auth.RoleOfficer, "", "Mamit"},
	{"officer.siaha", "Beihrosa", auth.RoleOfficer, "", "Siaha"},
	{"officer.saitual", "Malsawmtluanga", auth.RoleOfficer, "", "Saitual"},
	{"officer.serchhip", "Lalrinawmi", auth.RoleOfficer, "", "Serchhip"},
	{"ilp.kolasib", "Lalhriatpuii (ILP office, Kolasib)", permits.RoleOfficer, "HOME", "Kolasib"},
	{"police.vairengte", "SI Lalmuanpuia (Vairengte gate)", permits.RolePolice, "HOME", "Kolasib"},
	{"gro.pwd.aizawl", "Lalrinchhana (grievance officer, PWD Aizawl)", grievance.RoleGRO, "PWD", "Aizawl"},
	{"field.pwd.aizawl", "Zoramthanga (field officer, PWD Aizawl)", grievance.RoleField, "PWD", "Aizawl"},
	{"gro.phed.lunglei", "Lalmalsawma (grievance officer, PHED Lunglei)", grievance.RoleGRO, "PHED", "Lunglei"},
	{"hod.pwd", "Er. Vanlalngaihsaka (HoD PWD, appellate authority)", auth.RoleHOD, "PWD", ""},
	{"helpdesk", "Lalhmangaihi (Mipui Aw help desk)", grievance.RoleHelpdesk, "", ""},
	{"counter.cha", "Lalnunpuii (OPD counter, Aizawl Civil Hospital)", "opd_counter", "HFW", "Aizawl"},
}

// seeder adds one service's demo data.
type seeder struct {
	name string
	fn   func(ctx context.Context) error
}

// SeedDemo fills a database with demo departments, places, officers and a
// citizen, then each service's demo data. Each part runs once: a database
// seeded by an older version gets the demo data of services added since.
func (a *App) SeedDemo(ctx context.Context) error {
	for _, s := range append([]seeder{{"core", a.seedCore}}, a.seeders...) {
		key := "demo_seeded:" + s.name
		var done int
		if err := a.DB.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM settings WHERE key = $1`, key).Scan(&done); err != nil {
			return err
		}
		if done > 0 {
			continue
		}
		a.Log.Info("seeding demo data", "part", s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("demo data for %s: %w", s.name, err)
		}
		if _, err := a.DB.W().ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)`, key, a.Now().UTC().Format(time.RFC3339)); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) seedCore(ctx context.Context) error {
	depts := map[string]int64{}
	for _, d := range demoDepartments {
		id, err := a.Auth.SaveDepartment(ctx, nil, d)
		if err != nil {
			return fmt.Errorf("demo department %s: %w", d.Code, err)
		}
		depts[d.Code] = id
	}
	districts := map[string]int64{}
	ds, err := a.Geo.Districts(ctx)
	if err != nil {
		return err
	}
	for _, d := range ds {
		districts[d.Name] = d.ID
	}
	if _, err := a.Geo.Import(ctx, bytes.NewReader(geoSample()), audit.System("demo")); err != nil {
		return fmt.Errorf("demo villages: %w", err)
	}
	for _, u := range demoUsers {
		_, err := a.Auth.CreateStaff(ctx, nil, auth.NewStaff{Username: u.Username, Name: u.Name, Role: u.Role,
			DepartmentID: depts[u.Dept], DistrictID: districts[u.District], Password: DemoPassword})
		if err != nil {
			return fmt.Errorf("demo user %s: %w", u.Username, err)
		}
	}
	return a.DB.Tx(ctx, func(tx *db.Tx) error {
		id, err := a.Auth.Store.CreatePerson(ctx, tx, auth.Person{Name: "Lalremsiami", Phone: DemoCitizenPhone, Lang: "lus"}, a.Now())
		if err != nil {
			return err
		}
		if _, err := a.Audit.Append(ctx, tx, audit.Event{Action: "person.create", ObjectType: "person", ObjectID: fmt.Sprint(id),
			SubjectID: id, Actor: audit.System("demo")}); err != nil {
			return err
		}
		return nil
	})
}

// PrintDemoBanner writes the demo sign-in details.
func (a *App) PrintDemoBanner(ctx context.Context, w io.Writer, url string) error {
	var b strings.Builder
	line := strings.Repeat("═", 78)
	fmt.Fprintf(&b, "\n%s\n  mizogov DEMO — %s — every page is marked DEMO\n%s\n", line, url, line)
	fmt.Fprintf(&b, "  Citizen: sign in at %s/signin with %s (or 9862000001).\n", url, DemoCitizenPhone)
	fmt.Fprintf(&b, "           The one-time code is printed in this log (console channel).\n")
	fmt.Fprintf(&b, "  Officers: sign in at %s/staff/signin — password for all: %s\n", url, DemoPassword)
	fmt.Fprintf(&b, "           The TOTP code is optional in the demo; the secrets below work in any authenticator app.\n\n")
	fmt.Fprintf(&b, "  %-20s %-12s %s\n", "username", "role", "TOTP secret")
	for _, u := range demoUsers {
		secret, err := a.Auth.DemoTOTPSecret(ctx, u.Username)
		if errors.Is(err, db.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		scope := u.Role
		if u.Dept != "" {
			scope += " " + u.Dept
		}
		fmt.Fprintf(&b, "  %-20s %-12s %s\n", u.Username, scope, secret)
	}
	fmt.Fprintf(&b, "%s\n", line)
	_, err := io.WriteString(w, b.String())
	return err
}

func geoSample() []byte { return geo.Sample }
