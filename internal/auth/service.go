// Package auth knows people and what they may do: citizens signing in with
// a one-time code sent to their phone or email, officers with a password and
// a TOTP code, database sessions and API tokens, roles granted within a
// department and district, and the admin pages that manage them.
package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/geo"
	"mizogov/internal/i18n"
	"mizogov/internal/notify"
	"mizogov/internal/ratelimit"
	"mizogov/internal/web"
)

// Tunables of sign-in.
const (
	OTPLifetime      = 5 * time.Minute
	OTPMaxTries      = 5
	LockAfter        = 5                // consecutive password failures
	LockFor          = 15 * time.Minute // then the account rests
	APITokenIdle     = 7 * 24 * time.Hour
	APITokenLifetime = 30 * 24 * time.Hour
)

// Limits on sign-in traffic, shared by every node through the database.
var (
	otpResend     = ratelimit.Rule{Max: 1, Window: 30 * time.Second}
	otpPerHour    = ratelimit.Rule{Max: 5, Window: time.Hour}
	otpPerIP      = ratelimit.Rule{Max: 30, Window: time.Hour}
	verifyPerIP   = ratelimit.Rule{Max: 60, Window: 10 * time.Minute}
	loginPerIP    = ratelimit.Rule{Max: 30, Window: 10 * time.Minute}
	loginPerUser  = ratelimit.Rule{Max: 20, Window: 10 * time.Minute}
	changePerUser = ratelimit.Rule{Max: 10, Window: 10 * time.Minute}
)

// Service is the auth module.
type Service struct {
	Store       *Store
	Geo         *geo.Store
	DB          *db.DB
	Audit       *audit.Log
	Notify      *notify.Service
	Limits      *ratelimit.Limiter
	Policy      *Policy
	Keys        Keys
	Render      *web.Renderer
	Log         *slog.Logger
	Now         func() time.Time
	Demo        bool // TOTP is optional in the demo
	SessionIdle time.Duration
	SessionMax  time.Duration
	StaffTiles  []web.Tile // what the staff home offers, by permission

	touched touches // idle-clock refreshes waiting to be written
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// limit applies a rate-limit rule and turns a refusal into a 429.
func (s *Service) limit(ctx context.Context, key string, r ratelimit.Rule) error {
	ok, wait, err := s.Limits.Allow(ctx, key, r)
	if err != nil {
		return err
	}
	if !ok {
		return web.TooMany(wait)
	}
	return nil
}

// OTPSent says when a code was sent and when another may be asked for.
type OTPSent struct {
	Contact     Contact
	ExpiresIn   time.Duration
	ResendAfter time.Duration
}

// SendOTP creates a one-time code for contact and queues it by SMS or email.
func (s *Service) SendOTP(ctx context.Context, raw, lang string) (OTPSent, error) {
	c, problem := ParseContact(raw)
	if problem != "" {
		f := &web.Fields{}
		f.Add("contact", problem)
		return OTPSent{}, f.Err()
	}
	ip := web.Info(ctx).IP
	if err := s.limit(ctx, "otp:ip:"+ip, otpPerIP); err != nil {
		return OTPSent{}, err
	}
	if err := s.limit(ctx, "otp:resend:"+c.Value, otpResend); err != nil {
		// A second tap on "send" (or a resubmitted page): the first code is
		// on its way, and the person should use it.
		if e, ok := err.(*web.Error); ok {
			e.Code, e.Key = "otp_recent", "auth.code_recent"
			e.Args = []any{"seconds", int(e.RetryAfter.Seconds() + 0.999)}
		}
		return OTPSent{Contact: c}, err
	}
	if err := s.limit(ctx, "otp:hour:"+c.Value, otpPerHour); err != nil {
		return OTPSent{}, err
	}
	if !i18n.Supported(lang) {
		lang = i18n.EN
	}
	code := randomDigits(6)
	now := s.now()
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		// A new code replaces any earlier one.
		if _, err := tx.ExecContext(ctx, `UPDATE otps SET expires_at = $2 WHERE target = $1 AND used_at IS NULL AND expires_at > $2`,
			c.Value, db.Time(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO otps (target, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			c.Value, s.Keys.hashOTP(c.Value, code), db.Time(now), db.Time(now.Add(OTPLifetime))); err != nil {
			return err
		}
		channel := notify.SMS
		if c.Kind == "email" {
			channel = notify.Email
		}
		if _, err := s.Notify.Enqueue(ctx, tx, notify.Message{Channel: channel, To: c.Value, Template: "auth.otp", Lang: lang,
			Data: map[string]string{"code": code, "minutes": "5"}, Sensitive: true}); err != nil {
			return err
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "auth.otp_sent", ObjectType: "contact", ObjectID: Mask(c.Value)})
		return err
	})
	if err != nil {
		return OTPSent{}, err
	}
	return OTPSent{Contact: c, ExpiresIn: OTPLifetime, ResendAfter: otpResend.Window}, nil
}

