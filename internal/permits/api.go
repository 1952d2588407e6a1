package permits

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/idem"
	"mizogov/internal/payments"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// EntryPointView is an entry point in the API.
type EntryPointView struct {
	Code    string `json:"code"`
	Name    string `json:"name"`
	NameLus string `json:"name_lus"`
	Gate    bool   `json:"gate" doc:"police check permits here"`
}

func (s *Service) apiTypes(w http.ResponseWriter, r *http.Request) error {
	at := s.now()
	if v := r.URL.Query().Get("date"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, ist)
		if err != nil {
			f := &web.Fields{}
			f.Add("date", "form.date_invalid")
			return f.Err()
		}
		at = t
	}
	types, err := s.TypesAt(r.Context(), s.DB.R(), at)
	if err != nil {
		return err
	}
	if types == nil {
		types = []PermitType{}
	}
	web.WriteJSON(w, http.StatusOK, types)
	return nil
}

func (s *Service) apiEntryPoints(w http.ResponseWriter, r *http.Request) error {
	out := make([]EntryPointView, len(EntryPoints))
	for i, e := range EntryPoints {
		out[i] = EntryPointView{Code: e.Code, Name: e.Name, NameLus: e.NameLus, Gate: e.Gate}
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// readJSON decodes a JSON body strictly and returns its bytes (for the
// idempotency fingerprint).
func readJSON(r *http.Request, v any) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, web.AsError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err := web.DecodeJSON(r, v); err != nil {
		return nil, err
	}
	return b, nil
}

func jsonResponse(status int, v any) (idem.Response, error) {
	var buf bytes.Buffer
	w := &bufWriter{h: http.Header{}, buf: &buf}
	web.WriteJSON(w, status, v)
	return idem.Response{Status: status, ContentType: "application/json; charset=utf-8", Body: buf.Bytes()}, nil
}

type bufWriter struct {
	h   http.Header
	buf *bytes.Buffer
}

func (b *bufWriter) Header() http.Header         { return b.h }
func (b *bufWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }
func (b *bufWriter) WriteHeader(int)             {}

func (s *Service) apiApply(w http.ResponseWriter, r *http.Request) error {
	var in ApplyInput
	body, err := readJSON(r, &in)
	if err != nil {
		return err
	}
	return s.once(w, r, body, func(ctx context.Context, tx *db.Tx) (idem.Response, error) {
		a, err := s.applyTx(ctx, tx, me(r).ID, in)
		if err != nil {
			return idem.Response{}, err
		}
		w.Header().Set("Location", fmt.Sprintf("/api/v1/permits/applications/%d", a.ID))
		return jsonResponse(http.StatusCreated, a)
	})
}

func (s *Service) apiMine(w http.ResponseWriter, r *http.Request) error {
	list, err := s.ApplicationsOf(r.Context(), me(r).ID)
	if err != nil {
		return err
	}
	if list == nil {
		list = []Application{}
	}
	web.WriteJSON(w, http.StatusOK, list)
	return nil
}

// ApplicationView is an application with its permits and payment.
type ApplicationView struct {
	Application Application    `json:"application"`
	Permits     []Permit       `json:"permits"`
	FeeDue      string         `json:"fee_due,omitempty" doc:"the fee for the whole group, when approved and unpaid"`
	Receipt     string         `json:"receipt,omitempty"`
	Case        *workflow.Case `json:"case,omitempty" doc:"the issuing office's case (its version is what an officer's action carries)"`
}

// mayReadApplication: the applicant, the sponsor it names, or the issuing
// office of its district.
func (s *Service) mayReadApplication(r *http.Request, a Application) (bool, error) {
	p := me(r)
	if a.ApplicantID == p.ID {
		return true, nil
	}
	if p.CanIn(PermProcess, s.homeDept(r.Context()), a.DistrictID) {
		return true, s.Audit.Read(r.Context(), s.DB, readEvent(a))
	}
	if a.SponsorEPIC != "" {
		sp, err := s.SponsorOf(r.Context(), s.DB.R(), p.ID)
		if err == nil && sp.EPIC == a.SponsorEPIC {
			return true, s.Audit.Read(r.Context(), s.DB, readEvent(a))
		}
	}
	return false, nil
}

func (s *Service) apiApplication(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.application(r.Context(), s.DB.R(), id)
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	if ok, err := s.mayReadApplication(r, a); err != nil || !ok {
		if err != nil {
			return err
		}
		return web.NotFound()
	}
	v := ApplicationView{Application: a}
	owner := a.ID
	if a.Kind == "extension" {
		owner = a.ParentID
	}
	if v.Permits, err = s.PermitsOf(r.Context(), s.DB.R(), owner); err != nil {
		return err
	}
	if a.DemandID != 0 {
		if rc, err := s.Payments.ReceiptFor(r.Context(), s.DB.R(), a.DemandID); err == nil {
			v.Receipt = rc.Number
		} else if a.Status == StApproved {
			v.FeeDue = payments.Rupees(a.TotalPaise())
		}
	}
	if a.CaseID != 0 {
		if c, err := s.Workflow.Get(r.Context(), s.DB.R(), a.CaseID); err == nil {
			v.Case = &c
		}
	}
	if me(r).ID != a.ApplicantID {
		for i := range v.Permits {
			v.Permits[i].Token = "" // the holder's to show; officers verify by number
		}
	}
	web.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *Service) apiAct(w http.ResponseWriter, r *http.Request, fn func(person, id int64) (Application, error)) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := fn(me(r).ID, id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, a)
	return nil
}

