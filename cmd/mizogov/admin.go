package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/config"
	"mizogov/internal/db"
	"mizogov/internal/i18n"
	"mizogov/internal/web"
)

func (c *cli) userCreate(args []string) error {
	fs := c.flags("user create [flags]", "Create an officer or admin. The generated password and TOTP secret are printed once.")
	var in auth.NewStaff
	var dept, district string
	var cfgp *config.Config
	reg := func(fs2 *flagSet, cfg *config.Config) {
		config.Register(fs2, cfg)
		cfgp = cfg
		fs2.StringVar(&in.Username, "username", "", "sign-in name: lower-case letters, digits, . _ -")
		fs2.StringVar(&in.Name, "name", "", "full name")
		fs2.StringVar(&in.Role, "role", "", "role: officer, hod, admin, auditor (or a service's role)")
		fs2.StringVar(&dept, "department", "", "department code (empty: every department)")
		fs2.StringVar(&district, "district", "", "district name or LGD code (empty: every district)")
		fs2.StringVar(&in.Phone, "phone", "", "mobile number (optional)")
		fs2.StringVar(&in.Email, "email", "", "email address (optional)")
	}
	cfg, err := config.Load(fs, args, c.env, reg)
	if err != nil {
		return err
	}
	_ = cfgp
	a, err := c.open(cfg, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if dept != "" {
		if err := a.DB.R().QueryRowContext(c.ctx, `SELECT id FROM departments WHERE code = $1`, strings.ToUpper(dept)).Scan(&in.DepartmentID); err != nil {
			return fmt.Errorf("no department with code %q", dept)
		}
	}
	if district != "" {
		lgd, _ := strconv.Atoi(district)
		if err := a.DB.R().QueryRowContext(c.ctx, `SELECT id FROM districts WHERE lower(name) = lower($1) OR lgd_code = $2`, district, lgd).Scan(&in.DistrictID); err != nil {
			return fmt.Errorf("no district named %q", district)
		}
	}
	cred, err := a.Auth.CreateStaff(c.ctx, nil, in)
	if err != nil {
		return describe(a.Cat, err)
	}
	fmt.Fprintf(c.stdout, "Created %s (person %d).\nThese are shown once; hand them over in person:\n\n  username:    %s\n  password:    %s\n  TOTP secret: %s\n  TOTP URI:    %s\n",
		cred.Username, cred.PersonID, cred.Username, cred.Password, cred.TOTPSecret, cred.TOTPURI)
	return nil
}

func (c *cli) apikeyCreate(args []string) error {
	fs := c.flags("apikey create --name N --scopes S", "Create an API key for an integration. The key is printed once; only its hash is stored.")
	var name, scopes string
	cfg, err := config.Load(fs, args, c.env, func(fs2 *flagSet, cfg *config.Config) {
		config.Register(fs2, cfg)
		fs2.StringVar(&name, "name", "", "who the key is for")
		fs2.StringVar(&scopes, "scopes", "", "comma-separated scopes, e.g. open311")
	})
	if err != nil {
		return err
	}
	a, err := c.open(cfg, true)
	if err != nil {
		return err
	}
	defer a.Close()
	var list []string
	for _, s := range strings.Split(scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	key, err := a.Auth.CreateAPIKey(c.ctx, name, list)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "API key for %s (scopes: %s). It is shown once:\n\n  %s\n", name, strings.Join(list, ", "), key)
	return nil
}

func (c *cli) auditVerify(args []string) error {
	fs := c.flags("audit verify", "Check the audit log's hash chain. Exit status 0 when intact, 3 naming the first bad entry otherwise.")
	cfg, err := config.Load(fs, args, c.env, config.Register)
	if err != nil {
		return err
	}
	d, err := c.openDB(cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	n, err := audit.Verify(c.ctx, d)
	var ve *audit.VerifyError
	if errors.As(err, &ve) {
		return exitError{code: 3, msg: fmt.Sprintf("audit log BROKEN after %d good entries: %v", n, ve)}
	}
	if err != nil {
		return err
	}
	seq, head, err := audit.Head(c.ctx, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "audit log intact: %d entries\nhead: entry %d, hash %s\n", n, seq, head)
	return nil
}

func (c *cli) backup(args []string) error {
	fs := c.flags("backup --to FILE", "Write a consistent copy of the SQLite database while the server runs.")
	var to string
	cfg, err := config.Load(fs, args, c.env, func(fs2 *flagSet, cfg *config.Config) {
		config.Register(fs2, cfg)
		fs2.StringVar(&to, "to", "", "the backup file to create (must not exist)")
	})
	if err != nil {
		return err
	}
	if cfg.IsPostgres() {
		return exitError{code: 2, msg: "mizogov backup copies SQLite databases. For PostgreSQL use its own tools, for example:\n  pg_dump --format=custom --file=mizogov.dump \"$MIZOGOV_DB\"\n(and pg_basebackup with WAL archiving for point-in-time recovery)."}
	}
	if to == "" {
		return errors.New("give the backup file with --to FILE")
	}
	if _, err := os.Stat(to); err == nil {
		return fmt.Errorf("%s already exists; choose a new file", to)
	}
	d, err := c.openDB(cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := db.Backup(c.ctx, d, to); err != nil {
		return err
	}
	st, err := os.Stat(to)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "backup written to %s (%d bytes)\n", to, st.Size())
	return nil
}

func (c *cli) geoImport(args []string) error {
	fs := c.flags("geo import FILE.csv", "Import RD blocks, village councils and villages. Columns: district_lgd,block_code,block_name,council_code,council_name,village_code,village_name")
	cfg, err := config.Load(fs, args, c.env, config.Register)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError{code: 2, msg: "give exactly one CSV file"}
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	a, err := c.open(cfg, true)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.Geo.Import(c.ctx, bytes.NewReader(b), audit.System("cli"))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "imported %d rows: %d villages, %d blocks, %d village councils\n", res.Rows, res.Villages, res.Blocks, res.Councils)
	return nil
}

// openDB opens the database without building the app (read-only tools).
func (c *cli) openDB(cfg config.Config) (*db.DB, error) {
	opts := db.Options{Path: cfg.SQLitePath()}
	if cfg.IsPostgres() {
		opts = db.Options{URL: cfg.DB}
	} else if _, err := os.Stat(cfg.SQLitePath()); err != nil {
		return nil, fmt.Errorf("no database at %s", cfg.SQLitePath())
	}
	return db.Open(c.ctx, opts)
}

type flagSet = flag.FlagSet

// describe turns a validation error into English sentences for the terminal.
func describe(cat *i18n.Catalog, err error) error {
	var e *web.Error
	if !errors.As(err, &e) || e.Status >= 500 {
		return err
	}
	msgs := []string{cat.T("en", e.Key, e.Args...)}
	if e.Fields != nil {
		for _, f := range e.Fields.List {
			msgs = append(msgs, "--"+f.Field+": "+cat.T("en", f.Key, f.Args...))
		}
	}
	return errors.New(strings.Join(msgs, "\n  "))
}
