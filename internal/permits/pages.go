package permits

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/docs"
	"mizogov/internal/idem"
	"mizogov/internal/payments"
	"mizogov/internal/web"
)

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, web.NotFound()
	}
	return id, nil
}

func me(r *http.Request) *auth.Principal { return auth.PrincipalOf(r) }

// once runs fn in one transaction with the request's idempotency key (the
// Idempotency-Key header or the form's hidden field): a repeat gets the
// first answer again and changes nothing.
//
// The work goes to the group-commit writer (db.Group): fn must use the ctx
// it is given, never the request's, whose end would interrupt a statement
// and so roll back the whole shared transaction. A repeat of a committed
// request is answered from a reader without taking the writer; a twin in
// the same batch finds the first's key in the shared transaction.
func (s *Service) once(w http.ResponseWriter, r *http.Request, body []byte, fn func(ctx context.Context, tx *db.Tx) (idem.Response, error)) error {
	k, has, err := idem.FromRequest(r, body)
	if err != nil {
		return err
	}
	var resp idem.Response
	var replay *idem.Response
	if has {
		if replay, err = idem.Lookup(r.Context(), s.DB.R(), k); err != nil {
			return err
		}
	}
	if replay == nil {
		err = s.DB.Group().Do(r.Context(), func(ctx context.Context, tx *db.Tx) error {
			replay = nil
			if has {
				var err error
				if replay, err = idem.Lookup(ctx, tx, k); err != nil || replay != nil {
					return err
				}
			}
			var err error
			if resp, err = fn(ctx, tx); err != nil {
				return err
			}
			if has {
				return idem.Save(ctx, tx, k, resp, s.now())
			}
			return nil
		})
	}
	if err != nil {
		return err
	}
	if replay != nil {
		resp = *replay
	}
	if resp.ContentType == "redirect" {
		http.Redirect(w, r, string(resp.Body), resp.Status)
		return nil
	}
	if replay != nil {
		idem.Replay(w, &resp)
		return nil
	}
	// The first answer: not marked as a replay.
	w.Header().Set("Content-Type", resp.ContentType)
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
	return nil
}

// --- Home ------------------------------------------------------------------

type homeData struct {
	Types                                                       []typeView
	Mine                                                        []appView
	Signed, CanApply, CanProcess, CanGate, CanReports, CanRules bool
}

type typeView struct {
	PermitType
	Label, Fee, ExtFee string
}

type appView struct {
	Application
	TypeLabel, Entry, StatusMsg, Total string
}

func (s *Service) typeViews(ctx context.Context, lang string) ([]typeView, error) {
	types, err := s.TypesAt(ctx, s.DB.R(), s.now())
	if err != nil {
		return nil, err
	}
	out := make([]typeView, len(types))
	for i, t := range types {
		out[i] = typeView{PermitType: t, Label: t.Label(lang), Fee: payments.Rupees(t.FeePaise), ExtFee: payments.Rupees(t.ExtensionFeePaise)}
	}
	return out, nil
}

func viewApp(a Application, lang string) appView {
	e, _ := EntryPointByCode(a.EntryPoint)
	return appView{Application: a, TypeLabel: a.TypeCode, Entry: e.Label(lang), StatusMsg: "permits.status_" + a.Status,
		Total: payments.Rupees(a.TotalPaise())}
}

func (s *Service) home(w http.ResponseWriter, r *http.Request) error {
	lang := web.LangOf(r)
	d := homeData{}
	var err error
	if d.Types, err = s.typeViews(r.Context(), lang); err != nil {
		return err
	}
	if p := me(r); p != nil {
		d.Signed = true
		d.CanApply, d.CanProcess, d.CanGate, d.CanReports, d.CanRules = p.Can(PermApply), p.Can(PermProcess), p.Can(PermGate), p.Can(PermReports), p.Can(PermRules)
		if d.CanApply {
			apps, err := s.ApplicationsOf(r.Context(), p.ID)
			if err != nil {
				return err
			}
			for _, a := range apps {
				d.Mine = append(d.Mine, viewApp(a, lang))
			}
		}
	}
	return s.Render.Page(w, r, http.StatusOK, "permits/home.html", d)
}

