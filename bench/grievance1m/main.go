// Command grievance1m builds a data set of 1,000,000 grievances and
// measures Mipui Aw on it: the officer inbox (through the workflow engine,
// and through HTTP when the build has the officer pages), the public
// dashboard through HTTP, the dashboard's refresh job, and an SLA
// escalation sweep over the overdue cases.
//
//	go run ./bench/grievance1m                                  # SQLite in $TMPDIR/mizogov-grievance1m (built once, then reused)
//	go run ./bench/grievance1m -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./bench/grievance1m -n 100000 -data /tmp/g100k -rebuild -explain
//
// The data set is written with bulk SQL straight into wf_cases, wf_history
// (every step of each case's life: filing, assignment, information asked,
// resolution, rejection, merging, appeal and its decision), grv_grievances
// (the FTS5 index follows through its trigger on SQLite; the tsvector is a
// generated column on PostgreSQL) and refno_counters. It is a benchmark
// fixture: the audit log gets no entries for the generated rows, and no
// notifications are queued for them. The app runs in this process on a
// loopback port with its background jobs stopped, so that nothing but the
// measured requests runs; the sweep and the dashboard refresh are called
// directly and timed.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"mizogov/internal/app"
	"mizogov/internal/auth"
	"mizogov/internal/config"
	"mizogov/internal/db"
	"mizogov/internal/grievance"
	"mizogov/internal/notify"
	"mizogov/internal/refno"
	"mizogov/internal/workflow"

	_ "github.com/jackc/pgx/v5/stdlib"
)

var (
	n          = flag.Int("n", 1_000_000, "grievances to generate")
	dataDir    = flag.String("data", filepath.Join(os.TempDir(), "mizogov-grievance1m"), "data folder (SQLite database and files); reused when it holds a data set")
	dbURL      = flag.String("db", "", "PostgreSQL URL (default: SQLite in -data); the data set goes in schema -schema")
	schema     = flag.String("schema", "grievance1m", "PostgreSQL schema for the data set")
	rebuild    = flag.Bool("rebuild", false, "build the data set again even if one exists")
	months     = flag.Int("months", 26, "months of history")
	stuck      = flag.Float64("stuck", 0.005, "share of grievances left open long past their due time")
	requests   = flag.Int("requests", 300, "requests per measured scenario")
	conc       = flag.Int("c", 1, "concurrent clients per scenario")
	explain    = flag.Bool("explain", false, "print the query plan of each inbox query")
	inboxPath  = flag.String("inbox-url", "/api/v1/grievances/inbox", "officer inbox URL to measure through HTTP (view, state, department and district ids, sort); skipped when it answers 404")
	doSweep    = flag.Bool("sweep", true, "run and time the escalation sweep (it changes the data set: a second run has less to escalate)")
	seed       = flag.Uint64("seed", 20261127, "random seed")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	buildBatch = flag.Int("batch", 10, "rows per INSERT statement (SQLite binds many parameters slowly)")
)

