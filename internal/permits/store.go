package permits

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"mizogov/internal/db"
)

// Application is a request for permits for one person or a group.
type Application struct {
	ID           int64      `json:"id"`
	Number       string     `json:"number"`
	Kind         string     `json:"kind" enum:"new,extension"`
	ParentID     int64      `json:"parent_id,omitempty"`
	ApplicantID  int64      `json:"-"`
	TypeID       int64      `json:"type_id"`
	TypeCode     string     `json:"type" enum:"TEMP,STAY,REGULAR,TRADER"`
	ValidityDays int        `json:"validity_days"`
	FeePaise     int64      `json:"fee_paise" doc:"per person"`
	Purpose      string     `json:"purpose"`
	Places       string     `json:"places"`
	EntryPoint   string     `json:"entry_point"`
	DistrictID   int64      `json:"-"`
	EntryDate    time.Time  `json:"entry_date"`
	LocalContact string     `json:"local_contact,omitempty"`
	GSTNumber    string     `json:"gst_number,omitempty"`
	SponsorEPIC  string     `json:"sponsor_epic,omitempty"`
	SponsorID    int64      `json:"-"`
	SponsorAt    *time.Time `json:"sponsor_confirmed_at,omitempty"`
	Status       string     `json:"status" enum:"draft,sponsor_pending,sponsor_declined,submitted,under_verification,correction,approved,rejected,issued,cancelled"`
	StatusNote   string     `json:"status_note,omitempty"`
	CaseID       int64      `json:"case_id,omitempty"`
	DemandID     int64      `json:"demand_id,omitempty"`
	Version      int        `json:"version"`
	CreatedAt    time.Time  `json:"created_at"`
	SubmittedAt  *time.Time `json:"submitted_at,omitempty"`
	DecidedAt    *time.Time `json:"decided_at,omitempty"`
	UpdatedAt    time.Time  `json:"updated_at"`
	Members      []Member   `json:"members"`
}

// TotalPaise is the fee for the whole group.
func (a Application) TotalPaise() int64 { return a.FeePaise * int64(len(a.Members)) }

// Editable reports whether the applicant may still change the application.
func (a Application) Editable() bool { return a.Status == StDraft || a.Status == StCorrection }

// Member is one person on an application; Seq 1 is the lead applicant.
type Member struct {
	ID         int64     `json:"id"`
	Seq        int       `json:"seq"`
	Name       string    `json:"name"`
	Gender     string    `json:"gender" enum:"f,m,x"`
	BirthDate  time.Time `json:"birth_date"`
	Phone      string    `json:"phone,omitempty"`
	Address    string    `json:"address"`
	IDType     string    `json:"id_type" enum:"epic,aadhaar,pan,passport,dl"`
	IDNumber   string    `json:"-"`
	IDMasked   string    `json:"id_masked"`
	PhotoFile  int64     `json:"photo_file_id,omitempty"`
	IDScanFile int64     `json:"id_scan_file_id,omitempty"`
}

const appCols = `id, number, kind, COALESCE(parent_id, 0), applicant_id, type_id, type_code, validity_days, fee_paise, purpose, places,
	entry_point, COALESCE(district_id, 0), entry_date, local_contact, gst_number, sponsor_epic, COALESCE(sponsor_id, 0), sponsor_at,
	status, status_note, COALESCE(case_id, 0), COALESCE(demand_id, 0), version, created_at, submitted_at, decided_at, updated_at`

func scanApp(row interface{ Scan(...any) error }) (Application, error) {
	var a Application
	var sponsorAt, submitted, decided sql.NullTime
	err := row.Scan(&a.ID, &a.Number, &a.Kind, &a.ParentID, &a.ApplicantID, &a.TypeID, &a.TypeCode, &a.ValidityDays, &a.FeePaise,
		&a.Purpose, &a.Places, &a.EntryPoint, &a.DistrictID, &a.EntryDate, &a.LocalContact, &a.GSTNumber, &a.SponsorEPIC, &a.SponsorID,
		&sponsorAt, &a.Status, &a.StatusNote, &a.CaseID, &a.DemandID, &a.Version, &a.CreatedAt, &submitted, &decided, &a.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return a, db.ErrNotFound
	}
	a.SponsorAt, a.SubmittedAt, a.DecidedAt = ptrTime(sponsorAt), ptrTime(submitted), ptrTime(decided)
	return a, err
}

func ptrTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// application loads an application with its members.
func (s *Service) application(ctx context.Context, q db.Querier, id int64) (Application, error) {
	a, err := scanApp(q.QueryRowContext(ctx, `SELECT `+appCols+` FROM permit_applications WHERE id = $1`, id))
	if err != nil {
		return a, err
	}
	a.Members, err = s.members(ctx, q, id)
	return a, err
}

