package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"mizogov/internal/i18n"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed static
var staticFS embed.FS

// IST is India Standard Time, the zone times are shown in.
var IST = time.FixedZone("IST", 5*3600+1800)

// NavItem is a link in the header menu, shown to those who hold Perm.
type NavItem struct {
	Key  string // message key of the label
	Href string
	Perm string
}

// Renderer renders pages inside the common layout. Every template is parsed
// at start-up, so a broken template stops the server before it serves.
type Renderer struct {
	Cat   *i18n.Catalog
	Demo  bool
	Nav   []NavItem
	base  *template.Template
	pages map[string]*template.Template
	hash  map[string]string // static file → content hash
}

// Funcs are the helpers every template may use.
var Funcs = template.FuncMap{
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict wants pairs")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m, nil
	},
	"list": func(v ...any) []any { return v },
	"add":  func(a, b int) int { return a + b },
	"sub":  func(a, b int) int { return a - b },
	"join": strings.Join,
}

// NewRenderer parses the layout and the platform's own pages.
func NewRenderer(cat *i18n.Catalog, demo bool) (*Renderer, error) {
	base, err := template.New("layout").Funcs(Funcs).ParseFS(templatesFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	r := &Renderer{Cat: cat, Demo: demo, base: base, pages: map[string]*template.Template{}, hash: map[string]string{}}
	err = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		r.hash[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, err
	}
	sub, _ := fs.Sub(templatesFS, "templates")
	if err := r.Add("web", sub); err != nil {
		return nil, err
	}
	return r, nil
}

// Add parses every *.html page in fsys as prefix/name. Files whose names
// start with "_" hold partials shared by the package's pages.
func (r *Renderer) Add(prefix string, fsys fs.FS) error {
	files, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return err
	}
	partials, err := fs.Glob(fsys, "_*.html")
	if err != nil {
		return err
	}
	for _, f := range files {
		if f == "layout.html" || strings.HasPrefix(f, "_") {
			continue
		}
		t, err := r.base.Clone()
		if err != nil {
			return err
		}
		if len(partials) > 0 {
			if _, err := t.ParseFS(fsys, partials...); err != nil {
				return fmt.Errorf("template %s/%v: %w", prefix, partials, err)
			}
		}
		if _, err := t.ParseFS(fsys, f); err != nil {
			return fmt.Errorf("template %s/%s: %w", prefix, f, err)
		}
		if t.Lookup("content") == nil || t.Lookup("title") == nil {
			return fmt.Errorf("template %s/%s must define title and content", prefix, f)
		}
		r.pages[prefix+"/"+f] = t
	}
	return nil
}

// Has reports whether a page exists.
func (r *Renderer) Has(name string) bool { _, ok := r.pages[name]; return ok }

// Page renders the named page with data in the layout.
func (r *Renderer) Page(w http.ResponseWriter, req *http.Request, status int, name string, data any) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("no page %q", name)
	}
	v := r.View(req, data)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		if v.User != nil {
			h.Set("Cache-Control", "no-store")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
	}
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// View builds the view model for data (exported for tests of partials).
func (r *Renderer) View(req *http.Request, data any) *View {
	ri := Info(req.Context())
	v := &View{Lang: ri.Lang, User: ri.User, Demo: r.Demo, Path: req.URL.Path, RequestID: ri.ID,
		Data: data, r: r, url: req.URL}
	if f, ok := data.(interface{ FormOf() *Form }); ok {
		v.Form = f.FormOf()
	}
	for _, n := range r.Nav {
		if n.Perm == Public || (ri.User != nil && (n.Perm == SignedIn || ri.User.Can(n.Perm))) {
			v.Nav = append(v.Nav, n)
		}
	}
	return v
}

// StaticHandler serves embedded assets; versioned URLs are cached for a year.
func (r *Renderer) StaticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(sub)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name := req.URL.Path
		h, ok := r.hash[name]
		if !ok {
			http.NotFound(w, req)
			return
		}
		if req.URL.Query().Get("v") == h {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		files.ServeHTTP(w, req)
	}))
}

// Form carries what a person typed and what was wrong with it, so a form
// can be shown again with their input kept and each problem by its field.
type Form struct {
	Values map[string]string
	Errors *Fields
}

// Refused puts a service's refusal of the input on the form, under the
// fields the error names or else under field, so the page shows it where
// the person is looking. Errors that are not about the input (401, 403,
// 404, 5xx) are returned for their own pages.
func (f *Form) Refused(err error, field string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests:
	default:
		return err
	}
	if !e.Fields.Empty() {
		f.Errors = e.Fields
		return nil
	}
	f.Errors = &Fields{}
	f.Errors.Add(field, e.Key, e.Args...)
	return nil
}