func main() {
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "grievance1m:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "grievance1m:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// marker describes a built data set; it is stored next to it.
type marker struct {
	N       int       `json:"n"`
	BuiltAt time.Time `json:"built_at"`
	Staff   []staff   `json:"staff"`
}

type staff struct {
	Key      string `json:"key"` // gro, hod, admin
	Cred     auth.Credentials
	Role     string `json:"role"`
	DeptID   int64  `json:"dept_id"`
	DistID   int64  `json:"dist_id"`
	DeptCode string `json:"dept_code"`
}

func run(ctx context.Context) error {
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return err
	}
	cfg := config.Defaults()
	cfg.DataDir = *dataDir
	markerPath := filepath.Join(*dataDir, "grievance1m.json")
	if *dbURL != "" {
		u, err := pgSchema(*dbURL, *schema, *rebuild)
		if err != nil {
			return err
		}
		cfg.DB = u
		markerPath = filepath.Join(*dataDir, "grievance1m-pg-"+*schema+".json")
	} else if *rebuild {
		for _, f := range []string{"mizogov.db", "mizogov.db-wal", "mizogov.db-shm", "grievance1m.json"} {
			os.Remove(filepath.Join(*dataDir, f))
		}
	}
	var mk marker
	if b, err := os.ReadFile(markerPath); err == nil && !*rebuild {
		if err := json.Unmarshal(b, &mk); err != nil {
			return err
		}
	}
	a, err := app.Open(ctx, cfg, app.Options{Migrate: true, SMS: &notify.Memory{}, Email: &notify.Memory{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Printf("database: %s; data folder %s\n", a.DB.Dialect, *dataDir)
	svc := &grievance.Service{DB: a.DB, Audit: a.Audit, Notify: a.Notify, Jobs: a.Jobs, Workflow: a.Workflow, Files: a.Files,
		Geo: a.Geo, Auth: a.Auth, Limits: a.Limits, Render: a.Render, Now: a.Now}

	if mk.N == 0 {
		t := time.Now()
		if mk, err = build(ctx, a, svc); err != nil {
			return err
		}
		fmt.Printf("built %d grievances in %s\n", mk.N, time.Since(t).Round(time.Millisecond))
		b, _ := json.MarshalIndent(mk, "", " ")
		if err := os.WriteFile(markerPath, b, 0o600); err != nil {
			return err
		}
	} else {
		fmt.Printf("reusing the data set of %d grievances built %s\n", mk.N, mk.BuiltAt.Format(time.RFC3339))
	}
	if err := describe(ctx, a.DB); err != nil {
		return err
	}

	// The dashboard's summary: the first refresh computes every month.
	t := time.Now()
	r, err := svc.RefreshDashboard(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("dashboard refresh: %d months (full=%v) in %s\n", r.Months, r.Full, time.Since(t).Round(time.Millisecond))
	t = time.Now()
	if r, err = svc.RefreshDashboard(ctx); err != nil {
		return err
	}
	fmt.Printf("dashboard refresh with nothing changed: %d months in %s\n", r.Months, time.Since(t).Round(time.Millisecond))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	fmt.Printf("\n%-58s %8s %8s %8s %8s\n", "scenario", "p50", "p95", "p99", "rows")
	if err := benchInbox(ctx, a, mk, base, client); err != nil {
		return err
	}
	for _, q := range []string{"", "?lang=lus", "?department=PWD", "?department=PWD&district=261&period=6m", "?district=265&period=fy"} {
		if err := httpScenario(client, "GET /grievances/dashboard"+q, base+"/grievances/dashboard"+q, ""); err != nil {
			return err
		}
	}
	if err := httpScenario(client, "GET /grievances/dashboard.csv?by=month", base+"/grievances/dashboard.csv?by=month", ""); err != nil {
		return err
	}

	if *doSweep {
		var overdue int
		a.DB.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM wf_cases WHERE type = 'grievance' AND open AND state_due <= $1`, db.Time(time.Now())).Scan(&overdue)
		t := time.Now()
		res, err := a.Workflow.Sweep(ctx)
		took := time.Since(t)
		if err != nil {
			return err
		}
		fmt.Printf("\nsweep: %d open cases past their state's due time; escalated %d, failed %d, skipped %d in %.2f s (%.0f escalations/s)\n",
			overdue, res.Escalated, res.Failed, res.Skipped, took.Seconds(), float64(res.Escalated)/took.Seconds())
		t = time.Now()
		res, err = a.Workflow.Sweep(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("sweep again (nothing left): escalated %d in %.3f s\n", res.Escalated, time.Since(t).Seconds())
		t = time.Now()
		if r, err = svc.RefreshDashboard(ctx); err != nil {
			return err
		}
		fmt.Printf("dashboard refresh after the sweep: %d months in %s\n", r.Months, time.Since(t).Round(time.Millisecond))
	}
	return nil
}

// pgSchema returns a URL whose search_path is the named schema, creating
// it (or, with drop, creating it afresh).
func pgSchema(base, name string, drop bool) (string, error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if drop {
		if _, err := admin.Exec(`DROP SCHEMA IF EXISTS ` + name + ` CASCADE`); err != nil {
			return "", err
		}
	}
	if _, err := admin.Exec(`CREATE SCHEMA IF NOT EXISTS ` + name); err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func describe(ctx context.Context, d *db.DB) error {
	rows, err := d.R().QueryContext(ctx, `SELECT state, COUNT(*) FROM wf_cases WHERE type = 'grievance' GROUP BY state ORDER BY state`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var s string
		var k int
		if err := rows.Scan(&s, &k); err != nil {
			return err
		}
		parts = append(parts, fmt.Sprintf("%s %d", s, k))
	}
	var open, late, hist int
	now := db.Time(time.Now())
	d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM wf_cases WHERE type = 'grievance' AND open`).Scan(&open)
	d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM wf_cases WHERE type = 'grievance' AND open AND NOT paused AND due_at < $1`, now).Scan(&late)
	d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM wf_history`).Scan(&hist)
	fmt.Printf("states: %s\nopen %d (past the grievance's due time: %d); history rows %d\n", strings.Join(parts, ", "), open, late, hist)
	return rows.Err()
}

// ---------------------------------------------------------------- data set

type category struct {
	id  int64
	sla int
}

type dept struct {
	id     int64
	code   string
	weight float64
	cats   []category
}

var departments = []struct {
	code, name, nameLus string
	weight              float64
	cats                [][2]string // code, name
}{
	{"PWD", "Public Works Department", "Public Works Department", 20, [][2]string{{"road_damage", "Damaged road"}, {"bridge", "Bridge or culvert"}, {"landslide", "Landslide blocking a road"}}},
	{"PHED", "Public Health Engineering Department", "Public Health Engineering Department", 16, [][2]string{{"no_water", "No water supply"}, {"pipe_leak", "Leaking pipe"}, {"water_quality", "Dirty water"}}},
	{"PED", "Power and Electricity Department", "Power and Electricity Department", 12, [][2]string{{"power_cut", "Power cut"}, {"streetlight", "Streetlight not working"}, {"meter", "Electricity bill or meter"}}},
	{"HFW", "Health and Family Welfare Department", "Health and Family Welfare Department", 9, [][2]string{{"phc", "Health centre"}, {"medicine", "Medicines not available"}, {"ambulance", "Ambulance"}}},
	{"RD", "Rural Development Department", "Rural Development Department", 8, [][2]string{{"mgnrega", "Job card or wages"}, {"housing", "Rural housing"}, {"village_road", "Village road"}}},
	{"LRS", "Land Revenue and Settlement Department", "Land Revenue and Settlement Department", 7, [][2]string{{"land_record", "Land record"}, {"pass", "Land pass"}, {"survey", "Survey"}}},
	{"HOME", "Home Department", "Home Department", 6, [][2]string{{"ilp", "Inner Line Permit"}, {"police", "Police response"}, {"traffic", "Traffic"}}},
	{"CI", "Commerce and Industries Department", "Commerce and Industries Department", 4, [][2]string{{"trade_licence", "Trade licence"}, {"market", "Market"}, {"msme", "MSME registration"}}},
	{"GAD", "General Administration Department", "General Administration Department", 4, [][2]string{{"certificate", "Certificate delay"}, {"office", "Office conduct"}, {"pension", "Pension"}}},
	{"ICT", "Information and Communication Technology Department", "Information and Communication Technology Department", 5, [][2]string{{"website", "Government website"}, {"internet", "Internet in offices"}, {"egov", "Online service"}}},
	{"PAR", "Personnel and Administrative Reforms Department", "Personnel and Administrative Reforms Department", 4, [][2]string{{"recruitment", "Recruitment"}, {"service", "Service matter"}, {"training", "Training"}}},
	{"PPI", "Printing and Stationery Department", "Printing and Stationery Department", 3, [][2]string{{"gazette", "Gazette"}, {"forms", "Printed forms"}, {"stationery", "Stationery"}}},
}

// District shares roughly follow population (2011 census).
var districtWeights = map[string]float64{"Aizawl": 36, "Lunglei": 14, "Champhai": 11, "Lawngtlai": 11, "Kolasib": 8, "Mamit": 8,
	"Serchhip": 6, "Siaha": 5, "Saitual": 5, "Khawzawl": 4, "Hnahthial": 3}

var (
	problems = []string{"has not been repaired for months", "is blocked since the rains", "stopped working last week",
		"is dangerous for children going to school", "was reported twice already with no reply", "needs urgent attention",
		"affects about forty households", "got worse after the road work", "has been like this since March"}
	places = []string{"Bawngkawn", "Chanmari", "Zarkawt", "Dawrpui", "Tlangnuam", "Ramhlun", "Khatla", "Kulikawn", "Electric Veng",
		"Chaltlang", "Durtlang", "Luangmual", "Mission Veng", "Republic", "Tuikual", "Venghlui", "Zemabawk", "Thakthing", "Saron Veng"}
	subjects = []string{"The water supply line", "The road", "The drain", "The streetlight", "The culvert", "The transformer",
		"The health sub-centre", "The footpath", "The public toilet", "The bus shed"}
)

type gen struct {
	rnd      *rand.Rand
	now      time.Time
	depts    []dept
	deptW    []float64
	dists    []int64
	distName map[int64]string
	distW    []float64
	gro      map[[2]int64]int64   // (dept, district) → grievance officer
	field    map[[2]int64][]int64 // (dept, district) → field officers
	citizens []int64
	fySeq    map[string]int64
}

func pick(r *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// build writes the data set.
func build(ctx context.Context, a *app.App, svc *grievance.Service) (marker, error) {
	d := a.DB
	g := &gen{rnd: rand.New(rand.NewPCG(*seed, 7)), now: time.Now(), gro: map[[2]int64]int64{}, field: map[[2]int64][]int64{},
		distName: map[int64]string{}, fySeq: map[string]int64{}}
	mk := marker{N: *n, BuiltAt: g.now}
	// Departments and categories.
	for _, dd := range departments {
		id, err := a.Auth.SaveDepartment(ctx, nil, auth.Department{Code: dd.code, Name: dd.name, NameLus: dd.nameLus, Active: true})
		if err != nil {
			return mk, fmt.Errorf("department %s: %w", dd.code, err)
		}
		de := dept{id: id, code: dd.code, weight: dd.weight}
		err = d.Tx(ctx, func(tx *db.Tx) error {
			for i, c := range dd.cats {
				sla := []int{21, 15, 30}[i%3]
				cid, err := svc.SaveCategory(ctx, tx, grievance.Category{Code: strings.ToLower(dd.code) + "_" + c[0], DepartmentID: id,
					Name: c[1], NameLus: c[1], SLADays: sla, Active: true})
				if err != nil {
					return err
				}
				de.cats = append(de.cats, category{cid, sla})
			}
			return nil
		})
		if err != nil {
			return mk, err
		}
		g.depts = append(g.depts, de)
		g.deptW = append(g.deptW, dd.weight)
	}
	rows, err := d.R().QueryContext(ctx, `SELECT id, name FROM districts ORDER BY id`)
	if err != nil {
		return mk, err
	}
	for rows.Next() {
		var id int64
		var name string
		rows.Scan(&id, &name)
		g.dists = append(g.dists, id)
		g.distName[id] = name
		g.distW = append(g.distW, districtWeights[name])
	}
	rows.Close()
	var aizawl int64
	for id, name := range g.distName {
		if name == "Aizawl" {
			aizawl = id
		}
	}
	pwd := g.depts[0]
	// The officers who sign in for the measurements.
	stamp := time.Now().Unix() % 100000
	for _, s := range []staff{
		{Key: "gro", Role: grievance.RoleGRO, DeptID: pwd.id, DistID: aizawl, DeptCode: "PWD"},
		{Key: "hod", Role: auth.RoleHOD, DeptID: pwd.id, DeptCode: "PWD"},
		{Key: "admin", Role: auth.RoleAdmin},
	} {
		cred, err := a.Auth.CreateStaff(ctx, nil, auth.NewStaff{Username: fmt.Sprintf("bench.%s.%d", s.Key, stamp), Name: "Bench " + s.Key,
			Email: fmt.Sprintf("bench.%s.%d@mizogov.test", s.Key, stamp), Role: s.Role, DepartmentID: s.DeptID, DistrictID: s.DistID})
		if err != nil {
			return mk, fmt.Errorf("staff %s: %w", s.Key, err)
		}
		s.Cred = cred
		mk.Staff = append(mk.Staff, s)
	}
	// Everyone else: bulk rows (they never sign in): a grievance officer
	// and two field officers per department and district, a head of each
	// department, and the citizens.
	now := db.Time(g.now)
	var people [][]any
	type grant struct {
		role       string
		dept, dist int64
	}
	var grants []grant
	for _, de := range g.depts {
		if de.code != "PWD" {
			people = append(people, []any{"Head " + de.code, nil, "hod." + strings.ToLower(de.code) + "@mizogov.test", "en", now})
			grants = append(grants, grant{auth.RoleHOD, de.id, 0})
		}
		for _, dist := range g.dists {
			if !(de.code == "PWD" && dist == aizawl) {
				people = append(people, []any{fmt.Sprintf("GRO %s %d", de.code, dist), nil, fmt.Sprintf("gro.%s.%d@mizogov.test", strings.ToLower(de.code), dist), "en", now})
				grants = append(grants, grant{grievance.RoleGRO, de.id, dist})
			}
			for j := range 2 {
				people = append(people, []any{fmt.Sprintf("Field %s %d %d", de.code, dist, j), nil, fmt.Sprintf("field%d.%s.%d@mizogov.test", j, strings.ToLower(de.code), dist), "en", now})
				grants = append(grants, grant{grievance.RoleField, de.id, dist})
			}
		}
	}
	officerIDs, err := insertPeople(ctx, d, people)
	if err != nil {
		return mk, err
	}
	var grantRows [][]any
	for i, gr := range grants {
		grantRows = append(grantRows, []any{officerIDs[i], gr.role, nullID(gr.dept), nullID(gr.dist), now})
		switch gr.role {
		case grievance.RoleGRO:
			g.gro[[2]int64{gr.dept, gr.dist}] = officerIDs[i]
		case grievance.RoleField:
			k := [2]int64{gr.dept, gr.dist}
			g.field[k] = append(g.field[k], officerIDs[i])
		}
	}
	g.gro[[2]int64{pwd.id, aizawl}] = mk.Staff[0].Cred.PersonID
	if err := bulk(ctx, d, "grants", []string{"person_id", "role", "department_id", "district_id", "created_at"}, grantRows); err != nil {
		return mk, err
	}
	citizens := max(*n/10, 100)
	people = people[:0]
	for i := range citizens {
		lang := "en"
		if i%2 == 0 {
			lang = "lus"
		}
		people = append(people, []any{fmt.Sprintf("Citizen %d", i), fmt.Sprintf("+9198%08d", 10000000+i), nil, lang, now})
	}
	if g.citizens, err = insertPeople(ctx, d, people); err != nil {
		return mk, err
	}

	// The grievances, oldest first, in transactions of 20,000.
	var first int64
	d.R().QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM wf_cases`).Scan(&first)
	start := g.now.AddDate(0, -*months, 0)
	span := g.now.Sub(start)
	restore, err := dropIndexes(ctx, d)
	if err != nil {
		return mk, err
	}
	const chunk = 20000
	t0 := time.Now()
	for lo := 0; lo < *n; lo += chunk {
		hi := min(lo+chunk, *n)
		var cases, hist, grvs [][]any
		for i := lo; i < hi; i++ {
			created := db.Time(start.Add(time.Duration(float64(span) * (float64(i) + g.rnd.Float64()) / float64(*n))))
			c, h, gr := g.grievance(first+int64(i), created)
			cases = append(cases, c)
			hist = append(hist, h...)
			grvs = append(grvs, gr)
		}
		err := d.Tx(ctx, func(tx *db.Tx) error {
			if err := bulkTx(ctx, tx, "wf_cases", caseColumns, cases); err != nil {
				return err
			}
			if err := bulkTx(ctx, tx, "wf_history", historyColumns, hist); err != nil {
				return err
			}
			return bulkTx(ctx, tx, "grv_grievances", grievanceColumns, grvs)
		})
		if err != nil {
			return mk, err
		}
		if hi%100000 == 0 || hi == *n {
			el := time.Since(t0)
			fmt.Printf("  %d grievances written (%.0f/s)\n", hi, float64(hi)/el.Seconds())
		}
	}
	t := time.Now()
	if err := restore(); err != nil {
		return mk, err
	}
	fmt.Printf("  indexes, full-text index and triggers rebuilt in %s\n", time.Since(t).Round(time.Millisecond))
	// Reference numbers filed from now on continue after the generated ones.
	for fy, last := range g.fySeq {
		if _, err := d.W().ExecContext(ctx, `INSERT INTO refno_counters (service, fy, last) VALUES ('GRV', $1, $2)
			ON CONFLICT (service, fy) DO UPDATE SET last = CASE WHEN refno_counters.last > $2 THEN refno_counters.last ELSE $2 END`, fy, last); err != nil {
			return mk, err
		}
	}
	if d.Dialect == db.Postgres {
		if _, err := d.W().ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('wf_cases', 'id'), (SELECT MAX(id) FROM wf_cases))`); err != nil {
			return mk, err
		}
		t = time.Now()
		for _, tbl := range []string{"wf_cases", "wf_history", "grv_grievances", "people", "grants"} {
			if _, err := d.W().ExecContext(ctx, `ANALYZE `+tbl); err != nil {
				return mk, err
			}
		}
		fmt.Printf("  ANALYZE (what autovacuum does after a bulk load) in %s\n", time.Since(t).Round(time.Millisecond))
	}
	return mk, nil
}

var (
	caseColumns = []string{"id", "type", "ref", "state", "version", "open", "paused", "department_id", "district_id", "owner_id",
		"assignee_id", "assigned_role", "level", "priority", "sla", "created_at", "updated_at", "state_since", "state_due", "due_at",
		"paused_at", "return_state", "closed_at"}
	historyColumns = []string{"case_id", "seq", "at", "actor_id", "actor", "role", "action", "from_state", "to_state", "comment",
		"public", "assignee_id", "assigned_role", "department_id", "district_id", "level", "state_due"}
	grievanceColumns = []string{"case_id", "ref", "category_id", "district_id", "description", "lat", "lng", "address", "lang",
		"anonymous", "citizen_id", "channel", "rating", "rated_at", "resolved_at", "appealed_at", "merged_into", "created_at", "updated_at"}
)

const day = 24 * time.Hour

func days(f float64) time.Duration { return time.Duration(f * float64(day)) }

// grievance makes one grievance's case row, history rows and grievance row.
func (g *gen) grievance(id int64, created time.Time) ([]any, [][]any, []any) {
	r := g.rnd
	de := g.depts[pick(r, g.deptW)]
	cat := de.cats[r.IntN(len(de.cats))]
	dist := g.dists[pick(r, g.distW)]
	key := [2]int64{de.id, dist}
	gro := g.gro[key]
	fields := g.field[key]
	var owner any
	citizen := g.citizens[r.IntN(len(g.citizens))]
	channel := []string{"web", "web", "web", "api", "api", "helpdesk", "open311"}[r.IntN(7)]
	if channel != "open311" || r.IntN(2) == 0 {
		owner = citizen
	}
	fy := refno.FY(created)
	g.fySeq[fy]++
	ref := refno.Format("GRV", fy, g.fySeq[fy])
	due := db.Time(created.AddDate(0, 0, cat.sla))

	// The case's life. Times of each step; the case is open when a step is still to come.
	var steps []step
	add := func(at time.Time, action, from, to, role string, actor any, assignee any, queue string, public bool, stateDue any) bool {
		at = db.Time(at)
		if at.After(g.now) {
			return false
		}
		steps = append(steps, step{at, action, from, to, role, actor, assignee, queue, public, stateDue})
		return true
	}
	submitDue := db.Time(created.Add(7 * day)) // five working days
	add(created, "create", "", grievance.StSubmitted, "owner", owner, nil, grievance.RoleGRO, true, submitDue)
	state, queue, stateSince := grievance.StSubmitted, grievance.RoleGRO, created
	var stateDue any = submitDue
	var assignee any
	var pausedAt any
	returnState := ""
	var closedAt, resolvedAt, appealedAt, rating, ratedAt, mergedInto any
	stuck := r.Float64() < *stuck
	closeIn := 1 + r.Float64()*13
	switch x := r.Float64(); {
	case x > 0.85:
		closeIn = 30 + r.Float64()*60
	case x > 0.55:
		closeIn = 14 + r.Float64()*16
	}
	outcome := r.Float64()
	assignAt := created.Add(days(0.2 + r.Float64()*2))
	closeAt := created.Add(days(closeIn))
	if stuck {
		closeAt = g.now.AddDate(100, 0, 0) // never, within the data set
	}
	person := func(list []int64) any {
		if len(list) == 0 {
			return gro
		}
		return list[r.IntN(len(list))]
	}
	if outcome < 0.08 || outcome >= 0.11 { // all but rejected and merged (which the grievance officer closes unassigned)
		worker := person(append([]int64{gro}, fields...))
		if add(assignAt, "assign", grievance.StSubmitted, grievance.StAssigned, grievance.RoleGRO, gro, worker, grievance.RoleField, false, due) {
			state, queue, stateSince, stateDue, assignee = grievance.StAssigned, grievance.RoleField, assignAt, due, worker
			if r.Float64() < 0.12 {
				askAt := assignAt.Add(days(r.Float64() * 3))
				infoDue := db.Time(askAt.Add(15 * day))
				if add(askAt, "ask_info", grievance.StAssigned, grievance.StInfo, grievance.RoleField, worker, worker, "owner", true, infoDue) {
					state, queue, stateSince, stateDue, pausedAt, returnState = grievance.StInfo, "owner", askAt, infoDue, db.Time(askAt), grievance.StAssigned
					backAt := askAt.Add(days(0.5 + r.Float64()*6))
					if add(backAt, "add_info", grievance.StInfo, grievance.StAssigned, "owner", owner, worker, grievance.RoleField, true, nil) {
						due = db.Time(due.Add(backAt.Sub(askAt)))
						steps[len(steps)-1].stateDue = due
						state, queue, stateSince, stateDue, pausedAt, returnState = grievance.StAssigned, grievance.RoleField, backAt, due, nil, ""
						if closeAt.Before(backAt) {
							closeAt = backAt.Add(days(r.Float64() * 3))
						}
					}
				}
			}
		}
	}
	closing := func(action, to, role string, actor any) bool {
		if state == grievance.StInfo || !add(closeAt, action, state, to, role, actor, assignee, queue, true, nil) {
			return false
		}
		state, closedAt, stateDue, pausedAt = to, db.Time(closeAt), nil, nil
		return true
	}
	switch {
	case outcome < 0.08:
		closing("reject", grievance.StRejected, grievance.RoleGRO, gro)
	case outcome < 0.11:
		if id > 5000 && closing("merge", grievance.StMerged, grievance.RoleGRO, gro) {
			mergedInto = id - 1 - int64(r.IntN(4000))
		}
	default:
		if closing("resolve", grievance.StResolved, grievance.RoleField, assignee) {
			resolvedAt = closedAt
			appeal := outcome > 0.95
			if appeal || r.Float64() < 0.6 {
				rateAt := closeAt.Add(days(0.2 + r.Float64()*3))
				v := []int{5, 5, 5, 5, 4, 4, 4, 3, 3, 2, 1}[r.IntN(11)]
				if appeal {
					v = 1 + r.IntN(2)
				}
				if !rateAt.After(g.now) {
					rating, ratedAt = v, db.Time(rateAt)
				}
			}
			appealAt := closeAt.Add(days(1 + r.Float64()*10))
			if appeal && ratedAt != nil {
				appealDue := db.Time(appealAt.Add(30 * day))
				if add(appealAt, "appeal", grievance.StResolved, grievance.StAppeal, "owner", owner, nil, auth.RoleHOD, true, appealDue) {
					state, queue, stateSince, stateDue, closedAt, assignee, appealedAt = grievance.StAppeal, auth.RoleHOD, appealAt, appealDue, nil, nil, db.Time(appealAt)
					decideAt := appealAt.Add(days(3 + r.Float64()*40))
					if r.Float64() < 0.02 {
						decideAt = decideAt.Add(200 * day) // an appeal left waiting
					}
					if add(decideAt, "decide_appeal", grievance.StAppeal, grievance.StAppealed, auth.RoleHOD, nil, nil, auth.RoleHOD, true, nil) {
						state, stateDue, closedAt = grievance.StAppealed, nil, db.Time(decideAt)
					}
				}
			}
		}
	}
	open := closedAt == nil
	last := steps[len(steps)-1]
	caseRow := []any{id, grievance.CaseType, ref, state, len(steps), open, pausedAt != nil, de.id, dist, owner, assignee, queue, 0, 0,
		fmt.Sprintf("%dd", cat.sla), created, last.at, db.Time(stateSince), stateDue, due, pausedAt, returnState, closedAt}
	hist := make([][]any, len(steps))
	for i, s := range steps {
		actor := "system"
		if s.actor != nil {
			actor = fmt.Sprintf("person:%d", s.actor)
		}
		comment := ""
		if s.action != "create" && s.action != "assign" {
			comment = "Step " + s.action + " on " + ref
		}
		hist[i] = []any{id, i + 1, s.at, s.actor, actor, s.role, s.action, s.from, s.to, comment, s.public, s.assignee, s.queue,
			de.id, dist, 0, s.stateDue}
	}
	place := places[r.IntN(len(places))]
	desc := fmt.Sprintf("%s at %s %s. Ref %s.", subjects[r.IntN(len(subjects))], place, problems[r.IntN(len(problems))], ref)
	var lat, lng any
	if r.IntN(10) < 6 {
		lat, lng = 22+r.Float64()*2.4, 92.3+r.Float64()*1.1
	}
	lang := "en"
	if r.IntN(2) == 0 {
		lang = "lus"
	}
	grv := []any{id, ref, cat.id, dist, desc, lat, lng, place + ", " + g.distName[dist], lang, r.IntN(20) == 0, owner, channel,
		rating, ratedAt, resolvedAt, appealedAt, mergedInto, created, last.at}
	return caseRow, hist, grv
}

type step struct {
	at               time.Time
	action, from, to string
	role             string
	actor, assignee  any
	queue            string
	public           bool
	stateDue         any
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// dropIndexes drops the secondary indexes of the tables the generator
// fills (and, on SQLite, the trigger that feeds the full-text index), so
// that rows are appended rather than threaded through a dozen B-trees; the
// function it returns creates them again from their stored definitions and
// rebuilds the full-text index. Indexes that back a constraint stay.
func dropIndexes(ctx context.Context, d *db.DB) (func() error, error) {
	tables := `('wf_cases', 'wf_history', 'grv_grievances')`
	q := `SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name IN ` + tables +
		` AND sql IS NOT NULL AND (type = 'index' OR name = 'grv_fts_insert')`
	if d.Dialect == db.Postgres {
		q = `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ` + tables +
			` AND indexname NOT IN (SELECT conname FROM pg_constraint)`
	}
	rows, err := d.R().QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	for i, name := range names {
		kind := "INDEX"
		if strings.HasPrefix(strings.ToUpper(defs[i]), "CREATE TRIGGER") {
			kind = "TRIGGER"
		}
		if _, err := d.W().ExecContext(ctx, `DROP `+kind+` `+name); err != nil {
			return nil, err
		}
	}
	return func() error {
		if d.Dialect == db.SQLite {
			if _, err := d.W().ExecContext(ctx, `INSERT INTO grv_fts (grv_fts) VALUES ('rebuild')`); err != nil {
				return fmt.Errorf("rebuild full-text index: %w", err)
			}
		}
		for i, def := range defs {
			if _, err := d.W().ExecContext(ctx, def); err != nil {
				return fmt.Errorf("recreate %s: %w", names[i], err)
			}
		}
		return nil
	}, nil
}

// insertPeople adds people rows and returns their ids in order.
func insertPeople(ctx context.Context, d *db.DB, rows [][]any) ([]int64, error) {
	var first int64
	d.R().QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM people`).Scan(&first)
	with := make([][]any, len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = first + int64(i)
		with[i] = append([]any{ids[i]}, r...)
	}
	if err := bulk(ctx, d, "people", []string{"id", "name", "phone", "email", "lang", "created_at"}, with); err != nil {
		return nil, err
	}
	if d.Dialect == db.Postgres {
		if _, err := d.W().ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT MAX(id) FROM people))`); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func bulk(ctx context.Context, d *db.DB, table string, cols []string, rows [][]any) error {
	return d.Tx(ctx, func(tx *db.Tx) error { return bulkTx(ctx, tx, table, cols, rows) })
}

// bulkTx inserts rows with a multi-row INSERT prepared once per size.
func bulkTx(ctx context.Context, tx *db.Tx, table string, cols []string, rows [][]any) error {
	per := max(1, min(*buildBatch, 30000/len(cols)))
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	args := make([]any, 0, per*len(cols))
	for len(rows) > 0 {
		k := min(per, len(rows))
		st := stmts[k]
		if st == nil {
			var sb strings.Builder
			sb.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
			for i := range k {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteByte('(')
				for j := range cols {
					if j > 0 {
						sb.WriteString(", ")
					}
					fmt.Fprintf(&sb, "$%d", i*len(cols)+j+1)
				}
				sb.WriteByte(')')
			}
			var err error
			if st, err = tx.Tx.PrepareContext(ctx, sb.String()); err != nil {
				return fmt.Errorf("insert into %s: %w", table, err)
			}
			stmts[k] = st
		}
		args = args[:0]
		for _, r := range rows[:k] {
			args = append(args, r...)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		rows = rows[k:]
	}
	return nil
}

// ---------------------------------------------------------------- measuring

// inboxCase is one inbox query: who asks, which view, which filter.
type inboxCase struct {
	who   string
	q     workflow.Query
	query string // the same as URL parameters
}

func benchInbox(ctx context.Context, a *app.App, mk marker, base string, client *http.Client) error {
	var cases []inboxCase
	var pwd, lunglei int64
	a.DB.R().QueryRowContext(ctx, `SELECT id FROM departments WHERE code = 'PWD'`).Scan(&pwd)
	a.DB.R().QueryRowContext(ctx, `SELECT id FROM districts WHERE name = 'Lunglei'`).Scan(&lunglei)
	for _, s := range mk.Staff {
		scope := workflow.Scope{DepartmentID: s.DeptID, DistrictID: s.DistID}
		roles := []workflow.RoleScope{{Role: s.Role, DepartmentID: s.DeptID, DistrictID: s.DistID}}
		add := func(v workflow.View, change func(q *workflow.Query)) {
			q := workflow.Query{Type: grievance.CaseType, View: v, PersonID: s.Cred.PersonID, Roles: roles, Scopes: []workflow.Scope{scope}}
			if change != nil {
				change(&q)
			}
			cases = append(cases, inboxCase{s.Key, q, inboxParams(q)})
		}
		for _, v := range []workflow.View{workflow.ViewMine, workflow.ViewTeam, workflow.ViewOverdue, workflow.ViewToday, workflow.ViewAll} {
			add(v, nil)
		}
		switch s.Key {
		case "gro":
			add(workflow.ViewAll, func(q *workflow.Query) { q.State = grievance.StAssigned })
			add(workflow.ViewAll, func(q *workflow.Query) { q.State = grievance.StResolved })
		case "hod":
			add(workflow.ViewAll, func(q *workflow.Query) { q.DistrictID = lunglei })
			add(workflow.ViewOverdue, func(q *workflow.Query) { q.Order = workflow.ByPriority })
		case "admin":
			add(workflow.ViewAll, func(q *workflow.Query) { q.DepartmentID, q.State = pwd, grievance.StSubmitted })
			add(workflow.ViewAll, func(q *workflow.Query) { q.Order = workflow.ByCreated })
		}
	}
	for _, c := range cases {
		if *explain {
			if err := explainInbox(ctx, a, c); err != nil {
				return err
			}
		}
		var rowsSeen int
		lat, err := measure(*requests, *conc, func() error {
			p, err := a.Workflow.Inbox(ctx, c.q)
			rowsSeen = len(p.Cases)
			if err == nil && p.Next != "" {
				// The second page too: keyset pagination must stay cheap.
				q := c.q
				q.After = p.Next
				_, err = a.Workflow.Inbox(ctx, q)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("inbox %s %s: %w", c.who, c.query, err)
		}
		report(fmt.Sprintf("inbox (engine, 2 pages) %-5s %s", c.who, c.query), lat, rowsSeen)
	}
	// Through HTTP, when this build has the officers' inbox.
	tokens := map[string]string{}
	for _, s := range mk.Staff {
		tok, err := login(client, base, s.Cred)
		if err != nil {
			return err
		}
		tokens[s.Key] = tok
	}
	probe, err := get(client, base+*inboxPath+"?view=all", tokens["admin"])
	if err != nil {
		return err
	}
	if probe == http.StatusNotFound {
		fmt.Printf("%-58s (%s answers 404 on this build: not measured)\n", "inbox (HTTP)", *inboxPath)
		return nil
	}
	for _, c := range cases {
		name := fmt.Sprintf("inbox (HTTP) %-5s %s", c.who, c.query)
		if err := httpScenario(client, name, base+*inboxPath+"?"+c.query, tokens[c.who]); err != nil {
			fmt.Printf("%-58s failed: %v\n", name, err)
		}
	}
	return nil
}

// inboxParams is an inbox query as the officers' API takes it.
func inboxParams(q workflow.Query) string {
	v := url.Values{"view": {string(q.View)}}
	if q.State != "" {
		v.Set("state", q.State)
	}
	if q.DepartmentID != 0 {
		v.Set("department", fmt.Sprint(q.DepartmentID))
	}
	if q.DistrictID != 0 {
		v.Set("district", fmt.Sprint(q.DistrictID))
	}
	switch q.Order {
	case workflow.ByCreated:
		v.Set("sort", "newest")
	case workflow.ByPriority:
		v.Set("sort", "priority")
	}
	return v.Encode()
}

func explainInbox(ctx context.Context, a *app.App, c inboxCase) error {
	q := c.q
	q.Limit, q.Now = 50, time.Now()
	text, args, _, err := a.Workflow.InboxSQL(q)
	if err != nil || text == "" {
		return err
	}
	prefix := "EXPLAIN QUERY PLAN "
	if a.DB.Dialect == db.Postgres {
		prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
	}
	rows, err := a.DB.R().QueryContext(ctx, prefix+text, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	fmt.Printf("-- plan: %s %s\n", c.who, c.query)
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		fmt.Printf("   %v\n", vals[len(vals)-1])
	}
	return rows.Err()
}

func login(client *http.Client, base string, cred auth.Credentials) (string, error) {
	code, err := auth.TOTP(cred.TOTPSecret, auth.TOTPStep(time.Now()))
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(map[string]string{"username": cred.Username, "password": cred.Password, "totp": code})
	resp, err := client.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login %s: %d %v", cred.Username, resp.StatusCode, err)
	}
	return out.Token, nil
}

func get(client *http.Client, u, token string) (int, error) {
	req, _ := http.NewRequest("GET", u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func httpScenario(client *http.Client, name, u, token string) error {
	var size int
	lat, err := measure(*requests, *conc, func() error {
		req, _ := http.NewRequest("GET", u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %d %.200s", u, resp.StatusCode, b)
		}
		size = len(b)
		return err
	})
	if err != nil {
		return err
	}
	report(name, lat, size)
	return nil
}

// measure runs fn total times over c workers (after a few warm-up calls).
func measure(total, c int, fn func() error) ([]time.Duration, error) {
	for range 3 {
		if err := fn(); err != nil {
			return nil, err
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	jobs := make(chan struct{}, total)
	for range total {
		jobs <- struct{}{}
	}
	close(jobs)
	for range max(c, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				t := time.Now()
				err := fn()
				d := time.Since(t)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, firstErr
}

func report(name string, lat []time.Duration, rows int) {
	slices.Sort(lat)
	pct := func(p float64) string {
		if len(lat) == 0 {
			return "-"
		}
		i := int(p * float64(len(lat)-1))
		return fmt.Sprintf("%.1fms", float64(lat[i].Microseconds())/1000)
	}
	fmt.Printf("%-58s %8s %8s %8s %8d\n", name, pct(0.50), pct(0.95), pct(0.99), rows)
}
