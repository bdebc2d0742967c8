// Package browsertest drives Debian's Chromium, headless, for Backstop's
// browser tests: one fresh profile per test, full-page PNG screenshots saved
// under testdata/artifacts/ at the top of the repository (gitignored), and a
// few helpers for signing in and working forms. A test that needs a browser
// skips only when Chromium is not installed.
//
//	b := browsertest.New(t, server.URL)
//	b.SignIn("staff@example.org", password)
//	b.Go("/t/acme/queues/needs-review")
//	b.Screenshot("needs-review")
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian installs Chromium; BACKSTOP_CHROMIUM
// overrides it.
const ChromiumPath = "/usr/bin/chromium"

// Browser is one headless Chromium with its own profile, visiting Base.
type Browser struct {
	T    testing.TB
	Ctx  context.Context
	Base string
	// Timeout bounds each step (default 20s).
	Timeout time.Duration
	shots   int

	mu       sync.Mutex
	problems []string
}

// Path is the Chromium binary a test will use, or "" if none is installed.
func Path() string {
	p := ChromiumPath
	if v := os.Getenv("BACKSTOP_CHROMIUM"); v != "" {
		p = v
	}
	if _, err := exec.LookPath(p); err != nil {
		return ""
	}
	return p
}

// New starts Chromium for t, or skips t when it is not installed. The
// browser stops when t ends.
func New(t testing.TB, base string) *Browser {
	t.Helper()
	path := Path()
	if path == "" {
		t.Skip("Chromium is not installed: apt-get install chromium (Debian) to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &Browser{T: t, Ctx: ctx, Base: strings.TrimRight(base, "/"), Timeout: 20 * time.Second}
	// The first Run starts the browser, and must not have a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	b.watch()
	return b
}

// watch records what a page should never do — open a JavaScript dialog
// (an XSS alert), throw, or log an error (a CSP violation, a failed
// request) — and dismisses dialogs so the page does not hang.
func (b *Browser) watch() {
	dialogs := make(chan struct{}, 16)
	chromedp.Listen(b.Ctx, func(ev any) {
		var p string
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			p = "dialog: " + e.Message
			select {
			case dialogs <- struct{}{}:
			default:
			}
		case *runtime.EventExceptionThrown:
			p = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				p += " " + e.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				p = "console: " + e.Entry.Text + " " + e.Entry.URL
			}
		}
		if p != "" {
			b.mu.Lock()
			b.problems = append(b.problems, p)
			b.mu.Unlock()
		}
	})
	go func() {
		for {
			select {
			case <-b.Ctx.Done():
				return
			case <-dialogs:
				chromedp.Call(b.Ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}
		}
	}()
}

// Problems lists the dialogs, exceptions and console errors seen so far.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Do runs steps, each within the step timeout; a failure ends the test.
func (b *Browser) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, b.Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.T.Fatalf("browser: %s: %v (at %s)", what, err, b.Location())
	}
}

// Get runs one action that returns a value.
func Get[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, b.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.T.Fatalf("browser: %s: %v (at %s)", what, err, b.Location())
	}
	return v
}

