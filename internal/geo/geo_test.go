package geo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/geo"
)

func TestImportSampleTwice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := &geo.Store{DB: d, Audit: &audit.Log{}}
		res, err := s.Import(ctx, bytes.NewReader(geo.Sample), audit.System("test"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows != 26 || res.Villages != 26 || res.Blocks != 22 || res.Councils != 26 {
			t.Fatalf("result %+v", res)
		}
		// Importing again updates in place.
		renamed := strings.Replace(string(geo.Sample), ",Sialsuk\n", ",Sialsuk Khua\n", 1)
		if _, err := s.Import(ctx, strings.NewReader(renamed), audit.System("test")); err != nil {
			t.Fatal(err)
		}
		ds, _ := s.Districts(ctx)
		if len(ds) != 11 {
			t.Fatalf("%d districts", len(ds))
		}
		var aizawl geo.District
		for _, x := range ds {
			if x.LGDCode == 261 {
				aizawl = x
			}
		}
		vs, err := s.Villages(ctx, aizawl.ID)
		if err != nil || len(vs) != 6 {
			t.Fatalf("Aizawl villages %d, %v", len(vs), err)
		}
		found := false
		for _, v := range vs {
			if v.Name == "Sialsuk Khua" && v.Block == "Aibawk" && v.Council == "Sialsuk VC" {
				found = true
			}
		}
		if !found {
			t.Fatalf("update not applied: %+v", vs)
		}
		var n int
		d.R().QueryRow(`SELECT COUNT(*) FROM villages`).Scan(&n)
		if n != 26 {
			t.Fatalf("%d villages after re-import", n)
		}
		if _, err := audit.Verify(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}

func TestImportRejectsBadRowsAndWritesNothing(t *testing.T) {
	head := strings.Join(geo.Header, ",") + "\n"
	cases := map[string]string{
		"unknown district": head + "261,B1,Aibawk,,,V1,Aibawk\n999,B2,X,,,V2,Y\n",
		"missing village":  head + "261,B1,Aibawk,,,,\n",
		"block w/o name":   head + "261,B1,,,,V1,Aibawk\n",
		"bad number":       head + "x,B1,Aibawk,,,V1,Aibawk\n",
		"wrong columns":    head + "261,B1\n",
		"wrong header":     "a,b,c,d,e,f,g\n261,B1,Aibawk,,,V1,Aibawk\n",
	}
	for name, csv := range cases {
		t.Run(name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				s := &geo.Store{DB: d, Audit: &audit.Log{}}
				if _, err := s.Import(context.Background(), strings.NewReader(csv), audit.System("test")); err == nil {
					t.Fatal("accepted")
				}
				var n int
				d.R().QueryRow(`SELECT COUNT(*) FROM villages`).Scan(&n)
				if n != 0 {
					t.Fatal("a failed import wrote rows")
				}
			})
		})
	}
}
