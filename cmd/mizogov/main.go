// Command mizogov runs the Government of Mizoram's digital services platform.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"mizogov/internal/app"
	"mizogov/internal/config"
)

const usage = `mizogov — one platform for Mizoram's digital services

Usage:
  mizogov serve [--addr ADDR] [--data DIR] [--db URL] [--demo]
  mizogov migrate [--data DIR] [--db URL]
  mizogov user create --username U --name N --role R [--department CODE] [--district NAME] [--phone P] [--email E]
  mizogov apikey create --name N --scopes S[,S…]
  mizogov audit verify
  mizogov backup --to FILE
  mizogov geo import FILE.csv
  mizogov version

Every command takes --data and --db (or MIZOGOV_DATA and MIZOGOV_DB) and --help.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, config.OSEnv)
	stop()
	os.Exit(code)
}

// run executes one command and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest := args[0], args[1:]
	if (cmd == "user" || cmd == "apikey" || cmd == "audit" || cmd == "geo") && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr, env: env}
	var err error
	switch cmd {
	case "serve":
		err = c.serve(rest)
	case "migrate":
		err = c.migrate(rest)
	case "user create":
		err = c.userCreate(rest)
	case "apikey create":
		err = c.apikeyCreate(rest)
	case "audit verify":
		err = c.auditVerify(rest)
	case "backup":
		err = c.backup(rest)
	case "geo import":
		err = c.geoImport(rest)
	case "version":
		fmt.Fprintln(stdout, "mizogov", app.Version)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", strings.Join(args[:min(2, len(args))], " "), usage)
		return 2
	}
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		fmt.Fprintln(stderr, exit.msg)
		return exit.code
	default:
		fmt.Fprintln(stderr, "mizogov:", err)
		return 1
	}
}

type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

type cli struct {
	ctx            context.Context
	stdout, stderr io.Writer
	env            config.Env
}

func (c *cli) flags(name, help string) *flag.FlagSet {
	fs := flag.NewFlagSet("mizogov "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: mizogov %s\n\n%s\n\nFlags:\n", name, help)
		fs.PrintDefaults()
	}
	return fs
}

func (c *cli) logger(cfg config.Config) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}

// open builds the app; commands that change data apply pending migrations first.
func (c *cli) open(cfg config.Config, migrate bool) (*app.App, error) {
	return app.Open(c.ctx, cfg, app.Options{Log: c.logger(cfg), Migrate: migrate})
}

func (c *cli) serve(args []string) error {
	fs := c.flags("serve [flags]", "Run the web server and the background jobs until interrupted.")
	cfg, err := config.Load(fs, args, c.env, config.RegisterServe)
	if err != nil {
		return err
	}
	a, err := c.open(cfg, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.Demo {
		if err := a.SeedDemo(c.ctx); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if cfg.BaseURL != "" {
		url = cfg.BaseURL
	}
	if cfg.Demo {
		if err := a.PrintDemoBanner(c.ctx, c.stderr, url); err != nil {
			return err
		}
	}
	a.Log.Info("mizogov serving", "url", url, "version", app.Version, "database", app.DescribeDB(cfg), "demo", cfg.Demo)
	return a.Serve(c.ctx, ln)
}

func (c *cli) migrate(args []string) error {
	fs := c.flags("migrate [flags]", "Apply pending database migrations and exit.")
	cfg, err := config.Load(fs, args, c.env, config.Register)
	if err != nil {
		return err
	}
	a, err := c.open(cfg, true)
	if err != nil {
		return err
	}
	defer a.Close()
	ms, err := a.DB.Migrations()
	if err != nil {
		return err
	}
	pending, _, err := a.DB.Status(c.ctx, a.DB.R())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "database %s has %d of the %d schema migrations this program knows (newest %03d_%s)\n",
		app.DescribeDB(cfg), len(ms)-len(pending), len(ms), ms[len(ms)-1].Version, ms[len(ms)-1].Name)
	return nil
}
