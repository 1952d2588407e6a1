package docs

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/yeqown/go-qrcode/v2"
)

// QR code generation uses github.com/yeqown/go-qrcode/v2: it is maintained
// (skip2/go-qrcode has had no release since 2020), lets us fix the error
// correction level and byte mode, and its core module draws nothing itself
// (no image or font dependencies): we render its module matrix to PNG here.

// QRModules returns the QR code of text as rows of dark (true) and light
// modules, without the quiet zone. Error correction level M (15 %) suits a
// paper permit that gets folded and scanned by phone cameras.
func QRModules(text string) ([][]bool, error) {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium),
		qrcode.WithEncodingMode(qrcode.EncModeByte))
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	w := &matrixWriter{}
	if err := q.Save(w); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return w.bits, nil
}

type matrixWriter struct{ bits [][]bool }

func (m *matrixWriter) Write(mat qrcode.Matrix) error { m.bits = mat.Bitmap(); return nil }
func (m *matrixWriter) Close() error                  { return nil }

// QuietZone is the light border, in modules, that ISO/IEC 18004 asks for.
const QuietZone = 4

// QRPNG draws the QR code of text as a 1-bit PNG with scale pixels per module.
func QRPNG(text string, scale int) ([]byte, error) {
	bits, err := QRModules(text)
	if err != nil {
		return nil, err
	}
	if scale < 1 {
		scale = 1
	}
	n := len(bits)
	size := (n + 2*QuietZone) * scale
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y, row := range bits {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range scale {
				off := img.PixOffset((x+QuietZone)*scale, (y+QuietZone)*scale+dy)
				for dx := range scale {
					img.Pix[off+dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