// --- Apply -----------------------------------------------------------------

type applyData struct {
	web.Form
	Types                              []typeView
	EntryOpts, PurposeOpts, GenderOpts []opt
	IDTypeOpts                         []opt
	Min, Max                           string // entry date bounds
}

// opt is one choice of a select or radio group.
type opt struct{ Value, Label string }

// opts translates codes with keys prefix+code.
func (s *Service) opts(lang, prefix string, codes []string) []opt {
	out := make([]opt, len(codes))
	for i, c := range codes {
		out[i] = opt{c, s.Render.Cat.T(lang, prefix+c)}
	}
	return out
}

func entryOpts(lang string, gatesOnly bool) []opt {
	var out []opt
	for _, e := range EntryPoints {
		if !gatesOnly || e.Gate {
			out = append(out, opt{e.Code, e.Label(lang)})
		}
	}
	return out
}

var genders = []string{"f", "m", "x"}

var applyFields = []string{"type", "purpose", "places", "entry_point", "entry_date", "local_contact", "sponsor_epic", "gst_number",
	"name", "gender", "birth_date", "phone", "address", "id_type", "id_number", idem.FormField}

func (s *Service) applyData(r *http.Request, f *web.Form) (*applyData, error) {
	lang := web.LangOf(r)
	types, err := s.typeViews(r.Context(), lang)
	if err != nil {
		return nil, err
	}
	today := dayStart(s.now())
	d := &applyData{Types: types, EntryOpts: entryOpts(lang, false), PurposeOpts: s.opts(lang, "permits.purpose_", Purposes),
		GenderOpts: s.opts(lang, "permits.gender_", genders), IDTypeOpts: s.opts(lang, "permits.idtype_", IDTypes),
		Min: today.Format("2006-01-02"), Max: today.AddDate(0, 0, MaxAheadDays).Format("2006-01-02")}
	if f == nil {
		f = &web.Form{Values: map[string]string{idem.FormField: idem.NewFormKey(), "entry_date": d.Min}}
		if p := me(r); p != nil {
			f.Values["name"] = p.Name
			f.Values["phone"] = p.Phone
		}
	}
	d.Form = *f
	return d, nil
}

func (s *Service) applyPage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.applyData(r, nil)
	if err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "permits/apply.html", d)
}

func memberFromForm(v map[string]string) MemberInput {
	return MemberInput{Name: v["name"], Gender: v["gender"], BirthDate: v["birth_date"], Phone: v["phone"], Address: v["address"],
		IDType: v["id_type"], IDNumber: v["id_number"]}
}

func (s *Service) applyPost(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, applyFields...)
	v := f.Values
	in := ApplyInput{Type: v["type"], Purpose: v["purpose"], Places: v["places"], EntryPoint: v["entry_point"], EntryDate: v["entry_date"],
		LocalContact: v["local_contact"], SponsorEPIC: v["sponsor_epic"], GSTNumber: v["gst_number"], Members: []MemberInput{memberFromForm(v)}}
	err := s.once(w, r, []byte(r.PostForm.Encode()), func(ctx context.Context, tx *db.Tx) (idem.Response, error) {
		a, err := s.applyTx(ctx, tx, me(r).ID, in)
		if err != nil {
			return idem.Response{}, err
		}
		return idem.Response{Status: http.StatusSeeOther, ContentType: "redirect", Body: []byte(fmt.Sprintf("/permits/applications/%d?done=draft", a.ID))}, nil
	})
	if err == nil {
		return nil
	}
	if err := f.Refused(err, "type"); err != nil {
		return err
	}
	d, derr := s.applyData(r, f)
	if derr != nil {
		return derr
	}
	return s.Render.Page(w, r, http.StatusUnprocessableEntity, "permits/apply.html", d)
}

