package benchkit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"

	"mizogov/internal/app"
	"mizogov/internal/config"
)

// ServeChild runs the real platform in a child process the load command
// started: address, data folder, database and an optional CPU profile come
// from the environment as PREFIX_ADDR, PREFIX_DATA, PREFIX_DB and
// PREFIX_CPUPROFILE; tweak (optional) adjusts the app before it serves.
func ServeChild(prefix string, tweak func(*app.App)) error {
	cfg := config.Defaults()
	cfg.Addr = os.Getenv(prefix + "_ADDR")
	cfg.DataDir = os.Getenv(prefix + "_DATA")
	cfg.DB = os.Getenv(prefix + "_DB")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.Open(ctx, cfg, app.Options{Log: log})
	if err != nil {
		return err
	}
	defer a.Close()
	if tweak != nil {
		tweak(a)
	}
	if p := os.Getenv(prefix + "_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}

// Warm opens conc connections by asking each of them for path, taking the
// servers at bases in turn.
func Warm(c *http.Client, bases []string, path string, conc int) {
	var wg sync.WaitGroup
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := c.Get(bases[i%len(bases)] + path); err == nil {
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
		}()
	}
	wg.Wait()
}

// Writer is what a batching writer did between two readings of /metrics.
type Writer struct {
	Batches, Calls, Largest, Busy float64 // transactions, requests in them, most in one, seconds spent
}

// Metrics reads the metrics named prefix* from each server at bases,
// adding them up (largest_batch: the largest).
func Metrics(c *http.Client, bases []string, prefix string) map[string]float64 {
	out := map[string]float64{}
	for _, b := range bases {
		r, err := c.Get(b + "/metrics")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		for _, line := range strings.Split(string(body), "\n") {
			name, val, ok := strings.Cut(line, " ")
			if !ok || !strings.HasPrefix(name, prefix) {
				continue
			}
			var f float64
			fmt.Sscan(val, &f)
			if strings.HasSuffix(name, "largest_batch") {
				out[name] = max(out[name], f)
			} else {
				out[name] += f
			}
		}
	}
	return out
}

// WriterBetween is the writer's work between two readings: prefix is the
// metrics' prefix and calls the name of its requests counter after it.
func WriterBetween(before, after map[string]float64, prefix, calls string) Writer {
	d := func(name string) float64 { return after[prefix+name] - before[prefix+name] }
	return Writer{Batches: d("batches_total"), Calls: d(calls), Largest: after[prefix+"largest_batch"], Busy: d("busy_seconds_total")}
}
