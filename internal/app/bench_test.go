package app_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"mizogov/internal/app/apptest"
	"mizogov/internal/auth"
)

// BenchmarkSignedInPage measures the server time of a signed-in HTML page
// (/account: session lookup, two queries, template) without the network.
func BenchmarkSignedInPage(b *testing.B) {
	e := apptest.Start(b, apptest.Options{})
	c := e.Staff(b, e.Officer(b, "bench", auth.RoleOfficer, 0, 1))
	h := e.App.Handler()
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", "/account", nil)
		req.Header.Set("Authorization", "Bearer "+c.Token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkAPIMe measures the server time of GET /api/v1/me.
func BenchmarkAPIMe(b *testing.B) {
	e := apptest.Start(b, apptest.Options{})
	c := e.Citizen(b, "+919862012345")
	h := e.App.Handler()
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+c.Token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