// --- One application -------------------------------------------------------

type applicationData struct {
	web.Form
	App        appView
	Type       PermitType
	Members    []memberView
	Permits    []permitView
	Receipt    string
	Done       string
	Payment    string
	TestPay    bool
	Extensions []appView
	Parent     string
	GenderOpts []opt
	IDTypeOpts []opt
}

type memberView struct {
	Member
	Age int
}

type permitView struct {
	Permit
	StateMsg string
}

func age(b, now time.Time) int {
	y := now.Year() - b.Year()
	if now.YearDay() < b.YearDay() {
		y--
	}
	return y
}

func (s *Service) renderApplication(w http.ResponseWriter, r *http.Request, status int, id int64, f *web.Form) error {
	ctx := r.Context()
	a, err := s.application(ctx, s.DB.R(), id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && a.ApplicantID != me(r).ID) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	lang := web.LangOf(r)
	now := s.now()
	d := &applicationData{App: viewApp(a, lang), Done: r.URL.Query().Get("done"), Payment: r.URL.Query().Get("payment"),
		GenderOpts: s.opts(lang, "permits.gender_", genders), IDTypeOpts: s.opts(lang, "permits.idtype_", IDTypes)}
	if d.Done != "" && !s.Render.Cat.Has("permits.done_"+d.Done) {
		d.Done = ""
	}
	if d.Payment != payments.Success && d.Payment != payments.Failed {
		d.Payment = ""
	}
	if t, err := s.TypeByID(ctx, s.DB.R(), a.TypeID); err == nil {
		d.Type = t
		d.App.TypeLabel = t.Label(lang)
	}
	for _, m := range a.Members {
		d.Members = append(d.Members, memberView{Member: m, Age: age(m.BirthDate, now)})
	}
	owner := a.ID
	if a.Kind == "extension" {
		owner = a.ParentID
		if p, err := s.application(ctx, s.DB.R(), a.ParentID); err == nil {
			d.Parent = p.Number
		}
	}
	if a.Status == StIssued || a.Kind == "new" {
		list, err := s.PermitsOf(ctx, s.DB.R(), owner)
		if err != nil {
			return err
		}
		for _, p := range list {
			d.Permits = append(d.Permits, permitView{Permit: p, StateMsg: "permits.state_" + p.State(now)})
		}
	}
	if a.DemandID != 0 {
		if rc, err := s.Payments.ReceiptFor(ctx, s.DB.R(), a.DemandID); err == nil {
			d.Receipt = rc.Number
		}
	}
	if g := s.Payments.Gateway(); g != nil {
		d.TestPay = g.Test()
	}
	if a.Kind == "new" {
		rows, err := s.DB.R().QueryContext(ctx, `SELECT `+appCols+` FROM permit_applications WHERE parent_id = $1 ORDER BY id`, a.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			e, err := scanApp(rows)
			if err != nil {
				rows.Close()
				return err
			}
			d.Extensions = append(d.Extensions, viewApp(e, lang))
		}
		rows.Close()
	}
	if f == nil {
		f = &web.Form{Values: map[string]string{}}
	}
	d.Form = *f
	return s.Render.Page(w, r, status, "permits/application.html", d)
}

func (s *Service) applicationPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderApplication(w, r, http.StatusOK, id, nil)
}

// act runs a change on an application from its page and redirects back with
// a notice, or shows the page again with the refusal.
func (s *Service) act(w http.ResponseWriter, r *http.Request, done string, fn func(ctx context.Context, person, id int64) error) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := web.NewForm(r, "name", "gender", "birth_date", "phone", "address", "id_type", "id_number")
	if err := fn(r.Context(), me(r).ID, id); err != nil {
		if err := f.Refused(err, "action"); err != nil {
			return err
		}
		return s.renderApplication(w, r, http.StatusUnprocessableEntity, id, f)
	}
	http.Redirect(w, r, fmt.Sprintf("/permits/applications/%d?done=%s", id, done), http.StatusSeeOther)
	return nil
}

