// Package e2e drives a real `mizogov serve` with headless Chromium (through
// chromedp, so that the checks are ordinary Go tests) and checks every page
// a journey visits: axe-core finds no WCAG 2.1 A/AA violation, nothing is
// requested from outside loopback, the console stays clean, there is no
// inline script, HTML+CSS stay under 40 KB, and a screenshot is kept.
//
// Without MIZOGOV_E2E=1 the tests skip when Chromium or axe-core is missing;
// with it, a missing browser is a failure.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// suite is one server and one browser shared by the package's tests.
type suite struct {
	base    string     // http://127.0.0.1:PORT
	log     *lockedBuf // the server's log (one-time codes, demo banner)
	browser context.Context
	axe     string
	bin     string // the mizogov binary
	data    string // the server's data folder
	out     string // screenshots of every page
	readme  string // a chosen few for the README, when MIZOGOV_E2E_README=1
}

var s *suite

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	required := os.Getenv("MIZOGOV_E2E") == "1"
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		chrome, err = exec.LookPath("chromium-browser")
	}
	axePath := filepath.Join("node_modules", "axe-core", "axe.min.js")
	axe, axeErr := os.ReadFile(axePath)
	if err != nil || axeErr != nil {
		msg := "browser checks skipped: needs Chromium (apt-get install chromium) and axe-core (npm ci --prefix e2e); set MIZOGOV_E2E=1 to require them"
		if required {
			return 1, fmt.Errorf("MIZOGOV_E2E=1 but: chromium: %v; axe-core: %v", err, axeErr)
		}
		fmt.Println(msg)
		return 0, nil
	}
	tmp, err := os.MkdirTemp("", "mizogov-e2e-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "mizogov")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/mizogov").CombinedOutput(); err != nil {
		return 1, fmt.Errorf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s = &suite{base: "http://" + addr, log: &lockedBuf{}, axe: string(axe), out: filepath.Join("out"), bin: bin, data: filepath.Join(tmp, "data")}
	if os.Getenv("MIZOGOV_E2E_README") == "1" {
		s.readme = filepath.Join("..", "docs", "screenshots")
	}
	os.MkdirAll(s.out, 0o755)
	srv := exec.Command(bin, "serve", "--demo", "--addr", addr, "--data", s.data)
	srv.Stdout, srv.Stderr = s.log, s.log
	srv.Env = append(os.Environ(), "MIZOGOV_DB=")
	if err := srv.Start(); err != nil {
		return 1, err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	if err := waitReady(s.base); err != nil {
		return 1, fmt.Errorf("%v\n%s", err, s.log.String())
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(filepath.Join(tmp, "chrome")),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"), chromedp.Flag("hide-scrollbars", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		return 1, fmt.Errorf("start chromium: %w", err)
	}
	s.browser = browser
	return m.Run(), nil
}

func waitReady(base string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := exec.Command("curl", "-fsS", base+"/readyz").CombinedOutput()
		if err == nil && strings.Contains(string(out), "ready") {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("server at %s did not become ready", base)
}

// tab is one browser tab in a fresh browser context (its own cookies).
type tab struct {
	t        *testing.T
	ctx      context.Context
	width    int
	lang     string
	js       bool
	mu       sync.Mutex
	errors   []string // console errors, exceptions, CSP violations
	outbound []string // requests that left loopback
}

// newTab opens a tab width pixels wide, in lang, with or without JavaScript.
func newTab(t *testing.T, width int, lang string, js bool) *tab {
	t.Helper()
	if s == nil {
		t.Skip("no browser")
	}
	tb := &tab{t: t, width: width, lang: lang, js: js}
	ctx, cancel := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.listen))
	t.Cleanup(cancel)
	tb.ctx = ctx
	height := int64(900)
	if width > 400 {
		height = 800
	}
	viewport := chromedp.EmulateViewport(int64(width), height)
	if width < 400 {
		viewport = chromedp.EmulateViewport(int64(width), height, chromedp.EmulateMobile)
	}
	// The first action attaches the tab; it must run on the tab's own
	// context (a derived context with a timeout would end the tab with it).
	if err := chromedp.Do(ctx, viewport); err != nil {
		t.Fatal(err)
	}
	call(t, ctx, network.Enable, network.EnableParams{})
	call(t, ctx, log.Enable, cdp.Empty{})
	call(t, ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !js})
	call(t, ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
	tb.visit("/?lang=" + lang)
	return tb
}

