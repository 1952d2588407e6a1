package permits

import (
	"io/fs"
	"net/http"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/web"
)

type gateData struct {
	web.Form
	Gates    []opt
	Gate     string
	Result   *GateResult
	Checked  bool
	Recorded string
	TypeName string
	Now      time.Time
}

func (s *Service) gateOptions(r *http.Request) []opt { return entryOpts(web.LangOf(r), true) }

// gateOf is the gate the officer works at: the form's, else the cookie's.
func gateOf(r *http.Request, form string) string {
	if e, ok := EntryPointByCode(form); ok && e.Gate {
		return form
	}
	if c, err := r.Cookie("gate"); err == nil {
		if e, ok := EntryPointByCode(c.Value); ok && e.Gate {
			return c.Value
		}
	}
	return ""
}

func (s *Service) renderGate(w http.ResponseWriter, r *http.Request, status int, d *gateData) error {
	d.Gates, d.Now = s.gateOptions(r), s.now()
	if d.Gate == "" {
		d.Gate = gateOf(r, r.URL.Query().Get("gate"))
	}
	if d.Gate != "" {
		http.SetCookie(w, &http.Cookie{Name: "gate", Value: d.Gate, Path: "/permits/gate/", MaxAge: 30 * 24 * 3600, HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: web.Info(r.Context()).Secure})
	}
	if d.Result != nil && d.Result.Type != "" {
		d.TypeName = d.Result.Type
		if t, err := s.TypeAt(r.Context(), s.DB.R(), d.Result.Type, s.now()); err == nil {
			d.TypeName = t.Label(web.LangOf(r))
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.Render.Page(w, r, status, "permits/gate.html", d)
}

func (s *Service) gatePage(w http.ResponseWriter, r *http.Request) error {
	d := &gateData{Recorded: r.URL.Query().Get("recorded")}
	if d.Recorded != "entry" && d.Recorded != "exit" {
		d.Recorded = ""
	}
	d.Form = web.Form{Values: map[string]string{}}
	return s.renderGate(w, r, http.StatusOK, d)
}

// gateCheckPost is the page without JavaScript: the server verifies.
func (s *Service) gateCheckPost(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "code", "gate")
	d := &gateData{Form: *f, Gate: gateOf(r, f.Values["gate"]), Checked: true}
	code := f.Values["code"]
	if code == "" || len(code) > 4096 {
		f.Errors = &web.Fields{}
		f.Errors.Add("code", "permits.gate_code_required")
		d.Form, d.Checked = *f, false
		return s.renderGate(w, r, http.StatusUnprocessableEntity, d)
	}
	in := GateCheck{Token: code}
	if len(code) < 40 {
		in = GateCheck{Number: code}
	}
	res, _, err := s.Check(r.Context(), in)
	if err != nil {
		return err
	}
	d.Result = &res
	return s.renderGate(w, r, http.StatusOK, d)
}

// gateRecordPost records an entry or exit from the page without JavaScript.
func (s *Service) gateRecordPost(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "number", "gate", "kind", "result", "event_id")
	ev := GateEvent{EventID: f.Values["event_id"], Number: f.Values["number"], Gate: f.Values["gate"], Kind: f.Values["kind"],
		Result: f.Values["result"], At: s.now()}
	if ev.EventID == "" {
		ev.EventID = eventID("web", s.now())
	}
	out, err := s.Record(r.Context(), me(r), []GateEvent{ev})
	if err != nil {
		return err
	}
	if out[0].Status == "refused" {
		return web.BadRequest("permits.gate_refused", "why", out[0].Error)
	}
	http.Redirect(w, r, "/permits/gate/?recorded="+ev.Kind+"&gate="+ev.Gate, http.StatusSeeOther)
	return nil
}

// static serves the gate's scripts. The service worker may control
// /permits/gate/ because it is served from there.
func (s *Service) static(name string) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		b, err := fs.ReadFile(staticFS, "static/"+name)
		if err != nil {
			return web.NotFound()
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, err = w.Write(b)
		return err
	}
}

func auditRead(p Permit) audit.Event {
	return audit.Event{Action: "permits.read", ObjectType: "permit", ObjectID: p.Number, SubjectID: p.HolderID}
}

type auditEvent = audit.Event