// SignedIn is the result of a successful sign-in.
type SignedIn struct {
	Token     string
	ExpiresAt time.Time
	Principal *Principal
}

// VerifyOTP checks a code and opens a citizen session (kind "web" or "api").
func (s *Service) VerifyOTP(ctx context.Context, raw, code, kind string) (SignedIn, error) {
	f := &web.Fields{}
	c, problem := ParseContact(raw)
	if problem != "" {
		f.Add("contact", problem)
	}
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		f.Add("code", "auth.code_format")
	}
	if err := f.Err(); err != nil {
		return SignedIn{}, err
	}
	ri := web.Info(ctx)
	if err := s.limit(ctx, "verify:ip:"+ri.IP, verifyPerIP); err != nil {
		return SignedIn{}, err
	}
	now := s.now()
	var out SignedIn
	var triesLeft int
	wrongCode := false
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		var id int64
		var hash string
		err := tx.QueryRowContext(ctx, `SELECT id, code_hash FROM otps WHERE target = $1 AND used_at IS NULL AND expires_at > $2
			ORDER BY id DESC LIMIT 1`, c.Value, db.Time(now)).Scan(&id, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return web.BadRequest("auth.code_expired")
		}
		if err != nil {
			return err
		}
		var attempts int
		err = tx.QueryRowContext(ctx, `UPDATE otps SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 RETURNING attempts`,
			id, OTPMaxTries).Scan(&attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return web.BadRequest("auth.code_too_many")
		}
		if err != nil {
			return err
		}
		if hash != s.Keys.hashOTP(c.Value, code) {
			triesLeft = OTPMaxTries - attempts
			if triesLeft == 0 {
				// The last try is spent: the code is dead.
				if _, err := tx.ExecContext(ctx, `UPDATE otps SET expires_at = $2 WHERE id = $1`, id, db.Time(now)); err != nil {
					return err
				}
			}
			_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "auth.otp_failed", ObjectType: "contact", ObjectID: Mask(c.Value)})
			if err != nil {
				return err
			}
			wrongCode = true // commit: the attempt counts
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE otps SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, db.Time(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return web.BadRequest("auth.code_expired")
		}
		p, err := s.Store.PersonByContact(ctx, tx, c)
		if errors.Is(err, db.ErrNotFound) {
			p = Person{Lang: ri.Lang}
			if c.Kind == "phone" {
				p.Phone = c.Value
			} else {
				p.Email = c.Value
			}
			if p.ID, err = s.Store.CreatePerson(ctx, tx, p, now); err != nil {
				return err
			}
			if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "person.create", ObjectType: "person",
				ObjectID: fmt.Sprint(p.ID), SubjectID: p.ID, Summary: map[string]string{"via": c.Kind},
				Actor: &audit.Actor{ID: p.ID, Label: Mask(c.Value), RequestID: ri.ID, IP: ri.IP}}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if p.DisabledAt != nil {
			return web.NewError(http.StatusForbidden, "account_disabled", "auth.disabled")
		}
		out, err = s.openSession(ctx, tx, p, false, kind, now)
		return err
	})
	if err == nil && wrongCode {
		return SignedIn{}, s.wrongCode(triesLeft)
	}
	return out, err
}

func (s *Service) wrongCode(left int) error {
	if left <= 0 {
		return web.BadRequest("auth.code_too_many")
	}
	f := &web.Fields{}
	f.Add("code", "auth.code_wrong", "left", left)
	return web.Invalid(f)
}

