// Package app is the only package that imports every module: it reads the
// configuration, opens the database, builds the core services and the
// modules, and mounts their routes.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/config"
	"mizogov/internal/db"
	"mizogov/internal/docs"
	"mizogov/internal/files"
	"mizogov/internal/geo"
	"mizogov/internal/i18n"
	"mizogov/internal/jobs"
	"mizogov/internal/notify"
	"mizogov/internal/payments"
	"mizogov/internal/ratelimit"
	"mizogov/internal/secret"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// Version is set at build time with -ldflags "-X mizogov/internal/app.Version=…".
var Version = "dev"

// App is a running mizogov.
type App struct {
	Cfg      config.Config
	DB       *db.DB
	Log      *slog.Logger
	Cat      *i18n.Catalog
	Render   *web.Renderer
	Web      *web.Server
	Jobs     *jobs.Jobs
	Audit    *audit.Log
	Notify   *notify.Service
	Auth     *auth.Service
	Docs     *docs.Service
	Payments *payments.Service
	Geo      *geo.Store
	Limits   *ratelimit.Limiter
	Workflow *workflow.Engine // every service's case workflows; the sweep escalates overdue cases
	Files    *files.Service   // uploads, kept under DataDir/files
	Registry *prometheus.Registry
	Now      func() time.Time

	tiles    []web.Tile // citizen services on the home page
	seeders  []seeder   // demo data of each service, run by SeedDemo in order
	draining atomic.Bool
}

// modules builds each service on the core, in order. A service's builder
// lives in this package as a file named after it (grievance.go …): it adds
// the service's messages, templates, notification templates, roles, job
// workers, routes, home-page tile, staff tile and demo seeder.
func (a *App) modules() []func(ctx context.Context) error {
	return []func(ctx context.Context) error{
		// services are added here, one line each
		a.buildGrievance,
		a.buildPermits,
		a.buildOPD,
	}
}

// Options change how an App is built (mostly for tests).
type Options struct {
	Log     *slog.Logger
	Migrate bool          // apply pending migrations before checking the schema
	SMS     notify.Sender // replaces the configured SMS channel
	Email   notify.Sender // replaces the configured email channel
	Now     func() time.Time
	// JobPoll overrides how often idle job workers poll (tests use a short one).
	JobPoll time.Duration
}

// Open builds the whole platform on the configured database.
func Open(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	opts := db.Options{Path: cfg.SQLitePath()}
	if cfg.IsPostgres() {
		opts = db.Options{URL: cfg.DB}
	}
	d, err := db.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	a := &App{Cfg: cfg, DB: d, Log: log, Now: now}
	if err := a.build(ctx, o); err != nil {
		d.Close()
		return nil, err
	}
	return a, nil
}

// Migrate applies the platform's and the job queue's migrations.
func Migrate(ctx context.Context, d *db.DB) (int, error) {
	n, err := d.Migrate(ctx)
	if err != nil {
		return n, err
	}
	return n, jobs.Migrate(ctx, d)
}

