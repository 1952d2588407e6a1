package files

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image/jpeg"
	"image/png"
)

// cleanJPEG copies a JPEG without its metadata: APP1 (EXIF with GPS, XMP),
// APP3–APP13 and APP15 (IPTC, Photoshop, maker data) and comments are
// dropped; APP0 (JFIF), APP2 (ICC colour profile) and APP14 (Adobe colour
// transform) are kept, and the EXIF orientation is written back alone in a
// minimal EXIF segment. Everything from the first scan on is copied as it is.
func cleanJPEG(data []byte) ([]byte, int, int, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, damaged(err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, 0, 0, refuse("image_too_big", "files.too_many_pixels")
	}
	out := make([]byte, 0, len(data))
	out = append(out, 0xFF, 0xD8)
	orientation := 0
	i := 2
	for {
		// Skip fill bytes before a marker.
		for i < len(data) && data[i] == 0xFF && i+1 < len(data) && data[i+1] == 0xFF {
			i++
		}
		if i+4 > len(data) || data[i] != 0xFF {
			return nil, 0, 0, damaged(errors.New("jpeg: bad marker"))
		}
		m := data[i+1]
		if m == 0xD9 { // EOI before any scan
			return nil, 0, 0, damaged(errors.New("jpeg: no image data"))
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return nil, 0, 0, damaged(errors.New("jpeg: segment overruns the file"))
		}
		seg := data[i : i+2+n]
		body := seg[4:]
		switch {
		case m == 0xDA: // start of scan: the rest is image data
			if orientation > 1 {
				out = append(out, exifOrientation(orientation)...)
			}
			out = append(out, data[i:]...)
			return out, cfg.Width, cfg.Height, nil
		case m == 0xE1:
			if o := readOrientation(body); o > 0 {
				orientation = o
			}
		case m == 0xFE, m >= 0xE3 && m <= 0xED, m == 0xEF:
			// dropped
		default:
			out = append(out, seg...)
		}
		i += 2 + n
	}
}

// readOrientation finds tag 0x0112 in IFD0 of an APP1 EXIF body, or 0.
func readOrientation(b []byte) int {
	if !bytes.HasPrefix(b, []byte("Exif\x00\x00")) || len(b) < 14 {
		return 0
	}
	t := b[6:]
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	for k := range count {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
		}
	}
	return 0
}

// exifOrientation is an APP1 segment holding only the orientation tag.
func exifOrientation(o int) []byte {
	var b bytes.Buffer
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, // header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, // Orientation, SHORT, 1 value
		0, 0, 0, 0} // no next IFD
	body := append([]byte("Exif\x00\x00"), tiff...)
	b.Write([]byte{0xFF, 0xE1})
	binary.Write(&b, binary.BigEndian, uint16(len(body)+2))
	b.Write(body)
	return b.Bytes()
}

var pngSig = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}

// pngKeep are the chunks a cleaned PNG keeps: the critical ones and those
// that only describe colour and pixel size. Text (tEXt, zTXt, iTXt), EXIF
// (eXIf), time and unknown private chunks are dropped.
var pngKeep = map[string]bool{"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true, "tRNS": true, "cHRM": true,
	"gAMA": true, "iCCP": true, "sBIT": true, "sRGB": true, "bKGD": true, "pHYs": true}

// cleanPNG copies a PNG keeping only pngKeep chunks, checking every CRC.
func cleanPNG(data []byte) ([]byte, int, int, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, damaged(err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, 0, 0, refuse("image_too_big", "files.too_many_pixels")
	}
	out := append(make([]byte, 0, len(data)), pngSig...)
	i := len(pngSig)
	for {
		if i+12 > len(data) {
			return nil, 0, 0, damaged(errors.New("png: truncated"))
		}
		n := int(binary.BigEndian.Uint32(data[i:]))
		if n < 0 || n > len(data) || i+12+n > len(data) {
			return nil, 0, 0, damaged(errors.New("png: chunk overruns the file"))
		}
		typ := string(data[i+4 : i+8])
		chunk := data[i : i+12+n]
		if crc32.ChecksumIEEE(chunk[4:8+n]) != binary.BigEndian.Uint32(chunk[8+n:]) {
			return nil, 0, 0, damaged(fmt.Errorf("png: bad CRC in %s", typ))
		}
		if pngKeep[typ] {
			out = append(out, chunk...)
		}
		i += 12 + n
		if typ == "IEND" {
			return out, cfg.Width, cfg.Height, nil
		}
	}
}

// checkPDF accepts a PDF that looks whole and carries nothing active:
// scripts, launch actions, embedded files and forms that run code are
// refused (a scan of an ID card needs none of them).
func checkPDF(data []byte) ([]byte, error) {
	tail := data[max(0, len(data)-1024):]
	if !bytes.Contains(tail, []byte("%%EOF")) {
		return nil, damaged(errors.New("pdf: no end marker"))
	}
	for _, bad := range []string{"/JavaScript", "/JS", "/Launch", "/EmbeddedFile", "/RichMedia", "/XFA"} {
		if idx := bytes.Index(data, []byte(bad)); idx >= 0 {
			// "/JS" must be a whole name, not the start of e.g. "/JSON".
			end := idx + len(bad)
			if end == len(data) || !isNameChar(data[end]) {
				return nil, refuse("pdf_active", "files.pdf_active")
			}
		}
	}
	return data, nil
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
