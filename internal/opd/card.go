package opd

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/docs"
	"mizogov/internal/refno"
	"mizogov/internal/web"
)

// The OPD card: a printable page with the booking's details and a QR code
// holding a document signed by the docs package (EdDSA compact JWS): the
// reference number as its subject, and the UHID, token, day, hospital,
// department and the patient's initials. The counter's scanner reads it to
// check the patient in; a phone camera opens the verification page, which
// checks the signature, the documents register (a cancelled booking's card
// is revoked) and the booking's status.

// CardType is the document type of OPD cards in the register.
const CardType = "OPD"

// CardClaims is what the OPD card states besides its reference number.
type CardClaims struct {
	Refno      string `json:"sub"`
	UHID       string `json:"uhid"`
	Token      int    `json:"tok"`
	Day        string `json:"day"`
	Hospital   string `json:"hosp"`
	Department string `json:"dept"`
	Patient    string `json:"pat"`
	Type       string `json:"dtp"`
	JTI        string `json:"jti"`
}

// Date is the card's day as 28-11-2026.
func (c CardClaims) Date() string { return dayShown(c.Day) }

// Initials shortens a name for the card's signed statement: the QR code
// carries no full name.
func Initials(name string) string {
	var b strings.Builder
	for _, w := range strings.Fields(name) {
		r := []rune(w)
		b.WriteRune(r[0])
		b.WriteByte('.')
	}
	return b.String()
}

// Card returns the booking's signed card, issuing it on first use.
func (s *Service) Card(ctx context.Context, b Booking) (string, error) {
	var token sql.NullString
	if err := s.DB.R().QueryRowContext(ctx, `SELECT card_token FROM opd_bookings WHERE id = $1`, b.ID).Scan(&token); err != nil {
		return "", err
	}
	if token.Valid {
		return token.String, nil
	}
	h, err := s.Hospital(ctx, b.HospitalID)
	if err != nil {
		return "", err
	}
	d, err := s.Department(ctx, b.DepartmentID)
	if err != nil {
		return "", err
	}
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		// Another view may have issued it meanwhile: keep the first.
		if err := tx.QueryRowContext(ctx, `SELECT card_token FROM opd_bookings WHERE id = $1`, b.ID).Scan(&token); err != nil || token.Valid {
			return err
		}
		doc, err := s.Docs.Issue(ctx, tx, docs.Doc{Type: CardType, Number: b.Refno, SubjectID: b.AccountID, Expires: b.EndsAt.AddDate(0, 0, 1),
			Claims: map[string]any{"uhid": b.UHID, "tok": b.Token, "day": b.Day, "hosp": h.Code, "dept": d.Code, "pat": Initials(b.PatientName)}})
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE opd_bookings SET card_jti = $2, card_token = $3 WHERE id = $1 AND card_jti IS NULL`, b.ID, doc.ID, doc.Token)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errCardRace
		}
		token = sql.NullString{String: doc.Token, Valid: true}
		return nil
	})
	if errors.Is(err, errCardRace) {
		return s.Card(ctx, b)
	}
	return token.String, err
}

var errCardRace = errors.New("card issued by another request")

// revokeCard revokes a cancelled booking's card inside tx.
func (s *Service) revokeCard(ctx context.Context, tx *db.Tx, bookingID int64, reason string) error {
	var jti sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT card_jti FROM opd_bookings WHERE id = $1`, bookingID).Scan(&jti); err != nil || !jti.Valid {
		return err
	}
	return s.Docs.Revoke(ctx, tx, jti.String, reason)
}

// VerifyCard checks a card's token: signature, type and revocation.
func (s *Service) VerifyCard(ctx context.Context, token string) (CardClaims, error) {
	var c CardClaims
	if token == "" || len(token) > 4096 {
		return c, docs.ErrMalformed
	}
	v, err := s.Docs.Verify(ctx, token)
	if err != nil {
		return c, err
	}
	if err := v.Claims(&c); err != nil {
		return c, err
	}
	if c.Type != CardType || c.Refno == "" {
		return c, docs.ErrMalformed
	}
	rec, err := s.Docs.Lookup(ctx, s.DB.R(), c.JTI)
	if err != nil {
		return c, err
	}
	if rec.RevokedAt != nil {
		return c, errCardRevoked
	}
	return c, nil
}

var errCardRevoked = errors.New("the card was revoked")

type cardPage struct {
	page
	Booking   Booking
	QR        template.URL // data: URL of the QR code (PNG)
	VerifyURL string
}

func (s *Service) cardPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, err := s.OwnBooking(r.Context(), auth.PrincipalOf(r).ID, id)
	if err != nil {
		return err
	}
	if b.Status == StatusCancelled {
		return refusal("cancelled", "opd.card_cancelled")
	}
	token, err := s.Card(r.Context(), b)
	if err != nil {
		return err
	}
	data := &cardPage{Booking: b, VerifyURL: s.absolute(r, "/opd/card/verify?c="+url.QueryEscape(token))}
	png, err := docs.QRPNG(data.VerifyURL, 3)
	if err != nil {
		return err
	}
	data.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	return s.Render.Page(w, r, http.StatusOK, "opd/card.html", data)
}

// absolute makes a site path into a full URL (the configured base URL, or
// this request's host).
func (s *Service) absolute(r *http.Request, path string) string {
	if s.BaseURL != "" {
		return strings.TrimSuffix(s.BaseURL, "/") + path
	}
	scheme := "http"
	if web.Info(r.Context()).Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

type verifyPage struct {
	page
	Valid   bool
	Revoked bool
	Claims  CardClaims
	Status  string
}

// cardVerify checks a scanned OPD card for anyone who holds it. It shows
// what the card says (initials, not names) and the booking's status.
func (s *Service) cardVerify(w http.ResponseWriter, r *http.Request) error {
	data := &verifyPage{}
	c, err := s.VerifyCard(r.Context(), r.URL.Query().Get("c"))
	switch {
	case err == nil:
		data.Valid, data.Claims = true, c
		if b, err := s.BookingByRefno(r.Context(), c.Refno); err == nil {
			data.Status = b.Status
		}
	case errors.Is(err, errCardRevoked):
		data.Revoked, data.Claims = true, c
	case docs.Reason(err) == "" && !errors.Is(err, db.ErrNotFound):
		return err
	}
	status := http.StatusOK
	if !data.Valid {
		status = http.StatusUnprocessableEntity
	}
	return s.Render.Page(w, r, status, "opd/card_verify.html", data)
}

// cardPayload takes the signed token out of what a scanner typed: the
// verification URL or the bare token.
func cardPayload(text string) string {
	if u, err := url.Parse(strings.TrimSpace(text)); err == nil && u.Query().Get("c") != "" {
		return u.Query().Get("c")
	}
	return strings.TrimSpace(text)
}

// cardRefno reads what the counter's scanner typed: a signed OPD card or a
// reference number.
func (s *Service) cardRefno(ctx context.Context, card string) (string, error) {
	if ref, _, err := refno.Parse(card); err == nil {
		return ref, nil
	}
	c, err := s.VerifyCard(ctx, cardPayload(card))
	if errors.Is(err, errCardRevoked) {
		return "", fieldErr("card", "opd.card_revoked")
	}
	if err != nil {
		return "", fieldErr("card", "opd.card_invalid")
	}
	return c.Refno, nil
}
