package opd

import (
	"context"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"mizogov/internal/auth"
	"mizogov/internal/web"
)

// The OPD card: a printable page with the booking's details and a QR code
// holding a signed statement of them. The counter's scanner reads it to
// check the patient in; anyone's phone camera opens the verification page,
// which checks the signature and shows what the card says.

// CardClaims is what the OPD card's QR code states, signed.
type CardClaims struct {
	Refno      string `json:"ref"`
	UHID       string `json:"uhid"`
	Token      int    `json:"tok"`
	Day        string `json:"day"`
	Hospital   string `json:"hosp"`
	Department string `json:"dept"`
	Patient    string `json:"pat" doc:"initials only"`
}

// CardSigner signs and verifies OPD card statements (the docs package).
type CardSigner interface {
	// SignCard returns the compact JWS of c.
	SignCard(ctx context.Context, c CardClaims) (string, error)
	// VerifyCard checks a compact JWS and returns what it states.
	VerifyCard(ctx context.Context, jws string) (CardClaims, error)
	// QR draws text as a QR code image (an SVG document).
	QR(text string) ([]byte, error)
}

// Initials shortens a name for the card's signed statement: the QR carries
// no full name.
func Initials(name string) string {
	var b strings.Builder
	for _, w := range strings.Fields(name) {
		r := []rune(w)
		b.WriteRune(r[0])
		b.WriteByte('.')
	}
	return b.String()
}

func claimsOf(b Booking, hospitalCode, deptCode string) CardClaims {
	return CardClaims{Refno: b.Refno, UHID: b.UHID, Token: b.Token, Day: b.Day, Hospital: hospitalCode, Department: deptCode, Patient: Initials(b.PatientName)}
}

type cardPage struct {
	page
	Booking   Booking
	QR        template.URL // data: URL of the QR image
	VerifyURL string
	Signed    bool
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
	data := &cardPage{Booking: b}
	if s.Signer != nil {
		h, err := s.Hospital(r.Context(), b.HospitalID)
		if err != nil {
			return err
		}
		d, err := s.Department(r.Context(), b.DepartmentID)
		if err != nil {
			return err
		}
		jws, err := s.Signer.SignCard(r.Context(), claimsOf(b, h.Code, d.Code))
		if err != nil {
			return err
		}
		data.VerifyURL = s.absolute(r, "/opd/card/verify?c="+url.QueryEscape(jws))
		svg, err := s.Signer.QR(data.VerifyURL)
		if err != nil {
			return err
		}
		data.QR = template.URL("data:image/svg+xml;base64," + b64(svg))
		data.Signed = true
	}
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
	Valid  bool
	Claims CardClaims
	Status string
}

// cardVerify checks a scanned OPD card for anyone who holds it.
func (s *Service) cardVerify(w http.ResponseWriter, r *http.Request) error {
	data := &verifyPage{}
	jws := r.URL.Query().Get("c")
	status := http.StatusOK
	if s.Signer != nil && jws != "" && len(jws) < 4096 {
		c, err := s.Signer.VerifyCard(r.Context(), jws)
		if err == nil {
			data.Valid, data.Claims = true, c
			if b, err := s.BookingByRefno(r.Context(), c.Refno); err == nil {
				data.Status = b.Status
			}
		}
	}
	if !data.Valid {
		status = http.StatusUnprocessableEntity
	}
	return s.Render.Page(w, r, status, "opd/card_verify.html", data)
}

// cardPayload takes the signed statement out of what a scanner typed: the
// verification URL or the bare JWS.
func cardPayload(text string) string {
	if u, err := url.Parse(strings.TrimSpace(text)); err == nil && u.Query().Get("c") != "" {
		return u.Query().Get("c")
	}
	return strings.TrimSpace(text)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