func (s *Service) memberAddPost(w http.ResponseWriter, r *http.Request) error {
	return s.act(w, r, "member_added", func(ctx context.Context, person, id int64) error {
		v := web.NewForm(r, "name", "gender", "birth_date", "phone", "address", "id_type", "id_number").Values
		_, err := s.AddMember(ctx, person, id, memberFromForm(v))
		return err
	})
}

func (s *Service) memberRemovePost(w http.ResponseWriter, r *http.Request) error {
	mid, err := pathID(r, "member")
	if err != nil {
		return err
	}
	return s.act(w, r, "member_removed", func(ctx context.Context, person, id int64) error {
		_, err := s.RemoveMember(ctx, person, id, mid)
		return err
	})
}

func (s *Service) submitPost(w http.ResponseWriter, r *http.Request) error {
	return s.act(w, r, "submitted", func(ctx context.Context, person, id int64) error {
		_, err := s.Submit(ctx, person, id)
		return err
	})
}

func (s *Service) cancelPost(w http.ResponseWriter, r *http.Request) error {
	return s.act(w, r, "cancelled", func(ctx context.Context, person, id int64) error {
		_, err := s.Cancel(ctx, person, id)
		return err
	})
}

func (s *Service) extendPost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.Extend(r.Context(), me(r).ID, id)
	if err != nil {
		f := &web.Form{Values: map[string]string{}}
		if err := f.Refused(err, "action"); err != nil {
			return err
		}
		return s.renderApplication(w, r, http.StatusUnprocessableEntity, id, f)
	}
	http.Redirect(w, r, fmt.Sprintf("/permits/applications/%d?done=extension", a.ID), http.StatusSeeOther)
	return nil
}

func (s *Service) payPost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	st, err := s.Pay(r.Context(), me(r).ID, id)
	if err != nil {
		f := &web.Form{Values: map[string]string{}}
		if err := f.Refused(err, "action"); err != nil {
			return err
		}
		return s.renderApplication(w, r, http.StatusUnprocessableEntity, id, f)
	}
	http.Redirect(w, r, st.RedirectURL, http.StatusSeeOther)
	return nil
}

// --- Issued permit as a document --------------------------------------------

func (s *Service) viewablePermit(r *http.Request) (Permit, error) {
	p, err := s.PermitByNumber(r.Context(), s.DB.R(), r.PathValue("number"))
	if errors.Is(err, db.ErrNotFound) || (err == nil && !s.mayView(r.Context(), me(r), p)) {
		return p, web.NotFound()
	}
	if err != nil {
		return p, err
	}
	if me(r).ID != p.HolderID {
		// An officer or police read someone's permit: it goes on their "My data".
		if err := s.Audit.Read(r.Context(), s.DB, auditRead(p)); err != nil {
			return p, err
		}
	}
	return p, nil
}