// openSession creates a session for p inside tx and records the sign-in.
func (s *Service) openSession(ctx context.Context, tx *db.Tx, p Person, staff bool, kind string, now time.Time) (SignedIn, error) {
	ri := web.Info(ctx)
	token := randomToken(32)
	life := s.SessionMax
	if kind == "api" && !staff {
		life = APITokenLifetime
	}
	exp := now.Add(life)
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO sessions (token_hash, person_id, staff, kind, created_at, last_seen_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id`,
		sha256Hex(token), p.ID, staff, kind, db.Time(now), db.Time(exp), ri.IP, truncate(ri.UserAgent, 200)).Scan(&id)
	if err != nil {
		return SignedIn{}, err
	}
	method := "otp"
	if staff {
		method = "password+totp"
	}
	label := p.Name
	if label == "" {
		label = Mask(p.Phone + p.Email)
	}
	if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "auth.signin", ObjectType: "session", ObjectID: fmt.Sprint(id),
		SubjectID: p.ID, Summary: map[string]string{"method": method, "kind": kind},
		Actor: &audit.Actor{ID: p.ID, Label: label, RequestID: ri.ID, IP: ri.IP}}); err != nil {
		return SignedIn{}, err
	}
	pr, err := s.principal(ctx, tx, p, staff, id)
	if err != nil {
		return SignedIn{}, err
	}
	return SignedIn{Token: token, ExpiresAt: exp, Principal: pr}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// principal builds the Principal for p: citizens hold the citizen role,
// officers (signed in as staff) hold their grants.
func (s *Service) principal(ctx context.Context, q db.Querier, p Person, staff bool, sessionID int64) (*Principal, error) {
	pr := &Principal{ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email, Lang: p.Lang, Username: p.Username,
		Staff: staff, SessionID: sessionID, policy: s.Policy}
	if !staff {
		pr.Grants = []Grant{{Role: RoleCitizen}}
		return pr, nil
	}
	g, err := s.Store.Grants(ctx, q, p.ID)
	if err != nil {
		return nil, err
	}
	pr.Grants = g
	return pr, nil
}

// StaffLogin checks an officer's username, password and TOTP code.
func (s *Service) StaffLogin(ctx context.Context, username, password, code, kind string) (SignedIn, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	code = strings.TrimSpace(code)
	f := &web.Fields{}
	if username == "" {
		f.Add("username", "auth.username_required")
	}
	if password == "" {
		f.Add("password", "auth.password_required")
	}
	if code == "" && !s.Demo {
		f.Add("totp", "auth.totp_required")
	}
	if err := f.Err(); err != nil {
		return SignedIn{}, err
	}
	ri := web.Info(ctx)
	if err := s.limit(ctx, "login:ip:"+ri.IP, loginPerIP); err != nil {
		return SignedIn{}, err
	}
	if err := s.limit(ctx, "login:user:"+username, loginPerUser); err != nil {
		return SignedIn{}, err
	}
	now := s.now()
	wrong := web.BadRequest("auth.login_wrong")
	wrong.Code = "invalid_credentials"
	a, err := s.Store.accountByUsername(ctx, s.DB.R(), username)
	if errors.Is(err, db.ErrNotFound) {
		CheckPassword(dummyHash, password)
		return SignedIn{}, wrong
	}
	if err != nil {
		return SignedIn{}, err
	}
	if a.PersonDisable.Valid {
		CheckPassword(dummyHash, password)
		return SignedIn{}, wrong
	}
	if a.LockedUntil.Valid && a.LockedUntil.Time.After(now) {
		e := web.NewError(http.StatusTooManyRequests, "account_locked", "auth.locked", "minutes", int(a.LockedUntil.Time.Sub(now).Minutes())+1)
		e.RetryAfter = a.LockedUntil.Time.Sub(now)
		return SignedIn{}, e
	}
	if a.FailedLogins >= 2 && a.LastFailedAt.Valid {
		// Each failure after the second doubles the pause before the next try.
		wait := time.Duration(5<<(a.FailedLogins-2)) * time.Second
		if next := a.LastFailedAt.Time.Add(wait); next.After(now) {
			return SignedIn{}, web.TooMany(next.Sub(now))
		}
	}
	ok := CheckPassword(a.PasswordHash, password)
	var step int64
	if ok {
		secret, err := s.Keys.openTOTP(a.TOTPSealed)
		if err != nil {
			return SignedIn{}, fmt.Errorf("open TOTP secret of %s: %w", username, err)
		}
		if code != "" || !s.Demo {
			step, ok = checkTOTP(secret, code, now, a.TOTPLastStep)
		}
	}
	var out SignedIn
	loginFailed := false
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		actor := &audit.Actor{ID: a.PersonID, Label: a.Username, RequestID: ri.ID, IP: ri.IP}
		if !ok {
			failed := a.FailedLogins + 1
			var locked any
			action := "auth.signin_failed"
			if failed >= LockAfter {
				locked, failed, action = db.Time(now.Add(LockFor)), 0, "auth.locked"
			}
			if _, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET failed_logins = $2, last_failed_at = $3, locked_until = $4 WHERE person_id = $1`,
				a.PersonID, failed, db.Time(now), locked); err != nil {
				return err
			}
			_, err := s.Audit.Append(ctx, tx, audit.Event{Action: action, ObjectType: "account", ObjectID: a.Username, SubjectID: a.PersonID, Actor: actor})
			loginFailed = true // commit: the failure counts
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET failed_logins = 0, last_failed_at = NULL, locked_until = NULL,
			totp_last_step = CASE WHEN $2 > totp_last_step THEN $2 ELSE totp_last_step END
			WHERE person_id = $1 AND totp_last_step = $3`, a.PersonID, step, a.TOTPLastStep)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return wrong // a concurrent sign-in used the same TOTP step
		}
		p, err := s.Store.PersonByID(ctx, tx, a.PersonID)
		if err != nil {
			return err
		}
		out, err = s.openSession(ctx, tx, p, true, kind, now)
		return err
	})
	if err == nil && loginFailed {
		return SignedIn{}, wrong
	}
	return out, err
}

// Authenticate finds the principal of a session token. It returns
// db.ErrNotFound for unknown, revoked and expired tokens.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" || len(token) > 200 {
		return nil, db.ErrNotFound
	}
	se, p, err := s.Store.sessionByHash(ctx, sha256Hex(token))
	if err != nil {
		return nil, err
	}
	now := s.now()
	idle := s.SessionIdle
	if se.Kind == "api" && !se.Staff {
		idle = APITokenIdle
	}
	seen := s.lastSeen(se.ID, se.LastSeenAt)
	if p.DisabledAt != nil || !now.Before(se.ExpiresAt) || now.Sub(seen) > idle {
		return nil, db.ErrNotFound
	}
	if now.Sub(seen) > time.Minute {
		// Refresh the idle clock at most once a minute per session, in a
		// batch written a moment later (touch.go).
		s.touch(se.ID, now)
	}
	return s.principal(ctx, s.DB.R(), p, se.Staff, se.ID)
}

// SignOut revokes one session.
func (s *Service) SignOut(ctx context.Context, p *Principal) error {
	now := s.now()
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, p.SessionID, db.Time(now)); err != nil {
			return err
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "auth.signout", ObjectType: "session", ObjectID: fmt.Sprint(p.SessionID), SubjectID: p.ID})
		return err
	})
}

// SignOutEverywhere revokes every session of a person.
func (s *Service) SignOutEverywhere(ctx context.Context, personID int64) (int64, error) {
	var n int64
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		var err error
		n, err = s.revokeAll(ctx, tx, personID)
		if err != nil {
			return err
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "auth.signout_everywhere", ObjectType: "person",
			ObjectID: fmt.Sprint(personID), SubjectID: personID, Summary: map[string]int64{"sessions": n}})
		return err
	})
	return n, err
}

func (s *Service) revokeAll(ctx context.Context, tx *db.Tx, personID int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $2 WHERE person_id = $1 AND revoked_at IS NULL`, personID, db.Time(s.now()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// UpdateProfile changes a person's own name and language.
func (s *Service) UpdateProfile(ctx context.Context, p *Principal, name, lang string) error {
	name = strings.Join(strings.Fields(name), " ")
	f := &web.Fields{}
	if len([]rune(name)) > 100 {
		f.Add("name", "auth.name_long")
	}
	if !i18n.Supported(lang) {
		f.Add("lang", "auth.lang_invalid")
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE people SET name = $2, lang = $3 WHERE id = $1`, p.ID, name, lang); err != nil {
			return err
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "person.update", ObjectType: "person", ObjectID: fmt.Sprint(p.ID),
			SubjectID: p.ID, Summary: map[string]string{"name": name, "lang": lang}})
		return err
	})
}

// ChangePassword changes an officer's own password after checking the old one.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, old, next, confirm string) error {
	if err := s.limit(ctx, "pwchange:"+fmt.Sprint(p.ID), changePerUser); err != nil {
		return err
	}
	a, err := s.Store.accountByUsername(ctx, s.DB.R(), p.Username)
	if err != nil {
		return err
	}
	f := &web.Fields{}
	if !CheckPassword(a.PasswordHash, old) {
		f.Add("old", "auth.password_wrong")
	}
	if key := PasswordProblem(next, p.Username); key != "" {
		f.Add("new", key)
	} else if next != confirm {
		f.Add("confirm", "auth.password_mismatch")
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET password_hash = $2 WHERE person_id = $1`, p.ID, HashPassword(next)); err != nil {
			return err
		}
		// Every other session ends: whoever knew the old password is out.
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $3 WHERE person_id = $1 AND id <> $2 AND revoked_at IS NULL`,
			p.ID, p.SessionID, db.Time(s.now())); err != nil {
			return err
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "account.password_change", ObjectType: "account", ObjectID: p.Username, SubjectID: p.ID})
		return err
	})
}

// commonPasswords are refused outright (a short list of the most used).
var commonPasswords = map[string]bool{
	"password1234": true, "123456789012": true, "qwertyuiop12": true, "mizoram12345": true, "aizawl123456": true,
	"passwordpassword": true, "iloveyou1234": true, "admin1234567": true, "welcome12345": true, "111111111111": true,
}

// PasswordProblem returns the message key of what is wrong with a new password.
func PasswordProblem(pw, username string) string {
	n := len([]rune(pw))
	switch {
	case n < 12:
		return "auth.password_short"
	case n > 128:
		return "auth.password_long"
	case commonPasswords[strings.ToLower(pw)] || strings.Contains(strings.ToLower(pw), strings.ToLower(username)) && username != "":
		return "auth.password_common"
	}
	return ""
}