// Go opens path (relative to Base) and waits for the page.
func (b *Browser) Go(path string) {
	b.T.Helper()
	b.Do("open "+path, chromedp.Navigate(b.Base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// Location is the current URL.
func (b *Browser) Location() string {
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	u, _ := chromedp.Run(ctx, chromedp.Location())
	return u
}

// Path is the current URL's path and query, without Base.
func (b *Browser) Path() string { return strings.TrimPrefix(b.Location(), b.Base) }

// Text is the visible text of the first element matching the CSS selector.
func (b *Browser) Text(css string) string {
	b.T.Helper()
	return Get(b, "read "+css, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
}

// Count is how many elements match the CSS selector.
func (b *Browser) Count(css string) int {
	b.T.Helper()
	return Get(b, "count "+css, chromedp.Evaluate[int]("document.querySelectorAll("+jsString(css)+").length"))
}

// Fill types value into the field matching css, replacing what is there.
func (b *Browser) Fill(css, value string) {
	b.T.Helper()
	clear := "document.querySelector(" + jsString(css) + ").value = ''"
	b.Do("fill "+css, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.Evaluate[chromedp.Void](clear),
		chromedp.SendKeys(chromedp.CSS(css), value))
}

// Click clicks the element matching css and waits until an element
// matching then is visible (the page or fragment the click leads to).
func (b *Browser) Click(css, then string) {
	b.T.Helper()
	b.Do("click "+css, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS(then)))
}

// WaitText waits until the element matching css contains text. A page
// that navigates meanwhile (a form post and its redirect) is waited out.
func (b *Browser) WaitText(css, text string) {
	b.T.Helper()
	js := "(() => { const e = document.querySelector(" + jsString(css) + "); return !!e && e.textContent.includes(" + jsString(text) + "); })()"
	deadline := time.Now().Add(b.Timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	got, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string]("(document.querySelector("+jsString(css)+") || {}).textContent || ''"))
	b.T.Fatalf("browser: %s never said %q (it says %q; last error %v) at %s", css, text, strings.TrimSpace(got), last, b.Location())
}

// SignIn signs in through the form and waits for the next page.
func (b *Browser) SignIn(email, password string) {
	b.T.Helper()
	b.Go("/signin")
	b.Fill("#email", email)
	b.Fill("#password", password)
	b.Click("form button[type=submit]", "header .who")
}

// SignOut clicks Sign out and waits for the sign-in page.
func (b *Browser) SignOut() {
	b.T.Helper()
	b.Click("header .who button[type=submit]", "#email")
}

// Viewport resizes the page, e.g. 390×844 for a phone.
func (b *Browser) Viewport(w, h int64) {
	b.T.Helper()
	b.Do("resize", chromedp.EmulateViewport(w, h))
}

// Screenshot saves a full-page PNG as testdata/artifacts/<Test>/<nn-name>.png
// and returns its path.
func (b *Browser) Screenshot(name string) string {
	b.T.Helper()
	png := Get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	dir := filepath.Join(ArtifactsDir(b.T), fileName(b.T.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.T.Fatal(err)
	}
	b.shots++
	p := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", b.shots, fileName(name)))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.T.Fatal(err)
	}
	b.T.Logf("screenshot %s", p)
	return p
}

// ArtifactsDir is testdata/artifacts at the top of the module.
func ArtifactsDir(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "testdata", "artifacts")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "testdata", "artifacts")
		}
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(s string) string { return strings.Trim(unsafeName.ReplaceAllString(s, "-"), "-") }

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\u2028", `\u2028`, "\u2029", `\u2029`)
	return `"` + r.Replace(s) + `"`
}

// SetValue sets the value of the field matching css as a script would (a
// date input or a select, which typing does not fill reliably) and fires
// its change event.
func (b *Browser) SetValue(css, value string) {
	b.T.Helper()
	fire := "document.querySelector(" + jsString(css) + ").dispatchEvent(new Event('change', {bubbles: true}))"
	b.Do("set "+css, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.SetValue(chromedp.CSS(css), value),
		chromedp.Evaluate[chromedp.Void](fire))
}

// Response is what Fetch got.
type Response struct {
	Status             int    `json:"status"`
	ContentType        string `json:"type"`
	ContentDisposition string `json:"disposition"`
	Body               string `json:"body"`
}

// Fetch GETs url from the current page with its cookies — what following
// a download link would fetch — and returns the response.
func (b *Browser) Fetch(url string) Response {
	b.T.Helper()
	js := `fetch(` + jsString(url) + `, {credentials: "same-origin"}).then(async r => ({status: r.status,
		type: r.headers.get("content-type") || "", disposition: r.headers.get("content-disposition") || "", body: await r.text()}))`
	return Get(b, "fetch "+url, chromedp.Evaluate[Response](js, chromedp.EvalAwaitPromise))
}

// Attr is an attribute of the first element matching css ("" when absent).
func (b *Browser) Attr(css, name string) string {
	b.T.Helper()
	return Get(b, "read "+css+"@"+name, chromedp.Evaluate[string]("(document.querySelector("+jsString(css)+") || {getAttribute: () => ''}).getAttribute("+jsString(name)+") || ''"))
}

// Overflow is how many CSS pixels the page is wider than the viewport: a
// layout that makes a phone scroll sideways has Overflow > 0.
func (b *Browser) Overflow() int {
	b.T.Helper()
	return Get(b, "measure overflow", chromedp.Evaluate[int]("document.documentElement.scrollWidth - document.documentElement.clientWidth"))
}
