package app

import (
	"context"

	"mizogov/internal/auth"
	"mizogov/internal/grievance"
	"mizogov/internal/jobs"
	"mizogov/internal/web"
)

// buildGrievance adds Mipui Aw.
func (a *App) buildGrievance(ctx context.Context) error {
	svc := &grievance.Service{DB: a.DB, Audit: a.Audit, Notify: a.Notify, Jobs: a.Jobs, Workflow: a.Workflow, Files: a.Files,
		Geo: a.Geo, Auth: a.Auth, Limits: a.Limits, Render: a.Render, Log: a.Log, Now: a.Now, BaseURL: a.Cfg.BaseURL}
	for _, m := range grievance.Messages() {
		if err := a.Cat.Add(m); err != nil {
			return err
		}
	}
	if err := a.Render.Add("grievance", grievance.Templates()); err != nil {
		return err
	}
	if err := a.Notify.Templates.Add(grievance.NotifyTemplates()); err != nil {
		return err
	}
	p := a.Auth.Policy
	p.Allow(auth.RoleCitizen, grievance.PermFile)
	p.Allow(grievance.RoleGRO, grievance.PermWork, auth.PermStaff)
	p.Allow(grievance.RoleField, grievance.PermWork, auth.PermStaff)
	p.Allow(grievance.RoleHelpdesk, grievance.PermHelpdesk, auth.PermStaff)
	p.Allow(auth.RoleHOD, grievance.PermWork)
	p.Allow(auth.RoleAdmin, grievance.PermWork, grievance.PermManage)
	if err := a.Workflow.Register(grievance.Workflow()); err != nil {
		return err
	}
	jobs.Register(a.Jobs, &grievance.DashRefreshWorker{S: svc})
	a.Jobs.Every(grievance.DashRefreshEvery, grievance.DashRefreshArgs{})
	a.Web.Mount(svc.Routes()...)
	a.Web.FormatErrors("/open311/", svc.Open311Error)
	a.seeders = append(a.seeders, seeder{"grievance", svc.SeedDemo})
	a.tiles = append(a.tiles, web.Tile{Key: "grievance.title", Desc: "grievance.tile", Href: "/grievances", Perm: web.Public})
	a.Render.Nav = append(a.Render.Nav, web.NavItem{Key: "grievance.nav", Href: "/grievances", Perm: web.Public})
	// Officers (staff home).
	a.Auth.StaffTiles = append(a.Auth.StaffTiles,
		web.Tile{Key: "grievance.office_tile_inbox", Desc: "grievance.office_tile_inbox_desc", Href: "/grievances/inbox", Perm: grievance.PermWork},
		web.Tile{Key: "grievance.office_tile_search", Desc: "grievance.office_tile_search_desc", Href: "/grievances/search", Perm: grievance.PermWork},
		web.Tile{Key: "grievance.office_tile_helpdesk", Desc: "grievance.office_tile_helpdesk_desc", Href: "/grievances/helpdesk/new", Perm: grievance.PermHelpdesk},
		web.Tile{Key: "grievance.office_tile_categories", Desc: "grievance.office_tile_categories_desc", Href: "/grievances/categories", Perm: grievance.PermManage})
	return nil
}