const memberCols = `id, seq, name, gender, birth_date, phone, address, id_type, id_number, id_masked, COALESCE(photo_file_id, 0), COALESCE(id_scan_file_id, 0)`

func (s *Service) members(ctx context.Context, q db.Querier, appID int64) ([]Member, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+memberCols+` FROM permit_members WHERE application_id = $1 ORDER BY seq`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ID, &m.Seq, &m.Name, &m.Gender, &m.BirthDate, &m.Phone, &m.Address, &m.IDType, &m.IDNumber, &m.IDMasked,
			&m.PhotoFile, &m.IDScanFile); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ApplicationsOf lists a person's applications, newest first.
func (s *Service) ApplicationsOf(ctx context.Context, person int64) ([]Application, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+appCols+` FROM permit_applications WHERE applicant_id = $1 ORDER BY id DESC LIMIT 200`, person)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Application
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Members, err = s.members(ctx, s.DB.R(), out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Permit is an issued permit: one person, one signed document.
type Permit struct {
	ID            int64     `json:"id"`
	Number        string    `json:"number"`
	ApplicationID int64     `json:"application_id"`
	MemberID      int64     `json:"-"`
	HolderID      int64     `json:"-"`
	TypeCode      string    `json:"type"`
	HolderName    string    `json:"holder_name"`
	IDMasked      string    `json:"id_masked"`
	DistrictID    int64     `json:"-"`
	EntryPoint    string    `json:"entry_point"`
	ValidFrom     time.Time `json:"valid_from"`
	ValidTo       time.Time `json:"valid_to"`
	Status        string    `json:"status" enum:"active,cancelled,revoked"`
	StatusReason  string    `json:"status_reason,omitempty"`
	DocID         string    `json:"doc_id"`
	Token         string    `json:"token" doc:"the compact JWS printed in the QR code"`
	Extensions    int       `json:"extensions"`
	IssuedAt      time.Time `json:"issued_at"`
}

// State is what a permit is at t: valid, expired, not_yet_valid, revoked or cancelled.
func (p Permit) State(t time.Time) string {
	switch {
	case p.Status == PermitRevoked:
		return "revoked"
	case p.Status == PermitCancelled:
		return "cancelled"
	case t.Before(p.ValidFrom):
		return "not_yet_valid"
	case !t.Before(p.ValidTo):
		return "expired"
	}
	return "valid"
}

const permitCols = `id, number, application_id, member_id, holder_id, type_code, holder_name, id_masked, COALESCE(district_id, 0), entry_point,
	valid_from, valid_to, status, status_reason, doc_id, token, extensions, issued_at`

func scanPermit(row interface{ Scan(...any) error }) (Permit, error) {
	var p Permit
	err := row.Scan(&p.ID, &p.Number, &p.ApplicationID, &p.MemberID, &p.HolderID, &p.TypeCode, &p.HolderName, &p.IDMasked, &p.DistrictID,
		&p.EntryPoint, &p.ValidFrom, &p.ValidTo, &p.Status, &p.StatusReason, &p.DocID, &p.Token, &p.Extensions, &p.IssuedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return p, db.ErrNotFound
	}
	return p, err
}

// PermitByNumber finds a permit by its number.
func (s *Service) PermitByNumber(ctx context.Context, q db.Querier, number string) (Permit, error) {
	return scanPermit(q.QueryRowContext(ctx, `SELECT `+permitCols+` FROM permits WHERE number = $1`, strings.ToUpper(strings.TrimSpace(number))))
}

// PermitsOf lists the permits of an application.
func (s *Service) PermitsOf(ctx context.Context, q db.Querier, appID int64) ([]Permit, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+permitCols+` FROM permits WHERE application_id = $1 ORDER BY id`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Permit{}
	for rows.Next() {
		p, err := scanPermit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// touch bumps an application's version if it is still at version v and in
// one of the states; it reports whether it did (optimistic concurrency: a
// second officer acting on a stale page changes nothing).
func touch(ctx context.Context, tx *db.Tx, id int64, v int, now time.Time, set string, args []any, states ...string) (bool, error) {
	q := `UPDATE permit_applications SET version = version + 1, updated_at = $3` + set + ` WHERE id = $1 AND version = $2 AND status IN (`
	all := append([]any{id, v, db.Time(now)}, args...)
	for i, st := range states {
		if i > 0 {
			q += ", "
		}
		all = append(all, st)
		q += "$" + itoa(len(all))
	}
	res, err := tx.ExecContext(ctx, q+")", all...)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
