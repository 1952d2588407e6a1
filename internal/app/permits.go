package app

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"mizogov/internal/auth"
	"mizogov/internal/jobs"
	"mizogov/internal/permits"
	"mizogov/internal/web"
)

// buildPermits adds ILP Online.
func (a *App) buildPermits(ctx context.Context) error {
	svc := &permits.Service{DB: a.DB, Audit: a.Audit, Notify: a.Notify, Jobs: a.Jobs, Docs: a.Docs, Payments: a.Payments,
		Workflow: a.Workflow, Files: a.Files, Limits: a.Limits, Render: a.Render, Log: a.Log, Now: a.Now, HomeDept: a.homeDept}
	if err := a.Cat.Add(permits.Messages()); err != nil {
		return err
	}
	if err := a.Render.Add("permits", permits.Templates()); err != nil {
		return err
	}
	if err := a.Notify.Templates.Add(permits.NotifyTemplates()); err != nil {
		return err
	}
	p := a.Auth.Policy
	p.Allow(auth.RoleCitizen, permits.PermApply)
	p.Allow(permits.RoleOfficer, permits.PermProcess, permits.PermReports, auth.PermStaff)
	p.Allow(permits.RolePolice, permits.PermGate, auth.PermStaff)
	p.Allow(auth.RoleHOD, permits.PermReports)
	p.Allow(auth.RoleAdmin, permits.PermRules, permits.PermReports)
	if err := a.Workflow.Register(permits.Workflow()); err != nil {
		return err
	}
	a.Payments.OnPaid("permits", svc.OnPaid)
	jobs.Register(a.Jobs, &permits.SweepWorker{S: svc})
	a.Jobs.Every(time.Hour, permits.SweepArgs{})
	a.Web.Mount(svc.Routes()...)
	a.tiles = append(a.tiles, web.Tile{Key: "permits.title", Desc: "permits.tile", Href: "/permits", Perm: web.Public})
	a.Auth.StaffTiles = append(a.Auth.StaffTiles,
		web.Tile{Key: "permits.office_title", Desc: "permits.office_tile", Href: "/permits/office", Perm: permits.PermProcess},
		web.Tile{Key: "permits.gate_title", Desc: "permits.gate_tile", Href: "/permits/gate/", Perm: permits.PermGate},
		web.Tile{Key: "permits.reports_title", Desc: "permits.reports_tile", Href: "/permits/reports", Perm: permits.PermReports},
		web.Tile{Key: "permits.rules_title", Desc: "permits.rules_tile", Href: "/permits/rules", Perm: permits.PermRules})
	a.Render.Nav = append(a.Render.Nav, web.NavItem{Key: "permits.nav", Href: "/permits", Perm: web.Public})
	a.seeders = append(a.seeders, seeder{"permits", svc.SeedDemo})
	return nil
}

// homeDept is the id of the Home Department (code HOME), whose officers
// issue permits; 0 when it is not set up.
func (a *App) homeDept(ctx context.Context) int64 {
	var id int64
	err := a.DB.R().QueryRowContext(ctx, `SELECT id FROM departments WHERE code = 'HOME'`).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		a.Log.Warn("home department", "err", err)
	}
	return id
}
