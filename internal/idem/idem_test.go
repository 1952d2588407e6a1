package idem_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/idem"
	"mizogov/internal/web"
)

// create is a handler that makes one settings row per request, once per key.
func create(d *db.DB, made *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := []byte(r.URL.Query().Get("v"))
		k, ok, err := idem.FromRequest(r, body)
		if err != nil {
			w.WriteHeader(web.AsError(err).Status)
			return
		}
		var replay *idem.Response
		err = d.Tx(r.Context(), func(tx *db.Tx) error {
			if ok {
				if replay, err = idem.Lookup(r.Context(), tx, k); err != nil || replay != nil {
					return err
				}
			}
			n := made.Add(1)
			if _, err := tx.ExecContext(r.Context(), `INSERT INTO settings (key, value) VALUES ($1, $2)`, "row"+strconv.Itoa(int(n)), string(body)); err != nil {
				return err
			}
			if ok {
				return idem.Save(r.Context(), tx, k, idem.Response{Status: 201, ContentType: "text/plain", Body: []byte("made " + string(body))}, time.Now())
			}
			return nil
		})
		if err != nil {
			w.WriteHeader(web.AsError(err).Status)
			return
		}
		if replay != nil {
			idem.Replay(w, replay)
			return
		}
		w.WriteHeader(201)
		w.Write([]byte("made " + string(body)))
	}
}

func TestKeyIsCarriedOutOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var made atomic.Int32
		h := create(d, &made)
		do := func(key, v string) *httptest.ResponseRecorder {
			r := httptest.NewRequest("POST", "/things?v="+v, nil)
			r = r.WithContext(web.WithInfo(r.Context(), &web.RequestInfo{IP: "10.0.0.1"}))
			if key != "" {
				r.Header.Set(idem.Header, key)
			}
			w := httptest.NewRecorder()
			h(w, r)
			return w
		}
		// Concurrent twins: one change.
		var wg sync.WaitGroup
		codes := make(chan int, 10)
		for range 10 {
			wg.Add(1)
			go func() { defer wg.Done(); codes <- do("k-1", "x").Code }()
		}
		wg.Wait()
		close(codes)
		for c := range codes {
			if c != 201 && c != 409 {
				t.Errorf("twin answered %d", c)
			}
		}
		rows := func() int {
			var n int
			d.R().QueryRow(`SELECT COUNT(*) FROM settings WHERE key LIKE 'row%'`).Scan(&n)
			return n
		}
		if rows() != 1 {
			t.Fatalf("made %d times", rows())
		}
		w := do("k-1", "x")
		if w.Code != 201 || w.Body.String() != "made x" || w.Header().Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %q", w.Code, w.Body.String())
		}
		if w := do("k-1", "different"); w.Code != 422 {
			t.Fatalf("reused key: %d", w.Code)
		}
		if w := do("bad key with spaces", "x"); w.Code != 400 {
			t.Fatalf("bad key: %d", w.Code)
		}
		do("", "x")
		do("", "x")
		if rows() != 3 {
			t.Fatalf("requests without a key made %d", rows()-1)
		}
	})
}

func TestScopeSeparatesCallers(t *testing.T) {
	r1 := httptest.NewRequest("POST", "/x", strings.NewReader(""))
	r1.Header.Set(idem.Header, "same")
	r1 = r1.WithContext(web.WithInfo(context.Background(), &web.RequestInfo{IP: "1.1.1.1"}))
	r2 := httptest.NewRequest("POST", "/x", strings.NewReader(""))
	r2.Header.Set(idem.Header, "same")
	r2 = r2.WithContext(web.WithInfo(context.Background(), &web.RequestInfo{IP: "2.2.2.2"}))
	k1, _, _ := idem.FromRequest(r1, nil)
	k2, _, _ := idem.FromRequest(r2, nil)
	if k1.Scope == k2.Scope {
		t.Fatal("two callers share a scope")
	}
	if !errors.Is(idem.ErrMismatch, idem.ErrMismatch) {
		t.Fatal()
	}
}
