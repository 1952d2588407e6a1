package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return result{code, out.String(), errb.String()}
}

func TestHelpOnEveryCommand(t *testing.T) {
	env := map[string]string{"MIZOGOV_DATA": t.TempDir()}
	for _, cmd := range [][]string{{"serve"}, {"migrate"}, {"user", "create"}, {"apikey", "create"}, {"audit", "verify"}, {"backup"}, {"geo", "import"}} {
		r := runCLI(t, env, append(cmd, "--help")...)
		if r.code != 0 || !strings.Contains(r.stderr, "Usage: mizogov "+strings.Join(cmd, " ")) {
			t.Errorf("%v --help: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
	if r := runCLI(t, env, "frobnicate"); r.code != 2 {
		t.Errorf("unknown command: exit %d", r.code)
	}
	if r := runCLI(t, env, "help"); r.code != 0 || !strings.Contains(r.stdout, "mizogov serve") {
		t.Errorf("help: %d", r.code)
	}
}

// dbEnvs is SQLite, and PostgreSQL when configured.
func dbEnvs(t *testing.T) map[string]map[string]string {
	envs := map[string]map[string]string{"sqlite": {"MIZOGOV_DATA": t.TempDir()}}
	if os.Getenv(dbtest.EnvPostgres) != "" {
		envs["postgres"] = map[string]string{"MIZOGOV_DATA": t.TempDir(), "MIZOGOV_DB": dbtest.PostgresURL(t)}
	}
	return envs
}

func TestAdminCommands(t *testing.T) {
	for name, env := range dbEnvs(t) {
		t.Run(name, func(t *testing.T) {
			if r := runCLI(t, env, "migrate"); r.code != 0 || !strings.Contains(r.stdout, "schema migrations") {
				t.Fatalf("migrate: %d %s %s", r.code, r.stdout, r.stderr)
			}
			r := runCLI(t, env, "user", "create", "--username", "Chief", "--name", "Chief Admin", "--role", "admin")
			if r.code != 0 {
				t.Fatalf("user create: %d %s", r.code, r.stderr)
			}
			if !regexp.MustCompile(`password:\s+[A-Za-z0-9]{16}\n`).MatchString(r.stdout) || !regexp.MustCompile(`TOTP secret: [A-Z2-7]{32}`).MatchString(r.stdout) {
				t.Fatalf("credentials not printed:\n%s", r.stdout)
			}
			password := regexp.MustCompile(`password:\s+(\S+)`).FindStringSubmatch(r.stdout)[1]
			r = runCLI(t, env, "user", "create", "--username", "chief", "--name", "Again", "--role", "admin")
			if r.code == 0 || !strings.Contains(r.stderr, "already in use") {
				t.Fatalf("duplicate: %d %s", r.code, r.stderr)
			}
			r = runCLI(t, env, "user", "create", "--username", "o.aizawl", "--name", "O", "--role", "officer", "--district", "261")
			if r.code != 0 {
				t.Fatalf("district by LGD code: %s", r.stderr)
			}
			if r := runCLI(t, env, "user", "create", "--username", "x", "--name", "", "--role", "king"); r.code == 0 || !strings.Contains(r.stderr, "--role") {
				t.Fatalf("bad user: %d %s", r.code, r.stderr)
			}
			if r := runCLI(t, env, "user", "create", "--username", "ok.name", "--name", "N", "--role", "officer", "--department", "NOPE"); r.code == 0 {
				t.Fatal("unknown department accepted")
			}
			r = runCLI(t, env, "apikey", "create", "--name", "FixMyStreet app", "--scopes", "open311")
			key := regexp.MustCompile(`mzk_[a-z0-9]+_[A-Za-z0-9_-]+`).FindString(r.stdout)
			if r.code != 0 || key == "" {
				t.Fatalf("apikey: %d %s %s", r.code, r.stdout, r.stderr)
			}
			if r := runCLI(t, env, "apikey", "create", "--name", "x", "--scopes", "Bad Scope"); r.code == 0 {
				t.Fatal("bad scope accepted")
			}
			csv := filepath.Join(t.TempDir(), "v.csv")
			os.WriteFile(csv, []byte("district_lgd,block_code,block_name,council_code,council_name,village_code,village_name\n262,B9,Khawbung,C9,Khawbung VC,V9,Khawbung\n"), 0o600)
			if r := runCLI(t, env, "geo", "import", csv); r.code != 0 || !strings.Contains(r.stdout, "1 villages") {
				t.Fatalf("geo import: %d %s %s", r.code, r.stdout, r.stderr)
			}
			if r := runCLI(t, env, "audit", "verify"); r.code != 0 || !strings.Contains(r.stdout, "audit log intact") {
				t.Fatalf("audit verify: %d %s %s", r.code, r.stdout, r.stderr)
			}
			// The stored secrets are hashes only.
			d := openTestDB(t, env)
			var hash string
			d.R().QueryRow(`SELECT key_hash FROM api_keys`).Scan(&hash)
			if hash == "" || strings.Contains(key, hash) || hash == key {
				t.Fatal("API key stored in the clear")
			}
			d.R().QueryRow(`SELECT password_hash FROM staff_accounts WHERE username = 'chief'`).Scan(&hash)
			if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, password) {
				t.Fatalf("password stored as %q", hash)
			}
			// Tamper with an entry: verify names it and exits 3.
			if d.Dialect == db.SQLite {
				d.W().Exec(`DROP TRIGGER audit_log_no_update`)
			} else {
				d.W().Exec(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change`)
			}
			if _, err := d.W().Exec(`UPDATE audit_log SET actor = 'someone else' WHERE id = 2`); err != nil {
				t.Fatal(err)
			}
			d.Close()
			r = runCLI(t, env, "audit", "verify")
			if r.code != 3 || !strings.Contains(r.stderr, "entry 2") {
				t.Fatalf("tampered verify: %d %s", r.code, r.stderr)
			}
		})
	}
}

func openTestDB(t *testing.T, env map[string]string) *db.DB {
	t.Helper()
	opts := db.Options{Path: filepath.Join(env["MIZOGOV_DATA"], "mizogov.db")}
	if u := env["MIZOGOV_DB"]; u != "" {
		opts = db.Options{URL: u}
	}
	d, err := db.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"MIZOGOV_DATA": dir}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var serveErr bytes.Buffer
	done := make(chan int)
	go func() {
		var out bytes.Buffer
		done <- run(ctx, []string{"serve", "--addr", addr, "--demo"}, &out, &serveErr, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %s", serveErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Keep writing (sign-in codes) while the backup runs.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := fmt.Sprintf(`{"phone":"+9198620%05d"}`, i)
			resp, err := http.Post("http://"+addr+"/api/v1/auth/otp", "application/json", strings.NewReader(body))
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	backup := filepath.Join(t.TempDir(), "copy.db")
	r := runCLI(t, env, "backup", "--to", backup)
	close(stop)
	wg.Wait()
	if r.code != 0 {
		t.Fatalf("backup: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, env, "backup", "--to", backup); r.code == 0 {
		t.Fatal("backup overwrote an existing file")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, serveErr.String())
	}
	if !strings.Contains(serveErr.String(), "mizogov DEMO") || !strings.Contains(serveErr.String(), "TOTP secret") {
		t.Fatal("no demo banner")
	}
	// The copy is a sound, migrated database whose audit chain verifies.
	d, err := db.Open(context.Background(), db.Options{Path: backup})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var check string
	d.R().QueryRow(`PRAGMA integrity_check`).Scan(&check)
	if check != "ok" {
		t.Fatalf("integrity_check: %s", check)
	}
	if err := d.CheckVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := audit.Verify(context.Background(), d)
	if err != nil || n < 10 {
		t.Fatalf("backup audit: %d %v", n, err)
	}
	var codes int
	d.R().QueryRow(`SELECT COUNT(*) FROM otps`).Scan(&codes)
	t.Logf("backup holds %d audit entries and %d codes written while serving", n, codes)
	_ = sql.ErrNoRows
}

func TestBackupRefusesPostgres(t *testing.T) {
	r := runCLI(t, map[string]string{"MIZOGOV_DB": "postgres://nobody@127.0.0.1:1/x"}, "backup", "--to", "x.db")
	if r.code != 2 || !strings.Contains(r.stderr, "pg_dump") {
		t.Fatalf("%d %s", r.code, r.stderr)
	}
}