func (a *App) build(ctx context.Context, o Options) error {
	if o.Migrate {
		n, err := Migrate(ctx, a.DB)
		if err != nil {
			return err
		}
		if n > 0 {
			a.Log.Info("applied migrations", "count", n)
		}
	}
	if err := a.DB.CheckVersion(ctx); err != nil {
		return err
	}
	cat, err := i18n.New(i18n.Core(), workflow.Messages(), files.Messages())
	if err != nil {
		return err
	}
	a.Cat = cat
	if a.Render, err = web.NewRenderer(cat, a.Cfg.Demo); err != nil {
		return err
	}
	for _, m := range []fs.FS{docs.Messages(), payments.Messages()} {
		if err := cat.Add(m); err != nil {
			return err
		}
	}
	for prefix, fsys := range map[string]fs.FS{"auth": auth.Templates(), "audit": audit.Templates(), "app": appTemplates(),
		"docs": docs.Templates(), "payments": payments.Templates()} {
		if err := a.Render.Add(prefix, fsys); err != nil {
			return err
		}
	}
	a.Registry = prometheus.NewRegistry()
	a.Audit = &audit.Log{Now: a.Now}
	a.Limits = &ratelimit.Limiter{DB: a.DB, Now: a.Now}
	a.Jobs = jobs.New(a.DB, a.Log)
	if o.JobPoll > 0 {
		a.Jobs.PollInterval = o.JobPoll
	}
	a.Geo = &geo.Store{DB: a.DB, Audit: a.Audit}
	if err := a.buildNotify(o); err != nil {
		return err
	}
	master, err := secret.Load(ctx, a.DB, a.Cfg.SecretKey)
	if err != nil {
		return err
	}
	keys := auth.KeysFrom(master)
	if a.Docs, err = docs.New(ctx, a.DB, master, a.Audit, a.Now); err != nil {
		return err
	}
	a.Docs.Render = a.Render
	// The built-in test gateway (its pages say TEST GATEWAY: no money
	// moves) until a real gateway is configured.
	a.Payments = &payments.Service{DB: a.DB, Audit: a.Audit, Jobs: a.Jobs, Render: a.Render, Log: a.Log, Now: a.Now, Default: "test",
		Gateways: map[string]payments.Gateway{"test": &payments.TestGateway{DB: a.DB, Secret: master.Derive("payments/test-gateway"), Now: a.Now}}}
	jobs.Register(a.Jobs, &payments.ReconcileWorker{S: a.Payments})
	a.Jobs.Every(5*time.Minute, payments.ReconcileArgs{})
	policy := auth.NewPolicy()
	policy.Allow(auth.RoleAdmin, docs.PermKeys, payments.PermRead)
	policy.Allow(auth.RoleAuditor, payments.PermRead)
	a.Auth = &auth.Service{Store: &auth.Store{DB: a.DB}, Geo: a.Geo, DB: a.DB, Audit: a.Audit, Notify: a.Notify, Limits: a.Limits,
		Policy: policy, Keys: keys, Render: a.Render, Log: a.Log, Now: a.Now, Demo: a.Cfg.Demo,
		SessionIdle: a.Cfg.SessionIdle, SessionMax: a.Cfg.SessionMax}
	a.Auth.StaffTiles = []web.Tile{
		{Key: "admin.title", Desc: "admin.tile", Href: "/admin", Perm: auth.PermAdmin},
		{Key: "audit.title", Desc: "audit.tile", Href: "/audit", Perm: auth.PermAuditRead},
		{Key: "docs.keys_title", Desc: "docs.keys_tile", Href: "/admin/docs/keys", Perm: docs.PermKeys},
	}
	a.Workflow = &workflow.Engine{DB: a.DB, Audit: a.Audit, Notify: a.Notify, Log: a.Log, Now: a.Now, KnownRole: policy.Known}
	a.Files = &files.Service{DB: a.DB, Blobs: files.Disk{Dir: filepath.Join(a.Cfg.DataDir, "files")}, Audit: a.Audit, Now: a.Now}
	jobs.Register(a.Jobs, &workflow.SweepWorker{Engine: a.Workflow})
	a.Jobs.Every(time.Minute, workflow.SweepArgs{})
	jobs.Register(a.Jobs, &cleanupWorker{a: a})
	a.Jobs.Every(time.Hour, cleanupArgs{})

	a.Web = &web.Server{Cat: cat, Render: a.Render, Log: a.Log, Metrics: web.NewMetrics(a.Registry),
		Auth: a.Auth.Authenticator, TrustProxy: a.Cfg.TrustProxy, Secure: a.Cfg.Secure()}
	a.Web.Mount(a.Auth.Routes()...)
	a.Web.Mount((&audit.Pages{DB: a.DB, Render: a.Render}).Routes()...)
	a.Web.Mount(a.Docs.Routes()...)
	a.Web.Mount(a.Payments.Routes()...)
	a.Web.Mount(a.routes()...)
	for _, build := range a.modules() {
		if err := build(ctx); err != nil {
			return err
		}
	}
	a.Web.MountHandler("GET /static/", a.Render.StaticHandler())
	a.Web.MountHandler("GET /metrics", a.metricsHandler())
	a.registerMetrics()
	return nil
}