func call[P, R any](t *testing.T, ctx context.Context, cmd cdp.Command[P, R], p P) R {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := chromedp.Call(ctx, cmd, p)
	if err != nil {
		t.Fatalf("%s: %v", cmd.Method, err)
	}
	return r
}

// listen runs in the tab's event loop: it only records.
func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			tb.errors = append(tb.errors, fmt.Sprintf("console.%s %s", e.Type, argsText(e.Args)))
		}
	case *runtime.EventExceptionThrown:
		tb.errors = append(tb.errors, "exception: "+e.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		// A form shown again with its errors answers 422 (or 409/429): that
		// is the page working, not a failed resource.
		if e.Entry.Source == log.EntrySourceNetwork && !strings.Contains(e.Entry.URL, "/static/") &&
			regexp.MustCompile(`status of 4(09|22|29)\b`).MatchString(e.Entry.Text) {
			return
		}
		if e.Entry.Level == log.EntryLevelError {
			tb.errors = append(tb.errors, fmt.Sprintf("%s: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		u, err := url.Parse(e.Request.URL)
		if err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "ws" || u.Scheme == "wss") && u.Hostname() != "127.0.0.1" {
			tb.outbound = append(tb.outbound, e.Request.URL)
		}
	}
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		if len(a.Value) > 0 {
			parts = append(parts, string(a.Value))
		} else {
			parts = append(parts, a.Description)
		}
	}
	return strings.Join(parts, " ")
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatal(err)
	}
}

// get runs one action that returns a value.
func get[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatal(err)
	}
	return v
}

