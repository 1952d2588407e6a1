package payments

import (
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/docs"
	"mizogov/internal/web"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed i18n/*.json
var messagesFS embed.FS

// Templates are the payments pages.
func Templates() fs.FS { sub, _ := fs.Sub(templatesFS, "templates"); return sub }

// Messages are the payments messages.
func Messages() fs.FS { sub, _ := fs.Sub(messagesFS, "i18n"); return sub }

// PermRead lets staff read any demand, payment and receipt.
const PermRead = "payments.read"

// Routes lists the payments routes.
func (s *Service) Routes() []web.Route {
	return []web.Route{
		{Pattern: "GET /pay/test-gateway/{order}", Perm: web.Public, Handler: s.testGatewayPage},
		{Pattern: "POST /pay/test-gateway/{order}", Perm: web.Public, Handler: s.testGatewayComplete},
		{Pattern: "GET /pay/callback/{gateway}", Perm: web.Public, Handler: s.callbackReturn},
		{Pattern: "GET /pay/receipts/{number}", Perm: web.SignedIn, Handler: s.receiptPage},

		{Pattern: "POST /api/v1/payments/callback/{gateway}", Perm: web.Public, Handler: s.apiCallback, API: &web.APIDoc{Tag: "payments",
			Summary: "Server-to-server callback from a gateway (form-encoded, signed by the gateway)", Response: CallbackResponse{}}},
		{Pattern: "GET /api/v1/payments/demands/{id}", Perm: web.SignedIn, Handler: s.apiDemand, API: &web.APIDoc{Tag: "payments",
			Summary: "A demand with its lines, payment attempts and receipt (payer or payments staff)", Response: DemandView{}}},
		{Pattern: "POST /api/v1/payments/demands/{id}/pay", Perm: web.SignedIn, Handler: s.apiPay, API: &web.APIDoc{Tag: "payments",
			Summary: "Start paying a demand: returns the gateway URL to send the payer to", Request: PayRequest{}, Response: Started{}, Status: http.StatusCreated}},
		{Pattern: "GET /api/v1/payments/receipts/{number}", Perm: web.SignedIn, Handler: s.apiReceipt, API: &web.APIDoc{Tag: "payments",
			Summary: "A receipt (payer or payments staff)", Response: Receipt{}}},
	}
}

type gatewayPage struct {
	Order  testOrder
	Amount string
}

func (s *Service) testGateway() (*TestGateway, error) {
	g, ok := s.Gateways["test"].(*TestGateway)
	if !ok {
		return nil, web.NotFound()
	}
	return g, nil
}

func (s *Service) testGatewayPage(w http.ResponseWriter, r *http.Request) error {
	g, err := s.testGateway()
	if err != nil {
		return err
	}
	o, err := g.order(r.Context(), r.PathValue("order"))
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.Render.Page(w, r, http.StatusOK, "payments/test_gateway.html", gatewayPage{Order: o, Amount: Rupees(o.AmountPaise)})
}

func (s *Service) testGatewayComplete(w http.ResponseWriter, r *http.Request) error {
	g, err := s.testGateway()
	if err != nil {
		return err
	}
	outcome := r.PostFormValue("outcome")
	if outcome != "paid" && outcome != "failed" {
		return web.BadRequest("payments.test_outcome")
	}
	to, err := g.Complete(r.Context(), r.PathValue("order"), outcome == "paid")
	if err != nil {
		return err
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// callbackReturn is where the gateway sends the payer back: the callback
// rides in the query string, signed.
func (s *Service) callbackReturn(w http.ResponseWriter, r *http.Request) error {
	res, err := s.HandleCallback(r.Context(), r.PathValue("gateway"), r.URL.Query())
	if err != nil {
		return err
	}
	http.Redirect(w, r, returnTo(res), http.StatusSeeOther)
	return nil
}

func returnTo(res Settled) string {
	q := url.Values{"payment": {res.Payment.Status}}
	if res.Receipt != nil {
		q.Set("receipt", res.Receipt.Number)
	}
	sep := "?"
	if strings.Contains(res.Payment.ReturnURL, "?") {
		sep = "&"
	}
	return res.Payment.ReturnURL + sep + q.Encode()
}

// CallbackResponse acknowledges a gateway's callback.
type CallbackResponse struct {
	TxnID   string `json:"txn_id"`
	Status  string `json:"status" enum:"pending,success,failed"`
	Receipt string `json:"receipt,omitempty"`
}

func (s *Service) apiCallback(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return web.BadRequest("payments.callback_malformed")
	}
	res, err := s.HandleCallback(r.Context(), r.PathValue("gateway"), r.PostForm)
	if err != nil {
		return err
	}
	out := CallbackResponse{TxnID: res.Payment.TxnID, Status: res.Payment.Status}
	if res.Receipt != nil {
		out.Receipt = res.Receipt.Number
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// mayRead reports whether the signed-in person may see a demand.
func mayRead(r *http.Request, d Demand) bool {
	p := auth.PrincipalOf(r)
	return p != nil && (d.PayerID == p.ID || p.Can(PermRead))
}

// DemandView is a demand with its payments and receipt.
type DemandView struct {
	Demand   Demand    `json:"demand"`
	Payments []Payment `json:"payments"`
	Receipt  *Receipt  `json:"receipt,omitempty"`
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, web.NotFound()
	}
	return id, nil
}

func (s *Service) apiDemand(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.demand(r.Context(), s.DB.R(), id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !mayRead(r, d)) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	v := DemandView{Demand: d}
	if v.Payments, err = s.Payments(r.Context(), d.ID); err != nil {
		return err
	}
	if v.Payments == nil {
		v.Payments = []Payment{}
	}
	if rc, err := s.ReceiptFor(r.Context(), s.DB.R(), d.ID); err == nil {
		v.Receipt = &rc
	}
	web.WriteJSON(w, http.StatusOK, v)
	return nil
}

// PayRequest starts a payment.
type PayRequest struct {
	ReturnPath string `json:"return_path" doc:"a path on this site where the payer lands after paying, e.g. /permits/12"`
}

func (s *Service) apiPay(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req PayRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.ReturnPath == "" {
		req.ReturnPath = "/"
	}
	st, err := s.Start(r.Context(), id, auth.PrincipalOf(r).ID, req.ReturnPath)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, st)
	return nil
}

func (s *Service) readableReceipt(r *http.Request) (Receipt, Demand, error) {
	rc, err := s.Receipt(r.Context(), r.PathValue("number"))
	if errors.Is(err, db.ErrNotFound) {
		return rc, Demand{}, web.NotFound()
	}
	if err != nil {
		return rc, Demand{}, err
	}
	d, err := s.demand(r.Context(), s.DB.R(), rc.DemandID)
	if err != nil {
		return rc, d, err
	}
	if !mayRead(r, d) {
		return rc, d, web.NotFound()
	}
	return rc, d, nil
}

func (s *Service) apiReceipt(w http.ResponseWriter, r *http.Request) error {
	rc, _, err := s.readableReceipt(r)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, rc)
	return nil
}

func (s *Service) receiptPage(w http.ResponseWriter, r *http.Request) error {
	rc, d, err := s.readableReceipt(r)
	if err != nil {
		return err
	}
	T := func(k string, a ...any) string { return s.Render.Cat.T(web.LangOf(r), k, a...) }
	rows := []docs.Row{
		{Label: T("payments.receipt_payer"), Value: d.PayerName},
		{Label: T("payments.receipt_for"), Value: d.Description},
	}
	for _, l := range d.Lines {
		rows = append(rows, docs.Row{Label: l.Head, Value: Rupees(l.AmountPaise)})
	}
	rows = append(rows,
		docs.Row{Label: T("payments.receipt_total"), Value: Rupees(rc.AmountPaise)},
		docs.Row{Label: T("payments.receipt_date"), Value: rc.IssuedAt.In(web.IST).Format("02-01-2006 15:04")},
		docs.Row{Label: T("payments.receipt_txn"), Value: rc.TxnID},
		docs.Row{Label: T("payments.receipt_ref"), Value: d.ConsumerCode})
	page := docs.Page{Authority: T("payments.authority"), Title: T("payments.receipt_title"), Number: rc.Number,
		Status: T("payments.receipt_paid"), Rows: rows, Print: T("payments.print")}
	if g := s.Gateways[rc.Gateway]; g != nil && g.Test() {
		page.Notes = []string{T("payments.test_receipt")}
	}
	return s.Render.Page(w, r, http.StatusOK, "docs/document.html", page)
}