func (a *App) buildNotify(o Options) error {
	dlt, err := notify.ParseDLT(a.Cfg.Notify.SMSTemplates)
	if err != nil {
		return err
	}
	ts := notify.NewTemplates(dlt)
	if err := ts.Add(auth.NotifyTemplates()); err != nil {
		return err
	}
	console := notify.Console{Log: a.Log}
	var sms, email notify.Sender = console, console
	n := a.Cfg.Notify
	if n.SMS == "http" {
		sms = notify.HTTPSMS{URL: n.SMSURL, Method: n.SMSMethod, Body: n.SMSBody, Sender: n.SMSSender, AuthHeader: n.SMSAuthHeader}
	}
	if n.Email == "smtp" {
		email = notify.SMTP{Addr: n.SMTPAddr, User: n.SMTPUser, Password: n.SMTPPassword, From: n.SMTPFrom}
	}
	if o.SMS != nil {
		sms = o.SMS
	}
	if o.Email != nil {
		email = o.Email
	}
	a.Notify = &notify.Service{DB: a.DB, Jobs: a.Jobs, Log: a.Log, SMS: sms, Email: email, Templates: ts, Now: a.Now}
	a.Notify.Register()
	return nil
}

// Handler is the complete HTTP handler.
func (a *App) Handler() http.Handler { return a.Web.Handler() }

// Close releases the database.
func (a *App) Close() error { return a.DB.Close() }

// Serve listens on the configured address until ctx ends, then shuts down
// gracefully: it reports not-ready, finishes requests in flight, stops the
// job workers and closes the database.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	if err := a.Jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		a.Jobs.Stop(context.Background())
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	a.draining.Store(true)
	err := web.Shutdown(srv, a.Cfg.ShutdownWait)
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(err, a.Jobs.Stop(stopCtx))
}

// metricsHandler serves Prometheus metrics to loopback clients only.
func (a *App) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || r.Header.Get("X-Forwarded-For") != "" {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (a *App) registerMetrics() {
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for name, pool := range a.DB.Pools() {
		a.Registry.MustRegister(collectors.NewDBStatsCollector(pool, name))
	}
	group := func(name, help string, v func(db.GroupStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return v(a.DB.Group().Stats()) })
	}
	a.Registry.MustRegister(
		group("mizogov_db_group_batches_total", "Transactions of the group-commit writer.", func(s db.GroupStats) float64 { return float64(s.Batches) }),
		group("mizogov_db_group_calls_total", "Calls answered by the group-commit writer.", func(s db.GroupStats) float64 { return float64(s.Calls) }),
		group("mizogov_db_group_busy_seconds_total", "Time the group-commit writer spent in transactions.", func(s db.GroupStats) float64 { return s.Busy.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mizogov_db_group_largest_batch", Help: "Most calls in one group-commit transaction."},
			func() float64 { return float64(a.DB.Group().Stats().Largest) }))
	a.DB.Group().SetLogger(a.Log)
	a.Registry.MustRegister(&countCollector{
		desc: prometheus.NewDesc("mizogov_jobs", "Background jobs by state.", []string{"state"}, nil),
		read: a.Jobs.Counts,
	}, &countCollector{
		desc: prometheus.NewDesc("mizogov_notifications", "Outbox messages by status.", []string{"status"}, nil),
		read: a.Notify.Counts,
	})
}

// countCollector reads counts from the database at scrape time.
type countCollector struct {
	desc *prometheus.Desc
	read func(context.Context) (map[string]int64, error)
}

func (c *countCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c *countCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for k, v := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), k)
	}
}

// ready reports whether this node should receive traffic.
func (a *App) ready(ctx context.Context) error {
	if a.draining.Load() {
		return errors.New("shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.DB.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return a.DB.CheckVersion(ctx)
}

func DescribeDB(cfg config.Config) string {
	if cfg.IsPostgres() {
		u := cfg.DB
		if at := strings.LastIndex(u, "@"); at > 0 {
			u = "postgres://…" + u[at:]
		}
		return u
	}
	return "SQLite " + cfg.SQLitePath()
}