// documentPage builds the printable page (and the PDF) of a permit.
func (s *Service) documentPage(r *http.Request, p Permit) docs.Page {
	lang := web.LangOf(r)
	T := func(k string, a ...any) string { return s.Render.Cat.T(lang, k, a...) }
	typ := p.TypeCode
	if t, err := s.TypeAt(r.Context(), s.DB.R(), p.TypeCode, p.IssuedAt); err == nil {
		typ = t.Label(lang)
	}
	e, _ := EntryPointByCode(p.EntryPoint)
	date := func(t time.Time) string { return t.In(ist).Format("02-01-2006") }
	last := p.ValidTo.Add(-time.Second)
	page := docs.Page{
		Authority: T("permits.doc_authority"), Title: T("permits.doc_title"), Number: p.Number,
		Status: strings.ToUpper(T("permits.state_" + p.State(s.now()))),
		Rows: []docs.Row{
			{Label: T("permits.doc_holder"), Value: p.HolderName},
			{Label: T("permits.doc_id"), Value: p.IDMasked},
			{Label: T("permits.doc_type"), Value: typ},
			{Label: T("permits.doc_valid_from"), Value: date(p.ValidFrom)},
			{Label: T("permits.doc_valid_to"), Value: date(last)},
			{Label: T("permits.doc_entry"), Value: e.Label(lang)},
			{Label: T("permits.doc_issued"), Value: p.IssuedAt.In(ist).Format("02-01-2006 15:04")},
		},
		Notes: []string{T("permits.doc_note_police"), T("permits.doc_note_carry"), T("permits.doc_note_exit"), T("permits.doc_note_laminate")},
		QR:    p.Token, QRURL: "/permits/p/" + p.Number + "/qr.png", QRLabel: T("permits.doc_qr"),
		Footer: T("permits.doc_footer"),
		PDFURL: "/permits/p/" + p.Number + "/permit.pdf", PDFLabel: T("permits.doc_pdf"), Print: T("permits.doc_print"),
		PhotoAlt: T("permits.doc_photo", "name", p.HolderName),
		Back:     fmt.Sprintf("/permits/applications/%d", p.ApplicationID), BackText: T("permits.back_application"),
	}
	if p.Extensions > 0 {
		page.Rows = append(page.Rows, docs.Row{Label: T("permits.doc_extensions"), Value: strconv.Itoa(p.Extensions)})
	}
	if id := s.photoFile(r.Context(), p); id != 0 {
		// Police see it through the gate; the holder and the office as the upload.
		page.PhotoURL = fmt.Sprintf("/permits/files/%d", id)
		if v := me(r); v.ID != p.HolderID && v.Can(PermGate) && !v.CanIn(PermProcess, s.homeDept(r.Context()), p.DistrictID) {
			page.PhotoURL = "/permits/gate/photo/" + p.Number
		}
	}
	return page
}

func (s *Service) permitPage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.viewablePermit(r)
	if err != nil {
		return err
	}
	page := s.documentPage(r, p)
	if me(r).ID != p.HolderID {
		page.Back, page.BackText = "", ""
	}
	return s.Render.Page(w, r, http.StatusOK, "docs/document.html", page)
}

func (s *Service) permitQR(w http.ResponseWriter, r *http.Request) error {
	p, err := s.PermitByNumber(r.Context(), s.DB.R(), r.PathValue("number"))
	if errors.Is(err, db.ErrNotFound) || (err == nil && !s.mayView(r.Context(), me(r), p)) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	b, err := docs.QRPNG(p.Token, 6)
	if err != nil {
		return err
	}
	return docs.WritePNG(w, b)
}

func (s *Service) permitPDF(w http.ResponseWriter, r *http.Request) error {
	p, err := s.viewablePermit(r)
	if err != nil {
		return err
	}
	page := s.documentPage(r, p)
	if photo, ctype, err := s.photo(r.Context(), p); err == nil && len(photo) > 0 {
		page.Photo, page.PhotoType = photo, ctype
	}
	b, err := docs.PDF(page)
	if err != nil {
		return err
	}
	return docs.WritePDF(w, p.Number+".pdf", b)
}

// photoFile is the id of the holder's photo, or 0.
func (s *Service) photoFile(ctx context.Context, p Permit) int64 {
	var id int64
	if err := s.DB.R().QueryRowContext(ctx, `SELECT COALESCE(photo_file_id, 0) FROM permit_members WHERE id = $1`, p.MemberID).Scan(&id); err != nil {
		return 0
	}
	return id
}

// photo returns the holder's photo, when one was uploaded.
func (s *Service) photo(ctx context.Context, p Permit) ([]byte, string, error) {
	id := s.photoFile(ctx, p)
	if id == 0 {
		return nil, "", db.ErrNotFound
	}
	f, err := s.Files.Get(ctx, s.DB.R(), id)
	if err != nil {
		return nil, "", err
	}
	rc, err := s.Files.Blobs.Open(ctx, f.SHA256)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, f.Type, err
}

