package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/web"
)

// NewStaff is an officer account to create.
type NewStaff struct {
	Username     string
	Name         string
	Phone        string
	Email        string
	Role         string
	DepartmentID int64
	DistrictID   int64
	Password     string // set only by the demo seed; otherwise one is generated
}

// Credentials are shown once, to the admin who created or reset them.
type Credentials struct {
	PersonID   int64
	Username   string
	Password   string
	TOTPSecret string
	TOTPURI    string
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

// mayGrant reports whether actor may hand out role in (dept, district). A nil
// actor is the command line, run by the operator of the server.
func (s *Service) mayGrant(actor *Principal, role string, dept, district int64) bool {
	if actor == nil {
		return true
	}
	if role == RoleAdmin && !actor.CanIn(PermAdmin, 0, 0) {
		return false
	}
	return actor.CanIn(PermAdmin, dept, district)
}

// mayManage reports whether actor's jurisdiction covers every grant of target.
func (s *Service) mayManage(ctx context.Context, q db.Querier, actor *Principal, target int64) (bool, error) {
	if actor == nil {
		return true, nil
	}
	if actor.ID == target {
		return false, nil // nobody administers their own account
	}
	gs, err := s.Store.Grants(ctx, q, target)
	if err != nil {
		return false, err
	}
	for _, g := range gs {
		if !s.mayGrant(actor, g.Role, g.DepartmentID, g.DistrictID) {
			return false, nil
		}
	}
	return actor.Can(PermAdmin), nil
}

func (s *Service) validateGrant(ctx context.Context, q db.Querier, f *web.Fields, role string, dept, district int64) {
	if role == RoleCitizen || !s.Policy.Known(role) {
		f.Add("role", "admin.role_invalid")
	}
	if dept != 0 {
		var n int
		q.QueryRowContext(ctx, `SELECT COUNT(*) FROM departments WHERE id = $1`, dept).Scan(&n)
		if n == 0 {
			f.Add("department", "admin.department_invalid")
		}
	}
	if district != 0 {
		var n int
		q.QueryRowContext(ctx, `SELECT COUNT(*) FROM districts WHERE id = $1`, district).Scan(&n)
		if n == 0 {
			f.Add("district", "admin.district_invalid")
		}
	}
}

// ValidateStaff normalises in and collects what is wrong with it into f.
func (s *Service) ValidateStaff(ctx context.Context, in *NewStaff, f *web.Fields) {
	in.Username = strings.ToLower(strings.TrimSpace(in.Username))
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	if !usernameRE.MatchString(in.Username) {
		f.Add("username", "admin.username_invalid")
	}
	if in.Name == "" || len([]rune(in.Name)) > 100 {
		f.Add("name", "admin.name_invalid")
	}
	if in.Phone != "" {
		p, key := NormalizePhone(in.Phone)
		if key != "" {
			f.Add("phone", key)
		}
		in.Phone = p
	}
	if in.Email != "" {
		e, key := NormalizeEmail(in.Email)
		if key != "" {
			f.Add("email", key)
		}
		in.Email = e
	}
	s.validateGrant(ctx, s.DB.R(), f, in.Role, in.DepartmentID, in.DistrictID)
}

// CreateStaff creates an officer with one grant and returns the generated
// password and TOTP secret.
func (s *Service) CreateStaff(ctx context.Context, actor *Principal, in NewStaff) (Credentials, error) {
	f := &web.Fields{}
	s.ValidateStaff(ctx, &in, f)
	if err := f.Err(); err != nil {
		return Credentials{}, err
	}
	if !s.mayGrant(actor, in.Role, in.DepartmentID, in.DistrictID) {
		return Credentials{}, web.Forbidden()
	}
	cred := Credentials{Username: in.Username, Password: GeneratePassword(), TOTPSecret: NewTOTPSecret()}
	if in.Password != "" {
		if !s.Demo {
			return Credentials{}, errors.New("chosen passwords are for the demo only")
		}
		cred.Password = in.Password
	}
	cred.TOTPURI = TOTPURI(in.Username, cred.TOTPSecret)
	sealed, err := s.Keys.sealTOTP(cred.TOTPSecret)
	if err != nil {
		return Credentials{}, err
	}
	now := s.now()
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		var taken int
		tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM staff_accounts WHERE username = $1`, in.Username).Scan(&taken)
		if taken > 0 {
			f.Add("username", "admin.username_taken")
			return f.Err()
		}
		for kind, v := range map[string]string{"phone": in.Phone, "email": in.Email} {
			if v == "" {
				continue
			}
			tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM people WHERE `+kind+` = $1`, v).Scan(&taken)
			if taken > 0 {
				f.Add(kind, "admin.contact_taken")
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		id, err := s.Store.CreatePerson(ctx, tx, Person{Name: in.Name, Phone: in.Phone, Email: in.Email, Lang: "en"}, now)
		if err != nil {
			return err
		}
		cred.PersonID = id
		if _, err := tx.ExecContext(ctx, `INSERT INTO staff_accounts (person_id, username, password_hash, totp_secret, created_at)
			VALUES ($1, $2, $3, $4, $5)`, id, in.Username, HashPassword(cred.Password), sealed, db.Time(now)); err != nil {
			return err
		}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "account.create", ObjectType: "account", ObjectID: in.Username,
			SubjectID: id, Summary: map[string]string{"name": in.Name}, Actor: actorOf(ctx, actor)}); err != nil {
			return err
		}
		return s.insertGrant(ctx, tx, actor, id, in.Role, in.DepartmentID, in.DistrictID)
	})
	if err != nil {
		return Credentials{}, err
	}
	return cred, nil
}