func (s *Service) apiMemberAdd(w http.ResponseWriter, r *http.Request) error {
	var in MemberInput
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	return s.apiAct(w, r, func(person, id int64) (Application, error) { return s.AddMember(r.Context(), person, id, in) })
}

func (s *Service) apiMemberRemove(w http.ResponseWriter, r *http.Request) error {
	mid, err := pathID(r, "member")
	if err != nil {
		return err
	}
	return s.apiAct(w, r, func(person, id int64) (Application, error) { return s.RemoveMember(r.Context(), person, id, mid) })
}

func (s *Service) apiSubmit(w http.ResponseWriter, r *http.Request) error {
	return s.apiAct(w, r, func(person, id int64) (Application, error) { return s.Submit(r.Context(), person, id) })
}

func (s *Service) apiCancel(w http.ResponseWriter, r *http.Request) error {
	return s.apiAct(w, r, func(person, id int64) (Application, error) { return s.Cancel(r.Context(), person, id) })
}

func (s *Service) apiExtend(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.Extend(r.Context(), me(r).ID, id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, a)
	return nil
}

// PayStarted says where to send the payer.
type PayStarted = payments.Started

func (s *Service) apiPay(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	st, err := s.Pay(r.Context(), me(r).ID, id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, st)
	return nil
}

func (s *Service) apiPermit(w http.ResponseWriter, r *http.Request) error {
	p, err := s.viewablePermit(r)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, p)
	return nil
}

// SponsorView is a sponsor's registration and requests.
type SponsorView struct {
	Sponsor  *Sponsor      `json:"sponsor"`
	Requests []Application `json:"requests"`
}

func (s *Service) apiSponsor(w http.ResponseWriter, r *http.Request) error {
	v := SponsorView{Requests: []Application{}}
	sp, err := s.SponsorOf(r.Context(), s.DB.R(), me(r).ID)
	switch {
	case err == nil:
		v.Sponsor = &sp
		reqs, err := s.SponsorRequests(r.Context(), me(r).ID)
		if err != nil {
			return err
		}
		if reqs != nil {
			v.Requests = reqs
		}
	case !errors.Is(err, db.ErrNotFound):
		return err
	}
	web.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *Service) apiSponsorRegister(w http.ResponseWriter, r *http.Request) error {
	var in SponsorInput
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	sp, err := s.RegisterSponsor(r.Context(), me(r).ID, in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, sp)
	return nil
}

func (s *Service) apiSponsorConfirm(w http.ResponseWriter, r *http.Request) error {
	return s.apiAct(w, r, func(person, id int64) (Application, error) { return s.ConfirmSponsorship(r.Context(), person, id) })
}

func (s *Service) apiSponsorDecline(w http.ResponseWriter, r *http.Request) error {
	return s.apiAct(w, r, func(person, id int64) (Application, error) { return s.DeclineSponsorship(r.Context(), person, id) })
}

