package permits

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/files"
	"mizogov/internal/web"
)

// Upload limits: a photo (JPEG or PNG) and a scan of the identity document
// (JPEG, PNG or PDF) per person.
const (
	MaxPhoto  = 2 << 20
	MaxIDScan = 5 << 20
)

// uploadKinds maps the URL word to the column and what is accepted.
var uploadKinds = map[string]struct {
	column  string
	max     int64
	allowed []string
}{
	"photo":  {"photo_file_id", MaxPhoto, files.Images},
	"idscan": {"id_scan_file_id", MaxIDScan, []string{files.JPEG, files.PNG, files.PDF}},
}

// Attach stores a person's photo or ID scan on an editable application.
func (s *Service) Attach(ctx context.Context, person, id, memberID int64, kind string, up files.Upload) (Application, error) {
	k, ok := uploadKinds[kind]
	if !ok {
		return Application{}, web.NotFound()
	}
	// Check ownership before the bytes are stored.
	a, err := s.application(ctx, s.DB.R(), id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && a.ApplicantID != person) {
		return Application{}, web.NotFound()
	}
	if err != nil {
		return Application{}, err
	}
	if err := s.Files.Store(ctx, up); err != nil {
		return Application{}, err
	}
	var out Application
	err = s.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		a, err := s.own(ctx, tx, person, id)
		if err != nil {
			return err
		}
		if !a.Editable() {
			return web.Conflict("permits.not_editable")
		}
		found := false
		for _, m := range a.Members {
			found = found || m.ID == memberID
		}
		if !found {
			return web.NotFound()
		}
		f, err := s.Files.Record(ctx, tx, up, person)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE permit_members SET `+k.column+` = $3 WHERE id = $1 AND application_id = $2`,
			memberID, a.ID, f.ID); err != nil {
			return err
		}
		if ok, err := touch(ctx, tx, a.ID, a.Version, s.now(), "", nil, StDraft, StCorrection); err != nil || !ok {
			return staleOr(err)
		}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.attach_" + kind, ObjectType: "permit_application", ObjectID: a.Number,
			SubjectID: person, Summary: map[string]any{"member": memberID, "file": f.ID}}); err != nil {
			return err
		}
		out, err = s.application(ctx, tx, a.ID)
		return err
	})
	return out, err
}

// readUpload parses a multipart form and checks its one file.
func readUpload(w http.ResponseWriter, r *http.Request, kind string) (files.Upload, error) {
	k, ok := uploadKinds[kind]
	if !ok {
		return files.Upload{}, web.NotFound()
	}
	if err := r.ParseMultipartForm(k.max + 64<<10); err != nil {
		return files.Upload{}, web.BadRequest("permits.upload_form")
	}
	ups, err := files.FromForm(r, "file", 1, k.max, k.allowed...)
	if err != nil {
		return files.Upload{}, err
	}
	if len(ups) == 0 {
		f := &web.Fields{}
		f.Add("file", "permits.upload_missing")
		return files.Upload{}, f.Err()
	}
	return ups[0], nil
}

func (s *Service) uploadPost(w http.ResponseWriter, r *http.Request) error {
	kind := r.PathValue("kind")
	mid, err := pathID(r, "member")
	if err != nil {
		return err
	}
	up, err := readUpload(w, r, kind)
	if err == nil {
		err = func() error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			_, err = s.Attach(r.Context(), me(r).ID, id, mid, kind, up)
			return err
		}()
	}
	if err != nil {
		id, perr := pathID(r, "id")
		if perr != nil {
			return perr
		}
		f := &web.Form{Values: map[string]string{}}
		if err := f.Refused(err, fmt.Sprintf("%s_%d", kind, mid)); err != nil {
			return err
		}
		if fe, ok := f.Errors.Get("file"); ok {
			f.Errors = &web.Fields{}
			f.Errors.Add(fmt.Sprintf("%s_%d", kind, mid), fe.Key, fe.Args...)
		}
		return s.renderApplication(w, r, http.StatusUnprocessableEntity, id, f)
	}
	id, _ := pathID(r, "id")
	http.Redirect(w, r, fmt.Sprintf("/permits/applications/%d?done=uploaded", id), http.StatusSeeOther)
	return nil
}

func (s *Service) apiUpload(w http.ResponseWriter, r *http.Request) error {
	kind := r.PathValue("kind")
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	mid, err := pathID(r, "member")
	if err != nil {
		return err
	}
	up, err := readUpload(w, r, kind)
	if err != nil {
		return err
	}
	a, err := s.Attach(r.Context(), me(r).ID, id, mid, kind, up)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, a)
	return nil
}

// fileOwner finds the member and application a file belongs to.
func (s *Service) fileOwner(ctx context.Context, fileID int64) (Application, Member, bool, error) {
	var appID, memberID int64
	var isPhoto bool
	err := s.DB.R().QueryRowContext(ctx, `SELECT application_id, id, photo_file_id = $1 FROM permit_members
		WHERE photo_file_id = $1 OR id_scan_file_id = $1 ORDER BY id DESC LIMIT 1`, fileID).Scan(&appID, &memberID, &isPhoto)
	if err != nil {
		return Application{}, Member{}, false, db.ErrNotFound
	}
	a, err := s.application(ctx, s.DB.R(), appID)
	if err != nil {
		return a, Member{}, false, err
	}
	for _, m := range a.Members {
		if m.ID == memberID {
			return a, m, isPhoto, nil
		}
	}
	return a, Member{}, false, db.ErrNotFound
}

// filePage serves a photo or scan to the applicant or the issuing office of
// the application's district (reads by officers are audited).
func (s *Service) filePage(w http.ResponseWriter, r *http.Request) error {
	fid, err := pathID(r, "file")
	if err != nil {
		return err
	}
	a, _, _, err := s.fileOwner(r.Context(), fid)
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	p := me(r)
	if a.ApplicantID != p.ID {
		if !p.CanIn(PermProcess, s.homeDept(r.Context()), a.DistrictID) {
			return web.NotFound()
		}
		if err := s.Audit.Read(r.Context(), s.DB, audit.Event{Action: "permits.file_read", ObjectType: "file",
			ObjectID: fmt.Sprint(fid), SubjectID: a.ApplicantID}); err != nil {
			return err
		}
	}
	f, err := s.Files.Get(r.Context(), s.DB.R(), fid)
	if err != nil {
		return web.NotFound()
	}
	return s.Files.Serve(w, r, f)
}

// UploadForm documents the multipart upload.
type UploadForm struct {
	File string `json:"file" doc:"the file (binary)"`
}