func actorOf(ctx context.Context, actor *Principal) *audit.Actor {
	if actor == nil {
		return audit.System("cli")
	}
	return audit.ActorOf(ctx)
}

func (s *Service) insertGrant(ctx context.Context, tx *db.Tx, actor *Principal, person int64, role string, dept, district int64) error {
	var by any
	if actor != nil {
		by = actor.ID
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO grants (person_id, role, department_id, district_id, created_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, person, role, nullInt(dept), nullInt(district), db.Time(s.now()), by).Scan(&id)
	if db.IsUnique(err) {
		f := &web.Fields{}
		f.Add("role", "admin.grant_exists")
		return f.Err()
	}
	if err != nil {
		return err
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "grant.add", ObjectType: "grant", ObjectID: fmt.Sprint(id), SubjectID: person,
		Summary: map[string]any{"role": role, "department_id": dept, "district_id": district}, Actor: actorOf(ctx, actor)})
	return err
}

// AddGrant gives an officer a role within a department and district.
func (s *Service) AddGrant(ctx context.Context, actor *Principal, person int64, role string, dept, district int64) error {
	f := &web.Fields{}
	s.validateGrant(ctx, s.DB.R(), f, role, dept, district)
	if err := f.Err(); err != nil {
		return err
	}
	if !s.mayGrant(actor, role, dept, district) {
		return web.Forbidden()
	}
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		if err := s.requireStaff(ctx, tx, person); err != nil {
			return err
		}
		if actor != nil && actor.ID == person {
			return web.Forbidden()
		}
		return s.insertGrant(ctx, tx, actor, person, role, dept, district)
	})
}

