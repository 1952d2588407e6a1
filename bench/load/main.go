// Command load sends HTTP requests to a mizogov server and reports
// throughput and latency percentiles.
//
// Closed loop (fixed concurrency):  go run ./bench/load -url http://127.0.0.1:8080/healthz -c 32 -d 10s
// Open loop (fixed arrival rate):   go run ./bench/load -url … -rate 1000 -d 10s
//
// In open-loop mode latency is measured from the moment each request was
// due, not from when it was sent, so a stalled server cannot hide its
// stalls (no coordinated omission).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	target := flag.String("url", "http://127.0.0.1:8080/healthz", "URL to request")
	method := flag.String("method", "GET", "HTTP method")
	body := flag.String("body", "", "request body")
	conc := flag.Int("c", 32, "concurrent connections (closed loop)")
	rate := flag.Int("rate", 0, "requests per second (open loop); 0 means closed loop")
	dur := flag.Duration("d", 10*time.Second, "how long to send")
	warm := flag.Duration("warmup", 2*time.Second, "traffic sent first and not counted")
	login := flag.String("login", "", "username:password: sign in through /api/v1/auth/login first and send the token")
	var hs headers
	flag.Var(&hs, "H", "header \"Name: value\" (repeatable)")
	flag.Parse()

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4096, MaxConnsPerHost: 0}}
	if *login != "" {
		tok, err := signIn(client, *target, *login)
		if err != nil {
			fmt.Fprintln(os.Stderr, "login:", err)
			os.Exit(1)
		}
		hs = append(hs, "Authorization: Bearer "+tok)
	}
	send := func() (int, error) {
		req, err := http.NewRequest(*method, *target, strings.NewReader(*body))
		if err != nil {
			return 0, err
		}
		for _, h := range hs {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		if *body != "" && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if *warm > 0 {
		run(send, *conc, *rate, *warm)
	}
	res := run(send, *conc, *rate, *dur)
	res.print(*target, *conc, *rate, *dur)
}

func signIn(c *http.Client, target, userpass string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	user, pass, _ := strings.Cut(userpass, ":")
	b, _ := json.Marshal(map[string]string{"username": user, "password": pass, "totp": ""})
	resp, err := c.Post(u.Scheme+"://"+u.Host+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("status %d: no token (the TOTP-free login works only on a --demo server)", resp.StatusCode)
	}
	return out.Token, nil
}

type result struct {
	mu      sync.Mutex
	lat     []time.Duration
	status  map[int]int
	errors  int
	elapsed time.Duration
}

func (r *result) add(d time.Duration, code int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errors++
		return
	}
	r.lat = append(r.lat, d)
	r.status[code]++
}

func run(send func() (int, error), conc, rate int, dur time.Duration) *result {
	res := &result{status: map[int]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	if rate <= 0 {
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					t := time.Now()
					code, err := send()
					res.add(time.Since(t), code, err)
				}
			}()
		}
	} else {
		interval := time.Second / time.Duration(rate)
		for i := 0; ; i++ {
			due := start.Add(time.Duration(i) * interval)
			if due.Sub(start) >= dur {
				break
			}
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, err := send()
				res.add(time.Since(due), code, err)
			}()
		}
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func (r *result) print(target string, conc, rate int, dur time.Duration) {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
	}
	mode := fmt.Sprintf("closed loop, %d connections", conc)
	if rate > 0 {
		mode = fmt.Sprintf("open loop, %d requests/s offered", rate)
	}
	fmt.Printf("%s — %s, %s\n", target, mode, dur)
	fmt.Printf("requests: %d in %.1fs = %.0f/s; errors: %d; status: %v\n", len(r.lat), r.elapsed.Seconds(), float64(len(r.lat))/r.elapsed.Seconds(), r.errors, r.status)
	fmt.Printf("latency: p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n", pct(.50), pct(.90), pct(.99), pct(.999), pct(1))
}
