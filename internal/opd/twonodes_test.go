package opd_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"mizogov/internal/app/apptest"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/opd"
)

// TestTwoNodesNeverOverbook runs two app nodes, each with its own booking
// writer, on one PostgreSQL database, and races patients for a session's
// places through both: the database alone keeps the count.
func TestTwoNodesNeverOverbook(t *testing.T) {
	url := dbtest.PostgresURL(t)
	c := clock()
	a := apptest.Start(t, apptest.Options{DBURL: url, Clock: c})
	b := apptest.Start(t, apptest.Options{DBURL: url, Clock: c})
	sess := session(t, a, medicine, "2026-12-02", 40, 0, "open")
	other := session(t, a, surgery, "2026-12-02", 40, 0, "open")
	type who struct {
		node *apptest.Env
		p    int64
		tok  string
	}
	var people []who
	for i := range 160 {
		cl, p := person(t, a, i)
		people = append(people, who{[]*apptest.Env{a, b}[i%2], p, cl.Token})
	}
	var mu sync.Mutex
	status := map[int]int{}
	booked := map[int64]int{} // booking id → token, as the clients heard
	var wg sync.WaitGroup
	for i, w := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := w.node.Client()
			cl.Token = w.tok
			// Every other patient sends the same request to both nodes at
			// once, with one Idempotency-Key: it must book once.
			cl.Header.Set("Idempotency-Key", fmt.Sprintf("twin-%d", i))
			var twin *apptest.Client
			if i%2 == 0 {
				twin = []*apptest.Env{a, b}[(i+1)%2].Client()
				twin.Token = w.tok
				twin.Header.Set("Idempotency-Key", fmt.Sprintf("twin-%d", i))
			}
			var rs []*apptest.Response
			var inner sync.WaitGroup
			for _, c := range []*apptest.Client{cl, twin} {
				if c == nil {
					continue
				}
				inner.Add(1)
				go func() {
					defer inner.Done()
					r := book(t, c, sess, w.p)
					mu.Lock()
					rs = append(rs, r)
					mu.Unlock()
				}()
			}
			inner.Wait()
			mu.Lock()
			defer mu.Unlock()
			ids := map[int64]bool{}
			for _, r := range rs {
				status[r.Status]++
				if r.Status == http.StatusCreated {
					var bk opd.Booking
					json.Unmarshal([]byte(r.Body), &bk)
					ids[bk.ID] = true
					booked[bk.ID] = bk.Token
				} else if r.Status != http.StatusConflict {
					t.Errorf("unexpected %d %s", r.Status, r.Body)
				}
			}
			if len(ids) > 1 {
				t.Errorf("patient %d booked twice: %v", i, ids)
			}
		}()
	}
	wg.Wait()
	tokens := map[int]bool{}
	for _, tok := range booked {
		tokens[tok] = true
	}
	if n := a.Count(t, `SELECT COUNT(*) FROM opd_bookings WHERE session_id = $1`, sess); n != 40 || len(booked) != 40 || len(tokens) != 40 {
		t.Fatalf("%d bookings stored, %d heard of, %d tokens for 40 places; answers %v", n, len(booked), len(tokens), status)
	}
	checkTokens(t, a, sess)
	// Walk-ins and cancellations on both nodes keep the counters right.
	cl, p := person(t, a, 999)
	cl2 := b.Client()
	cl2.Token = cl.Token
	r := book(t, cl2, other, p)
	var bk opd.Booking
	json.Unmarshal([]byte(r.Body), &bk)
	if r.Status != 201 {
		t.Fatalf("book on b: %d %s", r.Status, r.Body)
	}
	if r := cl.JSON(t, "POST", fmt.Sprintf("/api/v1/opd/bookings/%d/cancel", bk.ID), nil); r.Status != 200 {
		t.Fatalf("cancel on a: %d", r.Status)
	}
	checkTokens(t, a, other)
}
