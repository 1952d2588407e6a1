package files

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/web"
)

func picture() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 90, 255})
		}
	}
	return img
}

// gpsEXIF is an APP1 EXIF body as a phone camera writes it: IFD0 with the
// camera make, orientation 6 and a pointer to a GPS IFD holding latitude
// N 23° 43' 36" and longitude E 92° 43' 4" (Aizawl).
func gpsEXIF() []byte {
	bo := binary.BigEndian
	var t bytes.Buffer
	t.Write([]byte{'M', 'M', 0, 42, 0, 0, 0, 8})
	entry := func(tag, typ uint16, count, value uint32) {
		binary.Write(&t, bo, tag)
		binary.Write(&t, bo, typ)
		binary.Write(&t, bo, count)
		binary.Write(&t, bo, value)
	}
	// IFD0 at 8: 3 entries → ends at 8+2+36+4 = 50; "PhoneCam\0" at 50 (9 bytes), GPS IFD at 60.
	binary.Write(&t, bo, uint16(3))
	entry(0x010F, 2, 9, 50)         // Make → offset 50
	entry(0x0112, 3, 1, 6<<16)      // Orientation = 6 (rotate 90°)
	entry(0x8825, 4, 1, 60)         // GPSInfo → offset 60
	binary.Write(&t, bo, uint32(0)) // no IFD1
	t.WriteString("PhoneCam\x00\x00")
	// GPS IFD at 60: 4 entries → ends at 60+2+48+4 = 114; rationals at 114 and 138.
	binary.Write(&t, bo, uint16(4))
	entry(0x0001, 2, 2, 'N'<<24)
	entry(0x0002, 5, 3, 114)
	entry(0x0003, 2, 2, 'E'<<24)
	entry(0x0004, 5, 3, 138)
	binary.Write(&t, bo, uint32(0))
	for _, v := range []uint32{23, 1, 43, 1, 36, 1, 92, 1, 43, 1, 4, 1} {
		binary.Write(&t, bo, v)
	}
	return append([]byte("Exif\x00\x00"), t.Bytes()...)
}

func segment(marker byte, body []byte) []byte {
	out := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(out[2:], uint16(len(body)+2))
	return append(out, body...)
}

// phoneJPEG is a real JPEG with GPS EXIF, an XMP packet with a location,
// a comment and an IPTC segment, as a phone gallery hands it over.
func phoneJPEG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	xmp := []byte(`http://ns.adobe.com/xap/1.0/` + "\x00" + `<x:xmpmeta><exif:GPSLatitude>23,43.6N</exif:GPSLatitude></x:xmpmeta>`)
	var out []byte
	out = append(out, raw[:2]...)
	out = append(out, segment(0xE1, gpsEXIF())...)
	out = append(out, segment(0xE1, xmp)...)
	out = append(out, segment(0xED, []byte("Photoshop 3.0\x008BIM city=Aizawl"))...)
	out = append(out, segment(0xFE, []byte("shot at Chaltlang, Aizawl"))...)
	return append(out, raw[2:]...)
}

func chunk(typ string, data []byte) []byte {
	out := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(out, uint32(len(data)))
	copy(out[4:], typ)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

// gpsPNG is a real PNG carrying an eXIf chunk with GPS and text chunks.
func gpsPNG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, picture()); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	iend := bytes.Index(raw, []byte("IEND")) - 4
	var out []byte
	out = append(out, raw[:iend]...)
	out = append(out, chunk("eXIf", gpsEXIF()[6:])...)
	out = append(out, chunk("tEXt", []byte("Location\x00Chaltlang, Aizawl"))...)
	out = append(out, chunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<exif:GPSLatitude>23</exif:GPSLatitude>"))...)
	return append(out, raw[iend:]...)
}

func errCode(err error) string {
	var we *web.Error
	if errors.As(err, &we) {
		return we.Code
	}
	return ""
}

func TestJPEGLocationStripped(t *testing.T) {
	in := phoneJPEG(t)
	if !bytes.Contains(in, []byte("PhoneCam")) || readOrientation(gpsEXIF()) != 6 {
		t.Fatal("the test picture lacks its metadata")
	}
	up, err := Check(in, "IMG_2041.jpg", 5<<20, Images...)
	if err != nil {
		t.Fatal(err)
	}
	if up.Type != JPEG || up.Width != 64 || up.Height != 48 || up.Name != "IMG_2041.jpg" {
		t.Fatalf("upload: %+v", up)
	}
	for _, leak := range []string{"PhoneCam", "GPSLatitude", "xmpmeta", "Chaltlang", "Aizawl", "8BIM"} {
		if bytes.Contains(up.Data, []byte(leak)) {
			t.Errorf("cleaned JPEG still contains %q", leak)
		}
	}
	// The GPS IFD pointer tag (0x8825) is gone with the rest of the EXIF.
	if bytes.Contains(up.Data, []byte{0x88, 0x25, 0, 4}) {
		t.Error("GPS IFD pointer kept")
	}
	// The orientation survives alone, so the photo stays upright.
	exifAt := bytes.Index(up.Data, []byte("Exif\x00\x00"))
	if exifAt < 0 || readOrientation(up.Data[exifAt:]) != 6 {
		t.Fatal("orientation lost")
	}
	if _, err := jpeg.Decode(bytes.NewReader(up.Data)); err != nil {
		t.Fatalf("cleaned JPEG does not decode: %v", err)
	}
	// Cleaning is stable: a cleaned file cleans to itself.
	again, err := Check(up.Data, "x.jpg", 5<<20, Images...)
	if err != nil || again.SHA256 != up.SHA256 {
		t.Fatalf("second pass: %v", err)
	}
}

