package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mizogov/internal/auth"
	"mizogov/internal/jobs"
	"mizogov/internal/opd"
	"mizogov/internal/web"
)

// buildOPD plugs e-OPD into the platform.
func (a *App) buildOPD(ctx context.Context) error {
	svc := &opd.Service{DB: a.DB, Audit: a.Audit, Notify: a.Notify, Docs: a.Docs, Render: a.Render, Log: a.Log, Now: a.Now, BaseURL: a.Cfg.BaseURL}
	svc.Booker = &opd.Booker{DB: a.DB, Log: a.Log, Book: svc.BookTx, Notify: a.Notify}
	if err := a.Cat.Add(opd.Messages()); err != nil {
		return err
	}
	if err := a.Render.Add("opd", opd.Templates()); err != nil {
		return err
	}
	if err := a.Notify.Templates.Add(opd.NotifyTemplates()); err != nil {
		return err
	}
	a.Auth.Policy.Allow(auth.RoleCitizen, opd.PermBook)
	a.Auth.Policy.Allow(opd.RoleCounter, opd.PermCounter, auth.PermStaff)
	a.Auth.Policy.Allow(auth.RoleAdmin, opd.PermManage)
	a.Auth.Policy.Allow(auth.RoleHOD, opd.PermManage)
	jobs.Register(a.Jobs, &opd.PlanWorker{S: svc})
	a.Jobs.Every(time.Hour, opd.PlanArgs{})
	a.Web.Mount(svc.Routes()...)
	a.Web.FormatErrors(opd.FHIRBase+"/", svc.FHIROutcome)
	a.tiles = append(a.tiles, web.Tile{Key: "opd.title", Desc: "opd.tile", Href: "/opd", Perm: web.Public})
	a.Auth.StaffTiles = append(a.Auth.StaffTiles,
		web.Tile{Key: "opd.counter_title", Desc: "opd.counter_tile", Href: "/opd/counter", Perm: opd.PermCounter},
		web.Tile{Key: "opd.manage_title", Desc: "opd.manage_tile", Href: "/opd/manage", Perm: opd.PermManage})
	a.Render.Nav = append(a.Render.Nav, web.NavItem{Key: "opd.nav", Href: "/opd", Perm: web.Public})
	a.seeders = append(a.seeders, seeder{"opd", svc.SeedDemo})
	stat := func(name, help string, v func(opd.BatchStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return v(svc.Booker.Stats()) })
	}
	a.Registry.MustRegister(
		stat("mizogov_opd_booking_batches_total", "Transactions of the booking writer (group commit).", func(s opd.BatchStats) float64 { return float64(s.Batches) }),
		stat("mizogov_opd_booking_requests_total", "Booking requests answered by the writer.", func(s opd.BatchStats) float64 { return float64(s.Requests) }),
		stat("mizogov_opd_booking_busy_seconds_total", "Time the booking writer spent in transactions.", func(s opd.BatchStats) float64 { return s.Busy.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mizogov_opd_booking_largest_batch", Help: "Most booking requests in one transaction."},
			func() float64 { return float64(svc.Booker.Stats().Largest) }))
	return nil
}
