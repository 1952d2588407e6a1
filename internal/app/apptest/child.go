package apptest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"mizogov/internal/app"
	"mizogov/internal/config"
)

// Environment of a test binary re-executed as a server (StartChild).
const (
	childData = "MIZOGOV_CHILD_DATA"
	childAddr = "MIZOGOV_CHILD_ADDR"
)

// ServeIfChild makes a test binary a mizogov server when StartChild
// re-executed it; call it first in TestMain. It returns only in the
// ordinary test run.
func ServeIfChild() {
	dir := os.Getenv(childData)
	if dir == "" {
		return
	}
	cfg := config.Defaults()
	cfg.DataDir, cfg.Addr = dir, os.Getenv(childAddr)
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, app.Options{})
	if err == nil {
		var ln net.Listener
		if ln, err = net.Listen("tcp", cfg.Addr); err == nil {
			err = a.Serve(ctx, ln)
		}
	}
	fmt.Fprintln(os.Stderr, "child server:", err)
	os.Exit(1)
}

// Child is the test binary running as a server on a data folder, in a
// process of its own so that a test can kill it with SIGKILL.
type Child struct {
	Base string // http://127.0.0.1:port
	cmd  *exec.Cmd
}

// StartChild re-executes the test binary (whose TestMain calls
// ServeIfChild) as a server on the SQLite database in dir, and waits until
// it is ready.
func StartChild(t testing.TB, dir string) *Child {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childData+"="+dir, childAddr+"="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Child{Base: "http://" + addr, cmd: cmd}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r, err := http.Get(c.Base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return c
			}
		}
	}
	c.Kill()
	t.Fatal("the child server did not start")
	return nil
}

// Kill ends the server with SIGKILL: no shutdown, no flush.
func (c *Child) Kill() {
	c.cmd.Process.Kill()
	c.cmd.Wait()
}

// Stop shuts the server down gracefully (SIGKILL after 10 s).
func (c *Child) Stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}
