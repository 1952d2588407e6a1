package opd_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"mizogov/internal/app/apptest"
)

// BenchmarkBookParallel measures booking through the whole server (HTTP
// handler, pre-check, group-commit writer, synchronous=FULL commit) with 64
// requests at a time and no network: ns/op is the time per booking.
func BenchmarkBookParallel(b *testing.B) {
	e := apptest.Start(b, apptest.Options{Clock: clock()})
	sess := session(b, e, medicine, "2026-12-02", 100000, 0, "open")
	type who struct {
		token string
		p     int64
	}
	people := make([]who, b.N)
	for i := range people {
		c, p := person(b, e, i)
		people[i] = who{c.Token, p}
	}
	h := e.App.Handler()
	var next atomic.Int64
	b.SetParallelism(32) // 64 goroutines on 2 CPUs
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := people[next.Add(1)-1]
			req := httptest.NewRequest("POST", "/api/v1/opd/bookings", strings.NewReader(fmt.Sprintf(`{"session_id":%d,"patient_id":%d}`, sess, w.p)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+w.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Errorf("status %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkRefuseFull measures the answer to a booking for a full session:
// most requests of an opening surge get it.
func BenchmarkRefuseFull(b *testing.B) {
	e := apptest.Start(b, apptest.Options{Clock: clock()})
	sess := session(b, e, medicine, "2026-12-02", 0, 0, "open")
	c, p := person(b, e, 1)
	h := e.App.Handler()
	body := fmt.Sprintf(`{"session_id":%d,"patient_id":%d}`, sess, p)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/api/v1/opd/bookings", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.Token)
		req.Header.Set("Idempotency-Key", fmt.Sprint("k", i))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusConflict {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