func (s *Service) requireStaff(ctx context.Context, q db.Querier, person int64) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM staff_accounts WHERE person_id = $1`, person).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return web.NotFound()
	}
	return nil
}

// RemoveGrant takes a grant away.
func (s *Service) RemoveGrant(ctx context.Context, actor *Principal, person, grantID int64) error {
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		var g Grant
		err := tx.QueryRowContext(ctx, `SELECT role, COALESCE(department_id, 0), COALESCE(district_id, 0) FROM grants WHERE id = $1 AND person_id = $2`,
			grantID, person).Scan(&g.Role, &g.DepartmentID, &g.DistrictID)
		if errors.Is(err, sql.ErrNoRows) {
			return web.NotFound()
		}
		if err != nil {
			return err
		}
		if !s.mayGrant(actor, g.Role, g.DepartmentID, g.DistrictID) || (actor != nil && actor.ID == person) {
			return web.Forbidden()
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE id = $1`, grantID); err != nil {
			return err
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "grant.remove", ObjectType: "grant", ObjectID: fmt.Sprint(grantID),
			SubjectID: person, Summary: map[string]any{"role": g.Role, "department_id": g.DepartmentID, "district_id": g.DistrictID},
			Actor: actorOf(ctx, actor)})
		return err
	})
}

// manage runs fn for an officer the actor may administer, and audits it.
func (s *Service) manage(ctx context.Context, actor *Principal, person int64, action string, fn func(tx *db.Tx, username string) (any, error)) error {
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		var username string
		err := tx.QueryRowContext(ctx, `SELECT username FROM staff_accounts WHERE person_id = $1`, person).Scan(&username)
		if errors.Is(err, sql.ErrNoRows) {
			return web.NotFound()
		}
		if err != nil {
			return err
		}
		ok, err := s.mayManage(ctx, tx, actor, person)
		if err != nil {
			return err
		}
		if !ok {
			return web.Forbidden()
		}
		summary, err := fn(tx, username)
		if err != nil {
			return err
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: action, ObjectType: "account", ObjectID: username, SubjectID: person,
			Summary: summary, Actor: actorOf(ctx, actor)})
		return err
	})
}

// SetDisabled disables or re-enables an officer; disabling ends their sessions.
func (s *Service) SetDisabled(ctx context.Context, actor *Principal, person int64, disabled bool) error {
	action := "account.enable"
	if disabled {
		action = "account.disable"
	}
	return s.manage(ctx, actor, person, action, func(tx *db.Tx, _ string) (any, error) {
		var at any
		if disabled {
			at = db.Time(s.now())
			if _, err := s.revokeAll(ctx, tx, person); err != nil {
				return nil, err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE people SET disabled_at = $2 WHERE id = $1`, person, at)
		return nil, err
	})
}

// ResetPassword gives an officer a new generated password and ends their sessions.
func (s *Service) ResetPassword(ctx context.Context, actor *Principal, person int64) (Credentials, error) {
	cred := Credentials{PersonID: person, Password: GeneratePassword()}
	err := s.manage(ctx, actor, person, "account.password_reset", func(tx *db.Tx, username string) (any, error) {
		cred.Username = username
		if _, err := s.revokeAll(ctx, tx, person); err != nil {
			return nil, err
		}
		_, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE person_id = $1`,
			person, HashPassword(cred.Password))
		return nil, err
	})
	return cred, err
}

// ResetTOTP gives an officer a new TOTP secret (a lost phone) and ends their sessions.
func (s *Service) ResetTOTP(ctx context.Context, actor *Principal, person int64) (Credentials, error) {
	cred := Credentials{PersonID: person, TOTPSecret: NewTOTPSecret()}
	sealed, err := s.Keys.sealTOTP(cred.TOTPSecret)
	if err != nil {
		return cred, err
	}
	err = s.manage(ctx, actor, person, "account.totp_reset", func(tx *db.Tx, username string) (any, error) {
		cred.Username = username
		cred.TOTPURI = TOTPURI(username, cred.TOTPSecret)
		if _, err := s.revokeAll(ctx, tx, person); err != nil {
			return nil, err
		}
		_, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET totp_secret = $2, totp_last_step = 0 WHERE person_id = $1`, person, sealed)
		return nil, err
	})
	return cred, err
}

// Unlock lifts a lock after repeated failed sign-ins.
func (s *Service) Unlock(ctx context.Context, actor *Principal, person int64) error {
	return s.manage(ctx, actor, person, "account.unlock", func(tx *db.Tx, _ string) (any, error) {
		_, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET failed_logins = 0, locked_until = NULL WHERE person_id = $1`, person)
		return nil, err
	})
}

