// Package files takes uploads: it checks their size, decides their type
// from their content (never from the name or the client's content type),
// accepts JPEG, PNG and PDF, strips location and other metadata from
// images, keeps the bytes in a content-addressed blob store (SHA-256; a
// folder on disk by default, an interface so an S3-compatible store can be
// added) and records each upload in the files table. Who may read a file is
// the calling service's decision; Serve writes it safely.
package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/web"
)

//go:embed i18n/*.json
var messages embed.FS

// Messages are the package's messages, keys prefixed "files.".
func Messages() fs.FS { sub, _ := fs.Sub(messages, "i18n"); return sub }

// Types accepted.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	PDF  = "application/pdf"
)

// Images is the usual allow-list for photos.
var Images = []string{JPEG, PNG}

// MaxPixels bounds an image's width × height (against decompression bombs).
const MaxPixels = 40_000_000

// Upload is a checked, cleaned file not yet stored.
type Upload struct {
	Type   string
	Data   []byte // metadata already stripped
	SHA256 string // of Data
	Name   string // the client's file name, cleaned, for display only
	Width  int
	Height int
}

// File is a stored upload.
type File struct {
	ID        int64     `json:"id"`
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	Type      string    `json:"type"`
	Name      string    `json:"name"`
	Width     int       `json:"width,omitempty"`
	Height    int       `json:"height,omitempty"`
	OwnerID   int64     `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// Sniff names the type of data from its first bytes, or "".
func Sniff(data []byte) string {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return JPEG
	case bytes.HasPrefix(data, pngSig):
		return PNG
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return PDF
	}
	return ""
}

func typeNames(allowed []string) string {
	names := make([]string, len(allowed))
	for i, t := range allowed {
		names[i] = map[string]string{JPEG: "JPEG", PNG: "PNG", PDF: "PDF"}[t]
	}
	return strings.Join(names, ", ")
}

func refuse(code, key string, args ...any) *web.Error {
	return web.NewError(http.StatusUnprocessableEntity, code, key, args...)
}

// Check decides what data is, refuses what is not allowed, too large or
// damaged, and strips metadata from images (keeping only a JPEG's
// orientation, so photos stay upright).
func Check(data []byte, name string, maxSize int64, allowed ...string) (Upload, error) {
	if len(data) == 0 {
		return Upload{}, refuse("file_empty", "files.empty")
	}
	if int64(len(data)) > maxSize {
		return Upload{}, refuse("file_too_large", "files.too_large", "mb", strconv.FormatInt(maxSize>>20, 10))
	}
	typ := Sniff(data)
	ok := false
	for _, a := range allowed {
		ok = ok || a == typ
	}
	if typ == "" || !ok {
		return Upload{}, refuse("file_type", "files.type_not_allowed", "types", typeNames(allowed))
	}
	up := Upload{Type: typ, Name: cleanName(name)}
	var err error
	switch typ {
	case JPEG:
		up.Data, up.Width, up.Height, err = cleanJPEG(data)
	case PNG:
		up.Data, up.Width, up.Height, err = cleanPNG(data)
	case PDF:
		up.Data, err = checkPDF(data)
	}
	if err != nil {
		return Upload{}, err
	}
	sum := sha256.Sum256(up.Data)
	up.SHA256 = hex.EncodeToString(sum[:])
	return up, nil
}

func damaged(err error) error {
	e := refuse("file_damaged", "files.damaged")
	e.Err = err
	return e
}

func cleanName(n string) string {
	n = filepath.Base(strings.ReplaceAll(n, "\\", "/"))
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`"/\<>:|?*;`, r) {
			return -1
		}
		return r
	}, n)
	if r := []rune(n); len(r) > 100 {
		n = string(r[:100])
	}
	if n == "." {
		return ""
	}
	return n
}

// Blobs keeps file contents by their SHA-256.
type Blobs interface {
	Put(ctx context.Context, sha string, data []byte) error
	Open(ctx context.Context, sha string) (io.ReadSeekCloser, error)
}

// Disk keeps blobs in a folder, as DIR/ab/cd/abcd….
type Disk struct{ Dir string }

