package docs

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/go-pdf/fpdf"
)

//go:embed templates/*.html
var templatesFS embed.FS

// DejaVu Sans, cut down to Latin (with Latin Extended Additional for Mizo's
// ṭ and Ṭ) and common punctuation, so that PDFs print names and Mizo text
// correctly. Licence: fonts/LICENSE-DejaVu.txt.
//
//go:embed fonts/DejaVuSans.ttf fonts/DejaVuSans-Bold.ttf
var fontsFS embed.FS

// Templates are the docs pages (document.html: the printable A4 page).
func Templates() fs.FS { sub, _ := fs.Sub(templatesFS, "templates"); return sub }

// Page is a document as people see it: on screen and paper (the
// "docs/document.html" page, A4 when printed) and as a PDF. Labels and
// values arrive translated; docs does not know the service's words.
type Page struct {
	Authority string // e.g. "Government of Mizoram · Home Department"
	Title     string // e.g. "Inner Line Permit"
	Number    string
	Status    string // shown in a box beside the number, e.g. "ISSUED"; may be empty
	Rows      []Row
	Notes     []string // conditions printed below the rows
	// Photo of the holder: a URL for the HTML page, bytes for the PDF.
	PhotoURL  string
	Photo     []byte
	PhotoType string // "image/jpeg" or "image/png"
	PhotoAlt  string
	// QR holds the compact JWS; QRURL is where the page gets its PNG.
	QR       string
	QRURL    string
	QRLabel  string // text under the QR code, e.g. "Scan to verify"
	Footer   string // e.g. how to verify and with which keys
	PDFURL   string // link from the HTML page to the PDF, if any
	PDFLabel string
	Print    string // label of the print button
	Back     string // URL to go back to; empty for none
	BackText string
}

// Row is one label and value.
type Row struct {
	Label, Value string
}

// FontsFS exposes the embedded fonts (for tests and other renderers).
func FontsFS() fs.FS { return fontsFS }

// PDF renders the page as a one-page A4 PDF with the photo and a QR code of p.QR.
func PDF(p Page) ([]byte, error) {
	regular, err := fontsFS.ReadFile("fonts/DejaVuSans.ttf")
	if err != nil {
		return nil, err
	}
	bold, err := fontsFS.ReadFile("fonts/DejaVuSans-Bold.ttf")
	if err != nil {
		return nil, err
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(p.Title+" "+p.Number, true)
	pdf.SetCreator("mizogov", true)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(false, 15)
	pdf.AddUTF8FontFromBytes("dv", "", regular)
	pdf.AddUTF8FontFromBytes("dv", "B", bold)
	pdf.AddPage()

	// Heading band.
	pdf.SetFillColor(11, 95, 58)
	pdf.Rect(0, 0, 210, 28, "F")
	pdf.SetTextColor(255, 255, 255)
	pdf.SetFont("dv", "", 10)
	pdf.SetXY(15, 6)
	pdf.CellFormat(180, 5, p.Authority, "", 1, "L", false, 0, "")
	pdf.SetFont("dv", "B", 18)
	pdf.SetX(15)
	pdf.CellFormat(180, 10, p.Title, "", 1, "L", false, 0, "")
	pdf.SetTextColor(0, 0, 0)

	// Number and status.
	pdf.SetXY(15, 34)
	pdf.SetFont("dv", "B", 14)
	pdf.CellFormat(120, 8, p.Number, "", 0, "L", false, 0, "")
	if p.Status != "" {
		pdf.SetFont("dv", "B", 12)
		pdf.SetX(145)
		pdf.CellFormat(50, 8, p.Status, "1", 0, "C", false, 0, "")
	}

	// Photo on the right, rows on the left.
	top := 46.0
	if len(p.Photo) > 0 {
		typ := "JPG"
		if p.PhotoType == "image/png" {
			typ = "PNG"
		}
		opt := fpdf.ImageOptions{ImageType: typ}
		pdf.RegisterImageOptionsReader("photo", opt, bytes.NewReader(p.Photo))
		if err := pdf.Error(); err != nil {
			return nil, fmt.Errorf("pdf photo: %w", err)
		}
		pdf.ImageOptions("photo", 155, top, 40, 0, false, opt, 0, "")
		pdf.Rect(155, top, 40, 50, "D")
	}
	y := top
	for _, r := range p.Rows {
		pdf.SetXY(15, y)
		pdf.SetFont("dv", "", 9)
		pdf.SetTextColor(74, 85, 96)
		pdf.CellFormat(45, 6, r.Label, "", 0, "L", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
		pdf.SetFont("dv", "B", 11)
		pdf.MultiCell(90, 6, r.Value, "", "L", false)
		y = pdf.GetY() + 1.5
	}

	// QR code.
	qrTop := max(y+6, top+58)
	if p.QR != "" {
		png, err := QRPNG(p.QR, 4)
		if err != nil {
			return nil, err
		}
		opt := fpdf.ImageOptions{ImageType: "PNG"}
		pdf.RegisterImageOptionsReader("qr", opt, bytes.NewReader(png))
		pdf.ImageOptions("qr", 15, qrTop, 70, 70, false, opt, 0, "")
		pdf.SetXY(15, qrTop+71)
		pdf.SetFont("dv", "", 9)
		pdf.CellFormat(70, 5, p.QRLabel, "", 0, "C", false, 0, "")
	}
	pdf.SetXY(92, qrTop)
	pdf.SetFont("dv", "", 9.5)
	for _, n := range p.Notes {
		pdf.SetX(92)
		pdf.MultiCell(103, 5, "• "+n, "", "L", false)
		pdf.Ln(1)
	}
	if p.Footer != "" {
		pdf.SetXY(15, 270)
		pdf.SetFont("dv", "", 8)
		pdf.SetTextColor(74, 85, 96)
		pdf.MultiCell(180, 4, p.Footer, "T", "L", false)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// WritePDF sends a PDF as a download named file.
func WritePDF(w http.ResponseWriter, file string, b []byte) error {
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+file+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	_, err := w.Write(b)
	return err
}

// WritePNG sends a PNG image.
func WritePNG(w http.ResponseWriter, b []byte) error {
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	_, err := w.Write(b)
	return err
}