func (s *Service) apiGateVerify(w http.ResponseWriter, r *http.Request) error {
	var in GateCheck
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	if (in.Token == "") == (in.Number == "") || len(in.Token) > 4096 || len(in.Number) > 64 {
		f := &web.Fields{}
		f.Add("token", "permits.gate_code_required")
		return f.Err()
	}
	res, _, err := s.Check(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (s *Service) apiGateEvents(w http.ResponseWriter, r *http.Request) error {
	var in GateEvents
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	out, err := s.Record(r.Context(), me(r), in.Events)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, GateEventsResult{Results: out})
	return nil
}

func (s *Service) apiRules(w http.ResponseWriter, r *http.Request) error {
	list, err := s.TypeHistory(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, list)
	return nil
}

func (s *Service) apiRulesChange(w http.ResponseWriter, r *http.Request) error {
	var in RuleChange
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.ChangeRules(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, t)
	return nil
}

// --- Rules page ----------------------------------------------------------------

type rulesData struct {
	web.Form
	History     []typeView
	PurposeOpts []opt
	Today       string
	Done        bool
}

var ruleFields = []string{"code", "name", "name_lus", "validity_days", "fee", "sponsor_required", "gst_required", "max_extensions",
	"extension_fee", "renew_min_days", "effective_from"}

func (s *Service) renderRules(w http.ResponseWriter, r *http.Request, status int, f *web.Form) error {
	list, err := s.TypeHistory(r.Context())
	if err != nil {
		return err
	}
	d := &rulesData{PurposeOpts: s.opts(web.LangOf(r), "permits.purpose_", Purposes), Today: dayStart(s.now()).Format("2006-01-02"), Done: r.URL.Query().Get("done") == "1"}
	for _, t := range list {
		d.History = append(d.History, typeView{PermitType: t, Label: t.Label(web.LangOf(r)), Fee: payments.Rupees(t.FeePaise),
			ExtFee: payments.Rupees(t.ExtensionFeePaise)})
	}
	if f == nil {
		f = &web.Form{Values: map[string]string{"effective_from": d.Today}}
	}
	d.Form = *f
	return s.Render.Page(w, r, status, "permits/rules.html", d)
}

func (s *Service) rulesPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderRules(w, r, http.StatusOK, nil)
}

// rupeesToPaise reads "150" or "150.50".
func rupeesToPaise(v string) (int64, bool) {
	v = strings.TrimSpace(strings.ReplaceAll(v, ",", ""))
	whole, frac, _ := strings.Cut(v, ".")
	r, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || r < 0 || len(frac) > 2 {
		return 0, false
	}
	p := int64(0)
	if frac != "" {
		if len(frac) == 1 {
			frac += "0"
		}
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, false
		}
		p = n
	}
	return r*100 + p, true
}

func (s *Service) rulesPost(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, ruleFields...)
	v := f.Values
	atoi := func(k string) int {
		n, err := strconv.Atoi(v[k])
		if err != nil {
			return -1
		}
		return n
	}
	fee, ok1 := rupeesToPaise(v["fee"])
	ext, ok2 := rupeesToPaise(v["extension_fee"])
	if !ok1 {
		fee = -1
	}
	if !ok2 {
		ext = -1
	}
	in := RuleChange{Code: v["code"], Name: v["name"], NameLus: v["name_lus"], ValidityDays: atoi("validity_days"), FeePaise: fee,
		SponsorRequired: v["sponsor_required"] == "1", GSTRequired: v["gst_required"] == "1", Purposes: r.PostForm["purposes"],
		MaxExtensions: atoi("max_extensions"), ExtensionFeePaise: ext, RenewMinDays: atoi("renew_min_days"), EffectiveFrom: v["effective_from"]}
	if _, err := s.ChangeRules(r.Context(), in); err != nil {
		if err := f.Refused(err, "code"); err != nil {
			return err
		}
		return s.renderRules(w, r, http.StatusUnprocessableEntity, f)
	}
	http.Redirect(w, r, "/permits/rules?done=1", http.StatusSeeOther)
	return nil
}

func readEvent(a Application) auditEvent {
	return auditEvent{Action: "permits.application_read", ObjectType: "permit_application", ObjectID: a.Number, SubjectID: a.ApplicantID}
}