func (d Disk) path(sha string) (string, error) {
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return "", fmt.Errorf("files: bad blob key %q", sha)
	}
	return filepath.Join(d.Dir, sha[:2], sha[2:4], sha), nil
}

// Put writes a blob once: to a temporary file, synced, then renamed.
func (d Disk) Put(ctx context.Context, sha string, data []byte) error {
	p, err := d.path(sha)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

// Open reads a blob.
func (d Disk) Open(ctx context.Context, sha string) (io.ReadSeekCloser, error) {
	p, err := d.path(sha)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, db.ErrNotFound
	}
	return f, err
}

// Service stores and records uploads.
type Service struct {
	DB    *db.DB
	Blobs Blobs
	Audit *audit.Log
	Now   func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Store writes an upload's bytes to the blob store. Call it before the
// transaction that records the file: an unrecorded blob is harmless.
func (s *Service) Store(ctx context.Context, up Upload) error {
	return s.Blobs.Put(ctx, up.SHA256, up.Data)
}

// Record adds a stored upload to the files table inside tx, audited.
func (s *Service) Record(ctx context.Context, tx *db.Tx, up Upload, ownerID int64) (File, error) {
	f := File{SHA256: up.SHA256, Size: int64(len(up.Data)), Type: up.Type, Name: up.Name, Width: up.Width, Height: up.Height,
		OwnerID: ownerID, CreatedAt: db.Time(s.now())}
	var owner any
	if ownerID != 0 {
		owner = ownerID
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO files (sha256, size, type, name, width, height, owner_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, f.SHA256, f.Size, f.Type, f.Name, f.Width, f.Height, owner, f.CreatedAt).Scan(&f.ID)
	if err != nil {
		return File{}, fmt.Errorf("record file: %w", err)
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "file.upload", ObjectType: "file", ObjectID: strconv.FormatInt(f.ID, 10),
		SubjectID: ownerID, Summary: map[string]any{"type": f.Type, "size": f.Size, "sha256": f.SHA256}})
	return f, err
}

// Get loads a file's record.
func (s *Service) Get(ctx context.Context, q db.Querier, id int64) (File, error) {
	var f File
	var owner sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT id, sha256, size, type, name, width, height, owner_id, created_at FROM files WHERE id = $1`, id).
		Scan(&f.ID, &f.SHA256, &f.Size, &f.Type, &f.Name, &f.Width, &f.Height, &owner, &f.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return f, db.ErrNotFound
	}
	f.OwnerID = owner.Int64
	return f, err
}

// Serve writes a file the caller has decided r may read: its own type,
// never sniffed by the browser, private caching, ranges and ETags, and for
// PDFs a sandbox so that nothing in them can run with the site's rights.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, f File) error {
	rc, err := s.Blobs.Open(r.Context(), f.SHA256)
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", f.Type)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", `"`+f.SHA256+`"`)
	disp := "inline"
	if f.Type == PDF {
		h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'")
	}
	name := f.Name
	if name == "" {
		name = "file-" + strconv.FormatInt(f.ID, 10)
	}
	h.Set("Content-Disposition", fmt.Sprintf(`%s; filename="%s"`, disp, asciiName(name)))
	http.ServeContent(w, r, "", f.CreatedAt, rc)
	return nil
}

func asciiName(n string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, n)
}

// FromForm reads up to max files from a multipart form field (after
// r.ParseMultipartForm) and checks each. Empty file inputs are skipped.
func FromForm(r *http.Request, field string, max int, maxSize int64, allowed ...string) ([]Upload, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	var out []Upload
	headers := r.MultipartForm.File[field]
	var nonEmpty []*multipart.FileHeader
	for _, fh := range headers {
		if fh.Size > 0 || fh.Filename != "" {
			nonEmpty = append(nonEmpty, fh)
		}
	}
	if len(nonEmpty) > max {
		return nil, refuse("too_many_files", "files.too_many", "max", max)
	}
	for _, fh := range nonEmpty {
		if fh.Size > maxSize {
			return nil, refuse("file_too_large", "files.too_large", "mb", strconv.FormatInt(maxSize>>20, 10))
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		up, err := Check(data, fh.Filename, maxSize, allowed...)
		if err != nil {
			return nil, err
		}
		out = append(out, up)
	}
	return out, nil
}