// visit opens path and waits for the page.
func (tb *tab) visit(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(s.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// path is the current URL path and query.
func (tb *tab) path() string {
	u, _ := url.Parse(get(tb, chromedp.Location()))
	return u.RequestURI()
}

func (tb *tab) text(sel string) string { return get(tb, chromedp.Text(chromedp.CSS(sel))) }

// fill types into a form field (clearing it first).
func (tb *tab) fill(sel, value string) {
	tb.t.Helper()
	tb.do(chromedp.WaitReady(chromedp.CSS(sel)), chromedp.Evaluate[chromedp.Void](`document.querySelector(`+strconv.Quote(sel)+`).value = ""`),
		chromedp.SendKeys(chromedp.CSS(sel), value))
}

// submit clicks a button and waits for the page that follows.
func (tb *tab) submit(sel string) {
	tb.t.Helper()
	before := get(tb, chromedp.Evaluate[float64](`performance.timeOrigin`))
	tb.do(chromedp.Click(chromedp.CSS(sel)))
	tb.waitNewPage(before, sel)
}

// waitNewPage waits until a page other than the one loaded at before has loaded.
func (tb *tab) waitNewPage(before float64, sel string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		now, err := chromedp.Run(tb.ctx, chromedp.Evaluate[float64](`document.readyState === "complete" ? performance.timeOrigin : 0`))
		if err == nil && now != 0 && now != before {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.t.Fatalf("no new page after clicking %s", sel)
}

// doubleSubmit double-clicks a submit button, as people on slow networks
// do, and waits for the page that follows.
func (tb *tab) doubleSubmit(sel string) {
	tb.t.Helper()
	before := get(tb, chromedp.Evaluate[float64](`performance.timeOrigin`))
	tb.do(chromedp.DoubleClick(chromedp.CSS(sel)))
	tb.waitNewPage(before, sel)
}

// check runs every page check and keeps a screenshot named name.
func (tb *tab) check(name string) {
	tb.t.Helper()
	tb.do(chromedp.WaitReady(chromedp.CSS("body")))
	type violation struct {
		ID    string `json:"id"`
		Help  string `json:"help"`
		Nodes []struct {
			Target []string `json:"target"`
		} `json:"nodes"`
	}
	// axe-core is evaluated through the DevTools protocol, which the page's
	// CSP does not govern; the page itself stays script-src 'self'. With
	// JavaScript disabled in the page, DevTools evaluation still runs.
	if !tb.js {
		// axe-core needs timers; let them run for the check only. The page's
		// own scripts were not run and are not run now.
		call(tb.t, tb.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		defer call(tb.t, tb.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	}
	tb.do(chromedp.Evaluate[chromedp.Void](s.axe))
	violations := get(tb, chromedp.Evaluate[[]violation](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a","wcag2aa","wcag21a","wcag21aa"]}, resultTypes: ["violations"]}).then(r => r.violations)`, chromedp.EvalAwaitPromise))
	for _, v := range violations {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, strings.Join(n.Target, " "))
		}
		tb.t.Errorf("%s (%s, %dpx): axe %s: %s at %v", name, tb.lang, tb.width, v.ID, v.Help, where)
	}
	type weight struct {
		HTML, CSS, Inline, Handlers int
	}
	w := get(tb, chromedp.Evaluate[weight](`(() => {
		const nav = performance.getEntriesByType("navigation")[0];
		const css = performance.getEntriesByType("resource").filter(r => r.name.includes(".css"));
		return {
			HTML: nav && nav.decodedBodySize ? nav.decodedBodySize : document.documentElement.outerHTML.length,
			CSS: css.reduce((n, r) => n + (r.decodedBodySize || 0), 0),
			Inline: document.querySelectorAll("script:not([src])").length,
			Handlers: [...document.querySelectorAll("*")].filter(e => [...e.attributes].some(a => a.name.startsWith("on"))).length,
		};
	})()`))
	if w.HTML+w.CSS > 40<<10 {
		tb.t.Errorf("%s: HTML %d + CSS %d bytes is over 40 KB", name, w.HTML, w.CSS)
	}
	if w.Inline > 0 || w.Handlers > 0 {
		tb.t.Errorf("%s: %d inline scripts, %d inline event handlers", name, w.Inline, w.Handlers)
	}
	// Every page offers the other language for the same page.
	other := map[string]string{"en": "lus", "lus": "en"}[tb.lang]
	if sw := get(tb, chromedp.Evaluate[string](`(() => { const a = document.querySelector("a.lang-switch");
		if (!a) return "none"; const u = new URL(a.href);
		return u.pathname === location.pathname ? u.searchParams.get("lang") : "elsewhere:" + u.pathname; })()`)); sw != other {
		tb.t.Errorf("%s: the language switch gives %q, want %q for this page", name, sw, other)
	}
	tb.mu.Lock()
	errs, out := tb.errors, tb.outbound
	tb.errors, tb.outbound = nil, nil
	tb.mu.Unlock()
	for _, e := range errs {
		tb.t.Errorf("%s: %s", name, e)
	}
	for _, u := range out {
		tb.t.Errorf("%s: request left loopback: %s", name, u)
	}
	tb.screenshot(name)
}

// screenshot saves the full page.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	png := get(tb, chromedp.FullScreenshot(100))
	js := ""
	if !tb.js {
		js = "-nojs"
	}
	file := fmt.Sprintf("%s-%s-%d%s.png", name, tb.lang, tb.width, js)
	if err := os.WriteFile(filepath.Join(s.out, file), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	if s.readme != "" && readmeShots[name] && tb.js && (tb.width == 360 || name == "home") {
		os.MkdirAll(s.readme, 0o755)
		os.WriteFile(filepath.Join(s.readme, file), png, 0o644)
	}
}

// readmeShots are the pages whose screenshots go to docs/screenshots.
var readmeShots = map[string]bool{"home": true, "signin": true, "account": true, "admin-officer": true}

// otp waits for the one-time code sent to contact after the log reached mark.
func otp(t *testing.T, contact string, mark int) string {
	t.Helper()
	re := regexp.MustCompile(`to=` + regexp.QuoteMeta(contact) + `\b[^\n]*?body="[^"]*?(\d{6})`)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		logText := s.log.String()
		if mark < len(logText) {
			if m := re.FindAllStringSubmatch(logText[mark:], -1); m != nil {
				return m[len(m)-1][1]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no code for %s in the server log", contact)
	return ""
}

// logMark is the current length of the server log.
func logMark() int { return len(s.log.String()) }

// totpSecret reads an officer's TOTP secret from the demo banner.
func totpSecret(t *testing.T, username string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(username) + `\s+\S+(?: \S+)?\s+([A-Z2-7]{32})$`).FindStringSubmatch(s.log.String())
	if m == nil {
		t.Fatalf("no TOTP secret for %s in the demo banner", username)
	}
	return m[1]
}
