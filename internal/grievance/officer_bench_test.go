package grievance_test

import (
	"context"
	"fmt"
	"testing"

	"mizogov/internal/app/apptest"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/grievance"
)

// BenchmarkOfficer measures an officer's inbox page and a search on
// SQLite with 5,000 grievances in two districts.
func BenchmarkOfficer(b *testing.B) {
	e := apptest.Start(b, apptest.Options{})
	o := &office{e: e}
	a := e.App
	ctx := context.Background()
	o.svc = &grievance.Service{DB: a.DB, Audit: a.Audit, Notify: a.Notify, Jobs: a.Jobs, Workflow: a.Workflow, Files: a.Files,
		Geo: a.Geo, Auth: a.Auth, Render: a.Render, Now: a.Now}
	pwd, err := a.Auth.SaveDepartment(ctx, nil, auth.Department{Code: "PWD", Name: "Public Works Department", NameLus: "PWD", Active: true})
	if err != nil {
		b.Fatal(err)
	}
	err = a.DB.Tx(ctx, func(tx *db.Tx) error {
		_, err := o.svc.SaveCategory(ctx, tx, grievance.Category{Code: "road", DepartmentID: pwd, Name: "Road", NameLus: "Kawng", Active: true})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	words := []string{"pothole", "drain", "culvert", "landslide", "streetlight", "footpath", "bridge", "retaining wall"}
	for i := 0; i < 5000; i++ {
		dist := aizawl
		if i%2 == 1 {
			dist = lunglei
		}
		_, err := o.svc.File(ctx, grievance.NewGrievance{Category: "road", Description: fmt.Sprintf("%s near house %d, locality %d",
			words[i%len(words)], i, i%97), DistrictID: dist, Channel: grievance.ChannelAPI, Lang: "en"})
		if err != nil {
			b.Fatal(err)
		}
	}
	p := a.Auth.TestPrincipal(auth.Person{ID: 1, Name: "GRO"}, []auth.Grant{{Role: grievance.RoleGRO, DepartmentID: pwd, DistrictID: aizawl}})
	b.Run("inbox", func(b *testing.B) {
		for b.Loop() {
			page, err := o.svc.Inbox(ctx, p, grievance.InboxFilter{View: "all"})
			if err != nil || len(page.Rows) != 50 {
				b.Fatal(len(page.Rows), err)
			}
		}
	})
	b.Run("search", func(b *testing.B) {
		for b.Loop() {
			res, err := o.svc.Search(ctx, p, "culvert locality", 1)
			if err != nil || len(res.Rows) == 0 {
				b.Fatal(err)
			}
		}
	})
}
