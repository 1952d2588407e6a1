// Package config parses flags and MIZOGOV_* environment variables once into a
// Config that is passed down. There are no package-level settings.
package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config holds every setting of a mizogov process.
type Config struct {
	Addr    string // listen address, e.g. 127.0.0.1:8080
	DataDir string // SQLite database, uploads and other local state
	DB      string // "" or "sqlite" for ./data/mizogov.db, or a postgres:// URL
	Demo    bool   // seed demo data, relax TOTP, mark every page

	BaseURL      string // public URL, used in links in messages and to decide on Secure cookies
	TrustProxy   bool   // take the client IP from X-Forwarded-For (only behind a trusted proxy)
	SecretKey    string // optional master secret (hex); otherwise one is generated and kept in the database
	SessionIdle  time.Duration
	SessionMax   time.Duration
	LogFormat    string // text or json
	LogLevel     string
	Notify       NotifyConfig
	ShutdownWait time.Duration
}

// NotifyConfig selects and configures the delivery channels.
type NotifyConfig struct {
	SMS   string // "console" (default) or "http"
	Email string // "console" (default) or "smtp"

	SMTPAddr     string // host:port
	SMTPUser     string
	SMTPPassword string
	SMTPFrom     string

	SMSURL        string // URL template with {to} {message} {sender} {template_id}
	SMSMethod     string // GET or POST
	SMSBody       string // body template for POST; empty means form-encoded URL query
	SMSSender     string // DLT header (sender id), e.g. MZGOVT
	SMSTemplates  string // key=DLT template id pairs, comma-separated
	SMSAuthHeader string // optional Authorization header value
}

// IsPostgres reports whether the database is PostgreSQL.
func (c Config) IsPostgres() bool {
	return strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://")
}

// SQLitePath is the database file used when the database is SQLite.
func (c Config) SQLitePath() string {
	if strings.HasPrefix(c.DB, "file:") {
		return strings.TrimPrefix(c.DB, "file:")
	}
	return filepath.Join(c.DataDir, "mizogov.db")
}

// Secure reports whether cookies must carry the Secure flag.
func (c Config) Secure() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// Defaults returns the settings used when nothing else is given.
func Defaults() Config {
	return Config{
		Addr:         "127.0.0.1:8080",
		DataDir:      "data",
		SessionIdle:  30 * time.Minute,
		SessionMax:   12 * time.Hour,
		LogFormat:    "text",
		LogLevel:     "info",
		ShutdownWait: 20 * time.Second,
		Notify:       NotifyConfig{SMS: "console", Email: "console", SMSMethod: "GET"},
	}
}

// Env is a lookup function such as os.LookupEnv.
type Env func(string) (string, bool)

// Register adds the flags shared by every command that opens the database.
func Register(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.DataDir, "data", c.DataDir, "folder for the SQLite database and uploads (MIZOGOV_DATA)")
	fs.StringVar(&c.DB, "db", c.DB, "database: empty for SQLite in the data folder, or postgres://… (MIZOGOV_DB)")
}

// RegisterServe adds the flags of the serve command.
func RegisterServe(fs *flag.FlagSet, c *Config) {
	Register(fs, c)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (MIZOGOV_ADDR)")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "seed demo data and print demo sign-in details (MIZOGOV_DEMO)")
}

// FromEnv overlays environment variables on c. Flags given on the command line
// are applied afterwards by the caller and win.
func FromEnv(c *Config, env Env) error {
	str := func(key string, dst *string) {
		if v, ok := env(key); ok && v != "" {
			*dst = v
		}
	}
	str("MIZOGOV_ADDR", &c.Addr)
	str("MIZOGOV_DATA", &c.DataDir)
	str("MIZOGOV_DB", &c.DB)
	str("MIZOGOV_BASE_URL", &c.BaseURL)
	str("MIZOGOV_SECRET_KEY", &c.SecretKey)
	str("MIZOGOV_LOG_FORMAT", &c.LogFormat)
	str("MIZOGOV_LOG_LEVEL", &c.LogLevel)
	str("MIZOGOV_SMS", &c.Notify.SMS)
	str("MIZOGOV_EMAIL", &c.Notify.Email)
	str("MIZOGOV_SMTP_ADDR", &c.Notify.SMTPAddr)
	str("MIZOGOV_SMTP_USER", &c.Notify.SMTPUser)
	str("MIZOGOV_SMTP_PASSWORD", &c.Notify.SMTPPassword)
	str("MIZOGOV_SMTP_FROM", &c.Notify.SMTPFrom)
	str("MIZOGOV_SMS_URL", &c.Notify.SMSURL)
	str("MIZOGOV_SMS_METHOD", &c.Notify.SMSMethod)
	str("MIZOGOV_SMS_BODY", &c.Notify.SMSBody)
	str("MIZOGOV_SMS_SENDER", &c.Notify.SMSSender)
	str("MIZOGOV_SMS_TEMPLATES", &c.Notify.SMSTemplates)
	str("MIZOGOV_SMS_AUTH_HEADER", &c.Notify.SMSAuthHeader)
	for key, dst := range map[string]*bool{"MIZOGOV_DEMO": &c.Demo, "MIZOGOV_TRUST_PROXY": &c.TrustProxy} {
		if v, ok := env(key); ok && v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not true or false", key, v)
			}
			*dst = b
		}
	}
	for key, dst := range map[string]*time.Duration{"MIZOGOV_SESSION_IDLE": &c.SessionIdle, "MIZOGOV_SESSION_MAX": &c.SessionMax} {
		if v, ok := env(key); ok && v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%s: %q is not a positive duration such as 30m", key, v)
			}
			*dst = d
		}
	}
	return nil
}

// Load builds a Config from defaults, the environment and the given flag set
// arguments, in that order of precedence (flags win).
func Load(fs *flag.FlagSet, args []string, env Env, register func(*flag.FlagSet, *Config)) (Config, error) {
	c := Defaults()
	if err := FromEnv(&c, env); err != nil {
		return c, err
	}
	register(fs, &c)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate checks the settings that would otherwise fail late.
func (c Config) Validate() error {
	if c.DB != "" && !c.IsPostgres() && c.DB != "sqlite" && !strings.HasPrefix(c.DB, "file:") {
		return fmt.Errorf("--db must be empty, \"sqlite\", file:PATH or a postgres:// URL")
	}
	switch c.Notify.SMS {
	case "console":
	case "http":
		if c.Notify.SMSURL == "" {
			return fmt.Errorf("MIZOGOV_SMS=http needs MIZOGOV_SMS_URL")
		}
	default:
		return fmt.Errorf("MIZOGOV_SMS must be console or http")
	}
	switch c.Notify.Email {
	case "console":
	case "smtp":
		if c.Notify.SMTPAddr == "" || c.Notify.SMTPFrom == "" {
			return fmt.Errorf("MIZOGOV_EMAIL=smtp needs MIZOGOV_SMTP_ADDR and MIZOGOV_SMTP_FROM")
		}
	default:
		return fmt.Errorf("MIZOGOV_EMAIL must be console or smtp")
	}
	return nil
}

// OSEnv is the process environment.
func OSEnv(key string) (string, bool) { return os.LookupEnv(key) }
