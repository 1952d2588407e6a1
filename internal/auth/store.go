package auth

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"mizogov/internal/db"
)

// Store holds the SQL of people, accounts, sessions and grants.
type Store struct {
	DB *db.DB
}

// Person is someone known to the platform.
type Person struct {
	ID         int64
	Name       string
	Phone      string
	Email      string
	Lang       string
	CreatedAt  time.Time
	DisabledAt *time.Time
	Username   string // staff only
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

const personCols = `p.id, p.name, COALESCE(p.phone, ''), COALESCE(p.email, ''), p.lang, p.created_at, p.disabled_at, COALESCE(a.username, '')`

func scanPerson(row interface{ Scan(...any) error }) (Person, error) {
	var p Person
	var disabled sql.NullTime
	err := row.Scan(&p.ID, &p.Name, &p.Phone, &p.Email, &p.Lang, &p.CreatedAt, &disabled, &p.Username)
	if errors.Is(err, sql.ErrNoRows) {
		return p, db.ErrNotFound
	}
	if disabled.Valid {
		p.DisabledAt = &disabled.Time
	}
	return p, err
}

// PersonByID loads a person.
func (s *Store) PersonByID(ctx context.Context, q db.Querier, id int64) (Person, error) {
	return scanPerson(q.QueryRowContext(ctx, `SELECT `+personCols+` FROM people p
		LEFT JOIN staff_accounts a ON a.person_id = p.id WHERE p.id = $1`, id))
}

// PersonByContact finds a person by phone or email.
func (s *Store) PersonByContact(ctx context.Context, q db.Querier, c Contact) (Person, error) {
	col := "phone"
	if c.Kind == "email" {
		col = "email"
	}
	return scanPerson(q.QueryRowContext(ctx, `SELECT `+personCols+` FROM people p
		LEFT JOIN staff_accounts a ON a.person_id = p.id WHERE p.`+col+` = $1`, c.Value))
}

// CreatePerson inserts a person and returns the id.
func (s *Store) CreatePerson(ctx context.Context, q db.Querier, p Person, now time.Time) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `INSERT INTO people (name, phone, email, lang, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		p.Name, nullStr(p.Phone), nullStr(p.Email), p.Lang, db.Time(now)).Scan(&id)
	return id, err
}

// account is a staff sign-in record.
type account struct {
	PersonID      int64
	Username      string
	PasswordHash  string
	TOTPSealed    string
	TOTPLastStep  int64
	FailedLogins  int
	LastFailedAt  sql.NullTime
	LockedUntil   sql.NullTime
	PersonDisable sql.NullTime
}

func (s *Store) accountByUsername(ctx context.Context, q db.Querier, username string) (account, error) {
	var a account
	err := q.QueryRowContext(ctx, `SELECT a.person_id, a.username, a.password_hash, a.totp_secret, a.totp_last_step,
		a.failed_logins, a.last_failed_at, a.locked_until, p.disabled_at
		FROM staff_accounts a JOIN people p ON p.id = a.person_id WHERE a.username = $1`, username).
		Scan(&a.PersonID, &a.Username, &a.PasswordHash, &a.TOTPSealed, &a.TOTPLastStep, &a.FailedLogins,
			&a.LastFailedAt, &a.LockedUntil, &a.PersonDisable)
	if errors.Is(err, sql.ErrNoRows) {
		return a, db.ErrNotFound
	}
	return a, err
}

// Grants lists a person's grants with department codes and district names.
func (s *Store) Grants(ctx context.Context, q db.Querier, personID int64) ([]Grant, error) {
	rows, err := q.QueryContext(ctx, `SELECT g.id, g.role, COALESCE(g.department_id, 0), COALESCE(g.district_id, 0),
		COALESCE(d.code, ''), COALESCE(x.name, '')
		FROM grants g LEFT JOIN departments d ON d.id = g.department_id LEFT JOIN districts x ON x.id = g.district_id
		WHERE g.person_id = $1 ORDER BY g.id`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		if err := rows.Scan(&g.ID, &g.Role, &g.DepartmentID, &g.DistrictID, &g.Department, &g.District); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// session is a row of the sessions table joined with its person.
type session struct {
	ID         int64
	PersonID   int64
	Staff      bool
	Kind       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string
	UserAgent  string
}

func (s *Store) sessionByHash(ctx context.Context, hash string) (session, Person, error) {
	var se session
	var p Person
	var disabled sql.NullTime
	err := s.DB.R().QueryRowContext(ctx, `SELECT s.id, s.person_id, s.staff, s.kind, s.created_at, s.last_seen_at, s.expires_at,
		p.name, COALESCE(p.phone, ''), COALESCE(p.email, ''), p.lang, p.disabled_at, COALESCE(a.username, '')
		FROM sessions s JOIN people p ON p.id = s.person_id LEFT JOIN staff_accounts a ON a.person_id = p.id
		WHERE s.token_hash = $1 AND s.revoked_at IS NULL`, hash).
		Scan(&se.ID, &se.PersonID, &se.Staff, &se.Kind, &se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt,
			&p.Name, &p.Phone, &p.Email, &p.Lang, &disabled, &p.Username)
	if errors.Is(err, sql.ErrNoRows) {
		return se, p, db.ErrNotFound
	}
	p.ID = se.PersonID
	if disabled.Valid {
		p.DisabledAt = &disabled.Time
	}
	return se, p, err
}

// Sessions lists a person's live sessions, newest first.
func (s *Store) Sessions(ctx context.Context, personID int64, now time.Time) ([]session, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT id, person_id, staff, kind, created_at, last_seen_at, expires_at, ip, user_agent
		FROM sessions WHERE person_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY id DESC LIMIT 50`, personID, db.Time(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []session
	for rows.Next() {
		var se session
		if err := rows.Scan(&se.ID, &se.PersonID, &se.Staff, &se.Kind, &se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt, &se.IP, &se.UserAgent); err != nil {
			return nil, err
		}
		out = append(out, se)
	}
	return out, rows.Err()
}

// Department is a government department.
type Department struct {
	ID      int64
	Code    string
	Name    string
	NameLus string
	Active  bool
}

// Departments lists every department.
func (s *Store) Departments(ctx context.Context) ([]Department, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT id, code, name, name_lus, active FROM departments ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Department
	for rows.Next() {
		var d Department
		if err := rows.Scan(&d.ID, &d.Code, &d.Name, &d.NameLus, &d.Active); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Department loads one department.
func (s *Store) Department(ctx context.Context, id int64) (Department, error) {
	var d Department
	err := s.DB.R().QueryRowContext(ctx, `SELECT id, code, name, name_lus, active FROM departments WHERE id = $1`, id).
		Scan(&d.ID, &d.Code, &d.Name, &d.NameLus, &d.Active)
	if errors.Is(err, sql.ErrNoRows) {
		return d, db.ErrNotFound
	}
	return d, err
}

// StaffRow is an officer in the admin list.
type StaffRow struct {
	Person
	Grants      []Grant
	LockedUntil *time.Time
}

// StaffFilter narrows the officer list.
type StaffFilter struct {
	Search       string
	DepartmentID int64
	DistrictID   int64
	Limit        int
	Offset       int
}

// Staff lists officers matching f, with their grants.
func (s *Store) Staff(ctx context.Context, f StaffFilter) ([]StaffRow, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+personCols+`, a.locked_until FROM people p
		JOIN staff_accounts a ON a.person_id = p.id
		WHERE ($1 = '' OR lower(p.name) LIKE $2 ESCAPE '\' OR a.username LIKE $2 ESCAPE '\')
		  AND ($3 = 0 OR EXISTS (SELECT 1 FROM grants g WHERE g.person_id = p.id AND g.department_id = $3))
		  AND ($4 = 0 OR EXISTS (SELECT 1 FROM grants g WHERE g.person_id = p.id AND g.district_id = $4))
		ORDER BY p.name, p.id LIMIT $5 OFFSET $6`,
		f.Search, "%"+db.Like(strings.ToLower(f.Search))+"%", f.DepartmentID, f.DistrictID, f.Limit, f.Offset)
	if err != nil {
		return nil, err
	}
	var out []StaffRow
	for rows.Next() {
		var r StaffRow
		var disabled, locked sql.NullTime
		if err := rows.Scan(&r.ID, &r.Name, &r.Phone, &r.Email, &r.Lang, &r.CreatedAt, &disabled, &r.Username, &locked); err != nil {
			rows.Close()
			return nil, err
		}
		if disabled.Valid {
			r.DisabledAt = &disabled.Time
		}
		if locked.Valid {
			r.LockedUntil = &locked.Time
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Grants, err = s.Grants(ctx, s.DB.R(), out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