// FormOf lets page data embed Form.
func (f *Form) FormOf() *Form { return f }

// NewForm copies the posted values of the named fields.
func NewForm(req *http.Request, fields ...string) *Form {
	f := &Form{Values: map[string]string{}}
	for _, name := range fields {
		f.Values[name] = strings.TrimSpace(req.PostFormValue(name))
	}
	return f
}

// View is what every template sees as dot.
type View struct {
	Lang      string
	User      User
	Demo      bool
	Nav       []NavItem
	Path      string
	RequestID string
	Data      any
	Form      *Form
	r         *Renderer
	url       *url.URL
}

// T translates a message key.
func (v *View) T(key string, args ...any) string { return v.r.Cat.T(v.Lang, key, args...) }

// Other is the language that the switch offers.
func (v *View) Other() string {
	if v.Lang == i18n.LUS {
		return i18n.EN
	}
	return i18n.LUS
}

// LangURL is the current page in another language.
func (v *View) LangURL(lang string) string {
	u := *v.url
	q := u.Query()
	q.Set("lang", lang)
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// Static returns the versioned URL of an asset.
func (v *View) Static(name string) string {
	return "/static/" + name + "?v=" + v.r.hash[name]
}

// Can reports whether the viewer holds perm.
func (v *View) Can(perm string) bool {
	return v.User != nil && (perm == SignedIn || v.User.Can(perm))
}

// Time formats t in IST as 27-11-2026 15:04.
func (v *View) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(IST).Format("02-01-2006 15:04")
}

// Date formats t in IST as 27-11-2026.
func (v *View) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(IST).Format("02-01-2006")
}

// Val is the value typed into field.
func (v *View) Val(field string) string {
	if v.Form == nil {
		return ""
	}
	return v.Form.Values[field]
}

// Err is field's translated problem, or "".
func (v *View) Err(field string) string {
	if v.Form == nil {
		return ""
	}
	if e, ok := v.Form.Errors.Get(field); ok {
		return v.T(e.Key, e.Args...)
	}
	return ""
}

// FieldMsg translates one field error (for the error summary).
func (v *View) FieldMsg(e FieldError) string { return v.T(e.Key, e.Args...) }

// Field describes an input for the "field" partial.
func (v *View) Field(name, labelKey, kind string) FieldView {
	return FieldView{Name: name, Label: v.T(labelKey), Kind: kind, Value: v.Val(name), Error: v.Err(name)}
}

// FieldHint is Field with a hint below the label.
func (v *View) FieldHint(name, labelKey, kind, hintKey string) FieldView {
	f := v.Field(name, labelKey, kind)
	f.Hint = v.T(hintKey)
	return f
}

// FieldView is one labelled input with its hint and error.
type FieldView struct {
	Name, Label, Kind, Value, Error, Hint string
}

// Type is the HTML input type.
func (f FieldView) Type() string {
	switch f.Kind {
	case "tel", "email", "password", "number", "date", "datetime-local", "search", "url":
		return f.Kind
	}
	return "text"
}

// Autocomplete is the autocomplete token for the kind of field.
func (f FieldView) Autocomplete() string {
	switch f.Kind {
	case "tel":
		return "tel"
	case "email":
		return "email"
	case "otp", "totp":
		return "one-time-code"
	case "password":
		return "current-password"
	case "username":
		return "username"
	case "name":
		return "name"
	}
	return "off"
}

// InputMode is the keyboard a phone should show.
func (f FieldView) InputMode() string {
	switch f.Kind {
	case "tel":
		return "tel"
	case "email":
		return "email"
	case "otp", "totp", "number":
		return "numeric"
	}
	return "text"
}

// PageName joins a package prefix and a page file (for callers' readability).
func PageName(prefix, file string) string { return path.Join(prefix, file) }

// Tile is a card linking to a service: on the home page for citizens, on
// the staff home for officers. It is shown to those who hold Perm.
type Tile struct {
	Key  string // message key of the title
	Desc string // message key of the description
	Href string
	Perm string
}

// Visible filters tiles by what u may do.
func Visible(tiles []Tile, u User) []Tile {
	var out []Tile
	for _, t := range tiles {
		if t.Perm == Public || (u != nil && (t.Perm == SignedIn || u.Can(t.Perm))) {
			out = append(out, t)
		}
	}
	return out
}

// TOr translates key when the catalog has it, and shows fallback otherwise
// (for open-ended codes such as audit actions).
func (v *View) TOr(key, fallback string) string {
	if v.r.Cat.Has(key) {
		return v.T(key)
	}
	return fallback
}
