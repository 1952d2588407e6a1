package app

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"

	"mizogov/internal/web"
)

//go:embed templates/*.html
var templatesFS embed.FS

func appTemplates() fs.FS { sub, _ := fs.Sub(templatesFS, "templates"); return sub }

// routes are the platform's own pages and operations endpoints.
func (a *App) routes() []web.Route {
	return []web.Route{
		{Pattern: "GET /{$}", Perm: web.Public, Handler: a.home},
		{Pattern: "GET /help/{page}", Perm: web.Public, Handler: a.help},
		{Pattern: "GET /healthz", Perm: web.Public, Handler: a.healthz},
		{Pattern: "GET /readyz", Perm: web.Public, Handler: a.readyz},
		{Pattern: "GET /api/openapi.json", Perm: web.Public, Handler: a.openapi},
		{Pattern: "GET /", Perm: web.Public, Handler: func(w http.ResponseWriter, r *http.Request) error { return web.NotFound() }},
	}
}

func (a *App) home(w http.ResponseWriter, r *http.Request) error {
	return a.Render.Page(w, r, http.StatusOK, "app/home.html", web.Visible(a.tiles, web.UserOf(r)))
}

func (a *App) help(w http.ResponseWriter, r *http.Request) error {
	page := "app/help_" + r.PathValue("page") + ".html"
	if !a.Render.Has(page) {
		return web.NotFound()
	}
	return a.Render.Page(w, r, http.StatusOK, page, nil)
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write([]byte("ok\n"))
	return err
}

func (a *App) readyz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.ready(r.Context()); err != nil {
		a.Log.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, err := w.Write([]byte("not ready\n"))
		return err
	}
	_, err := w.Write([]byte("ready\n"))
	return err
}

func (a *App) openapi(w http.ResponseWriter, r *http.Request) error {
	doc := web.OpenAPI(a.Web.Routes(), Version)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
