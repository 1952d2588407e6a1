package permits_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"mizogov/internal/app/apptest"
)

// BenchmarkGateVerify measures the server time of POST /api/v1/permits/gate/verify
// (session, signature, register lookup, JSON) without the network.
// Run: go test ./internal/permits -run X -bench GateVerify -cpu 1
func BenchmarkGateVerify(b *testing.B) {
	e := apptest.Start(b, apptest.Options{})
	w := newWorld(b, e)
	_, ps := w.issued(b, e.Citizen(b, "+919830000900"), w.application(person("Bench Visitor", "passport", "B1234567")))
	body := `{"token":"` + ps[0].Token + `"}`
	h := e.App.Handler()
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/api/v1/permits/gate/verify", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+w.police.Token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d %s", rec.Code, rec.Body)
		}
	}
}