func (s *Service) gatePhoto(w http.ResponseWriter, r *http.Request) error {
	p, err := s.PermitByNumber(r.Context(), s.DB.R(), r.PathValue("number"))
	if errors.Is(err, db.ErrNotFound) || (err == nil && !s.mayView(r.Context(), me(r), p)) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	b, ctype, err := s.photo(r.Context(), p)
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, err = io.Copy(w, bytes.NewReader(b))
	return err
}

// --- Sponsors ----------------------------------------------------------------

type sponsorData struct {
	web.Form
	Sponsor    *Sponsor
	Requests   []appView
	Districts  []opt
	Cap        int
	Done       string
	Registered bool
}

func (s *Service) districtOptions(ctx context.Context) ([]opt, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT id, name FROM districts ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []opt
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out = append(out, opt{strconv.FormatInt(id, 10), name})
	}
	return out, rows.Err()
}

func (s *Service) renderSponsor(w http.ResponseWriter, r *http.Request, status int, f *web.Form) error {
	ctx := r.Context()
	d := &sponsorData{Cap: SponsorCap, Done: r.URL.Query().Get("done")}
	if d.Done != "" && !s.Render.Cat.Has("permits.done_"+d.Done) {
		d.Done = ""
	}
	var err error
	if d.Districts, err = s.districtOptions(ctx); err != nil {
		return err
	}
	sp, err := s.SponsorOf(ctx, s.DB.R(), me(r).ID)
	switch {
	case err == nil:
		d.Sponsor, d.Registered = &sp, true
		reqs, err := s.SponsorRequests(ctx, me(r).ID)
		if err != nil {
			return err
		}
		for _, a := range reqs {
			d.Requests = append(d.Requests, viewApp(a, web.LangOf(r)))
		}
		if f == nil {
			f = &web.Form{Values: map[string]string{"epic": sp.EPIC, "name": sp.Name, "locality": sp.Locality, "district_id": strconv.FormatInt(sp.DistrictID, 10)}}
		}
	case !errors.Is(err, db.ErrNotFound):
		return err
	}
	if f == nil {
		f = &web.Form{Values: map[string]string{"name": me(r).Name}}
	}
	d.Form = *f
	return s.Render.Page(w, r, status, "permits/sponsor.html", d)
}

func (s *Service) sponsorPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderSponsor(w, r, http.StatusOK, nil)
}

func (s *Service) sponsorPost(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "epic", "name", "locality", "district_id")
	district, _ := strconv.ParseInt(f.Values["district_id"], 10, 64)
	_, err := s.RegisterSponsor(r.Context(), me(r).ID, SponsorInput{EPIC: f.Values["epic"], Name: f.Values["name"],
		Locality: f.Values["locality"], DistrictID: district})
	if err != nil {
		if err := f.Refused(err, "epic"); err != nil {
			return err
		}
		return s.renderSponsor(w, r, http.StatusUnprocessableEntity, f)
	}
	http.Redirect(w, r, "/permits/sponsor?done=sponsor_saved", http.StatusSeeOther)
	return nil
}

func (s *Service) sponsorAct(w http.ResponseWriter, r *http.Request, done string, fn func(ctx context.Context, person, id int64) (Application, error)) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := fn(r.Context(), me(r).ID, id); err != nil {
		f := &web.Form{Values: map[string]string{}}
		if err := f.Refused(err, "requests"); err != nil {
			return err
		}
		return s.renderSponsor(w, r, http.StatusConflict, f)
	}
	http.Redirect(w, r, "/permits/sponsor?done="+url.QueryEscape(done), http.StatusSeeOther)
	return nil
}

func (s *Service) sponsorConfirmPost(w http.ResponseWriter, r *http.Request) error {
	return s.sponsorAct(w, r, "sponsor_confirmed", s.ConfirmSponsorship)
}

func (s *Service) sponsorDeclinePost(w http.ResponseWriter, r *http.Request) error {
	return s.sponsorAct(w, r, "sponsor_declined", s.DeclineSponsorship)
}
