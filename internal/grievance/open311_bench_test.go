package grievance_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"mizogov/internal/app/apptest"
	"mizogov/internal/db"
	"mizogov/internal/grievance"
	"mizogov/internal/workflow"
)

// BenchmarkOpen311Requests: one GET requests.json of a full page (1,000 of
// 5,000 grievances), plain and with extensions, and a radius search, over
// HTTP on SQLite.
//
//	go test ./internal/grievance -run '^$' -bench Open311 -benchtime 20x
func BenchmarkOpen311Requests(b *testing.B) {
	e := apptest.Start(b, apptest.Options{})
	x := setupO311(b, e)
	ctx := context.Background()
	err := e.App.DB.Tx(ctx, func(tx *db.Tx) error {
		for i := range 5000 {
			lat, lng := 23.70+float64(i%100)*0.001, 92.70+float64(i/100)*0.001
			in := grievance.NewGrievance{Category: "pothole", Description: fmt.Sprint("Pothole number ", i), DistrictID: 1,
				Lat: &lat, Lng: &lng, Channel: grievance.ChannelWeb, Attributes: map[string][]string{"ROADTYPE": {"TOWN"}},
				Actor: workflow.Actor{Label: "bench"}}
			if _, err := x.svc.FileTx(ctx, tx, in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{
		{"page_of_1000", "/requests.json"},
		{"page_of_1000_extensions", "/requests.json?extensions=true"},
		{"radius_500m", "/requests.json?lat=23.75&long=92.725&radius=500"},
		{"xml_page_of_100", "/requests.xml?page_size=100"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				r, err := http.Get(e.URL + grievance.Open311Base + c.path)
				if err != nil || r.StatusCode != 200 {
					b.Fatal(err, r)
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
		})
	}
}
