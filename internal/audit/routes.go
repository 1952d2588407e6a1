package audit

import (
	"embed"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Templates are the audit pages.
func Templates() fs.FS { sub, _ := fs.Sub(templates, "templates"); return sub }

// PermRead is the permission to browse the whole log (auditors).
const PermRead = "audit.read"

// Pages serves the auditor's view of the log and each person's own
// "my data access" page.
type Pages struct {
	DB     *db.DB
	Render *web.Renderer
}

// Routes lists the audit routes.
func (p *Pages) Routes() []web.Route {
	return []web.Route{
		{Pattern: "GET /audit", Perm: PermRead, Handler: p.browse},
		{Pattern: "GET /audit/verify", Perm: PermRead, Handler: p.verify},
		{Pattern: "GET /account/data-access", Perm: web.SignedIn, Handler: p.mine},
		{Pattern: "GET /api/v1/me/data-access", Perm: web.SignedIn, Handler: p.mineAPI, API: &web.APIDoc{
			Tag: "auth", Summary: "Who read or changed the signed-in person's records, newest first",
			Query: []web.Param{{Name: "before", Type: "integer", Description: "entries older than this id (paging)"}}, Response: []DataAccess{}}},
	}
}

type browseData struct {
	web.Form
	Entries []Entry
	Next    int64
	More    string
}

func parseDate(f *web.Form, field string) time.Time {
	v := f.Values[field]
	if v == "" {
		return time.Time{}
	}
	t, err := time.ParseInLocation("2006-01-02", v, web.IST)
	if err != nil {
		if f.Errors == nil {
			f.Errors = &web.Fields{}
		}
		f.Errors.Add(field, "form.date_invalid")
	}
	return t
}

func (p *Pages) browse(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := &web.Form{Values: map[string]string{}}
	for _, k := range []string{"action", "object_type", "object_id", "actor", "subject", "from", "to"} {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	query := Query{Action: f.Values["action"], ObjectType: f.Values["object_type"], ObjectID: f.Values["object_id"], Limit: 50}
	for field, dst := range map[string]*int64{"actor": &query.ActorID, "subject": &query.SubjectID} {
		if v := f.Values[field]; v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				if f.Errors == nil {
					f.Errors = &web.Fields{}
				}
				f.Errors.Add(field, "audit.id_invalid")
			}
			*dst = n
		}
	}
	query.From = parseDate(f, "from")
	if to := parseDate(f, "to"); !to.IsZero() {
		query.To = to.AddDate(0, 0, 1)
	}
	query.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	data := &browseData{Form: *f}
	status := http.StatusOK
	if !f.Errors.Empty() {
		status = http.StatusUnprocessableEntity
	} else {
		es, err := List(r.Context(), p.DB, query)
		if err != nil {
			return err
		}
		data.Entries = es
		if len(es) == query.Limit {
			data.Next = es[len(es)-1].ID
			next := r.URL.Query()
			next.Set("before", strconv.FormatInt(data.Next, 10))
			data.More = "?" + next.Encode()
		}
	}
	return p.Render.Page(w, r, status, "audit/browse.html", data)
}

type verifyData struct {
	Checked int64
	Err     string
	Head    string
	Took    time.Duration
}

func (p *Pages) verify(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	n, err := Verify(r.Context(), p.DB)
	d := verifyData{Checked: n, Took: time.Since(start).Round(time.Millisecond)}
	if err != nil {
		if _, ok := err.(*VerifyError); !ok {
			return err
		}
		d.Err = err.Error()
	}
	_, d.Head, _ = Head(r.Context(), p.DB)
	return p.Render.Page(w, r, http.StatusOK, "audit/verify.html", d)
}

// DataAccess is one entry of a person's own access log.
type DataAccess struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Who    string    `json:"who" doc:"The person or system that acted"`
	ByMe   bool      `json:"by_me"`
	Action string    `json:"action"`
	Object string    `json:"object" doc:"type/id of the record"`
}

func (p *Pages) mineList(r *http.Request) ([]DataAccess, int64, error) {
	u := web.UserOf(r)
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	es, err := List(r.Context(), p.DB, Query{SubjectID: u.PersonID(), Before: before, Limit: 50})
	if err != nil {
		return nil, 0, err
	}
	out := make([]DataAccess, 0, len(es))
	for _, e := range es {
		out = append(out, DataAccess{ID: e.ID, At: e.At, Who: e.Actor, ByMe: e.ActorID == u.PersonID(), Action: e.Action, Object: e.ObjectType + "/" + e.ObjectID})
	}
	var next int64
	if len(es) == 50 {
		next = es[len(es)-1].ID
	}
	return out, next, nil
}

func (p *Pages) mine(w http.ResponseWriter, r *http.Request) error {
	list, next, err := p.mineList(r)
	if err != nil {
		return err
	}
	return p.Render.Page(w, r, http.StatusOK, "audit/mine.html", map[string]any{"List": list, "Next": next})
}

func (p *Pages) mineAPI(w http.ResponseWriter, r *http.Request) error {
	list, _, err := p.mineList(r)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, list)
	return nil
}