func TestPNGLocationStripped(t *testing.T) {
	up, err := Check(gpsPNG(t), "screen.png", 5<<20, Images...)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"eXIf", "tEXt", "iTXt", "PhoneCam", "Aizawl", "GPSLatitude"} {
		if bytes.Contains(up.Data, []byte(leak)) {
			t.Errorf("cleaned PNG still contains %q", leak)
		}
	}
	img, err := png.Decode(bytes.NewReader(up.Data))
	if err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("cleaned PNG: %v", err)
	}
}

func TestBadUploadsRefused(t *testing.T) {
	jpg := phoneJPEG(t)
	corrupt := append([]byte(nil), gpsPNG(t)...)
	corrupt[40] ^= 0xFF // inside IHDR: its CRC no longer matches
	cases := []struct {
		name    string
		data    []byte
		allowed []string
		want    string
	}{
		{"empty", nil, Images, "file_empty"},
		{"renamed text file", []byte("MZ\x90\x00 this is really a program, named photo.jpg"), Images, "file_type"},
		{"HTML posing as an image", []byte("<html><script>alert(1)</script></html>"), Images, "file_type"},
		{"PDF where photos are wanted", []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"), Images, "file_type"},
		{"20 MB", append(jpg, make([]byte, 20<<20)...), Images, "file_too_large"},
		{"truncated JPEG", jpg[:200], Images, "file_damaged"},
		{"JPEG header only", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0}, Images, "file_damaged"},
		{"corrupt PNG", corrupt, Images, "file_damaged"},
		{"PDF with JavaScript", []byte("%PDF-1.7\n1 0 obj\n<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\nendobj\n%%EOF\n"), []string{PDF}, "pdf_active"},
		{"PDF cut short", []byte("%PDF-1.7\n1 0 obj\n<<>>"), []string{PDF}, "file_damaged"},
	}
	for _, tc := range cases {
		if _, err := Check(tc.data, "photo.jpg", 5<<20, tc.allowed...); errCode(err) != tc.want {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.want)
		}
	}
	// A plain PDF is accepted where PDFs are.
	up, err := Check([]byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /JSON 1 >>\nendobj\ntrailer\n%%EOF\n"), "id.pdf", 5<<20, JPEG, PNG, PDF)
	if err != nil || up.Type != PDF {
		t.Fatalf("plain PDF: %v", err)
	}
	// Names are for display only and are cleaned.
	if got := cleanName(`..\..\evil"<b>.jpg`); got != "evilb.jpg" {
		t.Fatalf("name %q", got)
	}
}

func TestStoreRecordServe(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := &Service{DB: d, Blobs: Disk{Dir: t.TempDir()}, Audit: &audit.Log{}}
		up, err := Check(phoneJPEG(t), "a.jpg", 5<<20, Images...)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Store(ctx, up); err != nil {
			t.Fatal(err)
		}
		if err := s.Store(ctx, up); err != nil { // the same content again is a no-op
			t.Fatal(err)
		}
		var f File
		err = d.Tx(ctx, func(tx *db.Tx) error {
			var err error
			f, err = s.Record(ctx, tx, up, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, d.R(), f.ID)
		if err != nil || got.SHA256 != up.SHA256 || got.Size != int64(len(up.Data)) || got.Type != JPEG {
			t.Fatalf("get: %v %+v", err, got)
		}
		if _, err := s.Get(ctx, d.R(), f.ID+1); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("missing file: %v", err)
		}
		w := httptest.NewRecorder()
		if err := s.Serve(w, httptest.NewRequest("GET", "/x", nil), got); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != JPEG || w.Header().Get("X-Content-Type-Options") != "nosniff" ||
			!bytes.Equal(w.Body.Bytes(), up.Data) || !strings.Contains(w.Header().Get("Content-Disposition"), `filename="a.jpg"`) {
			t.Fatalf("serve: %d %v", w.Code, w.Header())
		}
		req := httptest.NewRequest("GET", "/x", nil)
		req.Header.Set("If-None-Match", `"`+up.SHA256+`"`)
		w = httptest.NewRecorder()
		s.Serve(w, req, got)
		if w.Code != http.StatusNotModified {
			t.Fatalf("etag: %d", w.Code)
		}
		if n := 0; d.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'file.upload'`).Scan(&n) != nil || n != 1 {
			t.Fatalf("upload not audited")
		}
		if _, err := (Disk{Dir: t.TempDir()}).Open(ctx, "../../etc/passwd"); err == nil {
			t.Fatal("path outside the store opened")
		}
	})
}