// RevokeSessions signs an officer out everywhere.
func (s *Service) RevokeSessions(ctx context.Context, actor *Principal, person int64) error {
	return s.manage(ctx, actor, person, "auth.signout_everywhere", func(tx *db.Tx, _ string) (any, error) {
		n, err := s.revokeAll(ctx, tx, person)
		return map[string]int64{"sessions": n}, err
	})
}

var deptCodeRE = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,15}$`)

// SaveDepartment creates (id 0) or updates a department. Only an
// unrestricted admin may change the list of departments.
func (s *Service) SaveDepartment(ctx context.Context, actor *Principal, d Department) (int64, error) {
	d.Code = strings.ToUpper(strings.TrimSpace(d.Code))
	d.Name = strings.Join(strings.Fields(d.Name), " ")
	d.NameLus = strings.Join(strings.Fields(d.NameLus), " ")
	f := &web.Fields{}
	if d.ID == 0 && !deptCodeRE.MatchString(d.Code) {
		f.Add("code", "admin.dept_code_invalid")
	}
	if d.Name == "" || len([]rune(d.Name)) > 120 {
		f.Add("name", "admin.dept_name_invalid")
	}
	if d.NameLus == "" || len([]rune(d.NameLus)) > 120 {
		f.Add("name_lus", "admin.dept_name_invalid")
	}
	if err := f.Err(); err != nil {
		return 0, err
	}
	if actor != nil && !actor.CanIn(PermAdmin, 0, 0) {
		return 0, web.Forbidden()
	}
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		action := "department.update"
		if d.ID == 0 {
			action = "department.create"
			err := tx.QueryRowContext(ctx, `INSERT INTO departments (code, name, name_lus, active, created_at) VALUES ($1, $2, $3, TRUE, $4) RETURNING id`,
				d.Code, d.Name, d.NameLus, db.Time(s.now())).Scan(&d.ID)
			if db.IsUnique(err) {
				f.Add("code", "admin.dept_code_taken")
				return f.Err()
			}
			if err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE departments SET name = $2, name_lus = $3, active = $4 WHERE id = $1`, d.ID, d.Name, d.NameLus, d.Active)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return web.NotFound()
			}
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: action, ObjectType: "department", ObjectID: fmt.Sprint(d.ID),
			Summary: map[string]any{"code": d.Code, "name": d.Name, "name_lus": d.NameLus, "active": d.Active}, Actor: actorOf(ctx, actor)})
		return err
	})
	return d.ID, err
}

// ReadPerson loads a person for an officer and records the read in the
// audit log, so the person can see who looked at their record.
func (s *Service) ReadPerson(ctx context.Context, actor *Principal, person int64) (Person, error) {
	p, err := s.Store.PersonByID(ctx, s.DB.R(), person)
	if errors.Is(err, db.ErrNotFound) {
		return p, web.NotFound()
	}
	if err != nil {
		return p, err
	}
	if actor.ID != person {
		if err := s.Audit.Read(ctx, s.DB, audit.Event{Action: "person.read", ObjectType: "person", ObjectID: fmt.Sprint(person), SubjectID: person}); err != nil {
			return p, err
		}
	}
	return p, nil
}

// errStatus maps store errors to web errors for handlers.
func errStatus(err error) error {
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	return err
}

// DemoTOTPSecret reveals a TOTP secret so the demo banner can print it. It
// refuses outside the demo.
func (s *Service) DemoTOTPSecret(ctx context.Context, username string) (string, error) {
	if !s.Demo {
		return "", errors.New("TOTP secrets are shown only in the demo")
	}
	a, err := s.Store.accountByUsername(ctx, s.DB.R(), username)
	if err != nil {
		return "", err
	}
	return s.Keys.openTOTP(a.TOTPSealed)
}
