package permits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/web"
)

// PermitType is one dated version of a permit type's rules.
type PermitType struct {
	ID                int64      `json:"id"`
	Code              string     `json:"code" enum:"TEMP,STAY,REGULAR,TRADER"`
	Name              string     `json:"name"`
	NameLus           string     `json:"name_lus"`
	ValidityDays      int        `json:"validity_days"`
	FeePaise          int64      `json:"fee_paise"`
	SponsorRequired   bool       `json:"sponsor_required"`
	GSTRequired       bool       `json:"gst_required"`
	Purposes          []string   `json:"purposes"`
	MaxExtensions     int        `json:"max_extensions"`
	ExtensionFeePaise int64      `json:"extension_fee_paise"`
	RenewMinDays      int        `json:"renew_min_days" doc:"an extension must be asked for at least this many days before expiry"`
	EffectiveFrom     time.Time  `json:"effective_from"`
	EffectiveTo       *time.Time `json:"effective_to,omitempty"`
}

// Label is the type's name in lang.
func (t PermitType) Label(lang string) string {
	if lang == "lus" {
		return t.NameLus
	}
	return t.Name
}

// Allows reports whether purpose is allowed for the type.
func (t PermitType) Allows(purpose string) bool { return slices.Contains(t.Purposes, purpose) }

const typeCols = `id, code, name, name_lus, validity_days, fee_paise, sponsor_required, gst_required, purposes, max_extensions,
	extension_fee_paise, renew_min_days, effective_from, effective_to`

func scanType(row interface{ Scan(...any) error }) (PermitType, error) {
	var t PermitType
	var purposes string
	var to sql.NullTime
	err := row.Scan(&t.ID, &t.Code, &t.Name, &t.NameLus, &t.ValidityDays, &t.FeePaise, &t.SponsorRequired, &t.GSTRequired, &purposes,
		&t.MaxExtensions, &t.ExtensionFeePaise, &t.RenewMinDays, &t.EffectiveFrom, &to)
	if errors.Is(err, sql.ErrNoRows) {
		return t, db.ErrNotFound
	}
	t.Purposes = strings.Split(purposes, ",")
	if to.Valid {
		v := to.Time
		t.EffectiveTo = &v
	}
	return t, err
}

// TypesAt lists the rules in force at t, one per type code.
func (s *Service) TypesAt(ctx context.Context, q db.Querier, t time.Time) ([]PermitType, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+typeCols+` FROM permit_types
		WHERE effective_from <= $1 AND (effective_to IS NULL OR effective_to > $1)
		ORDER BY fee_paise, code`, db.Time(t))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PermitType
	for rows.Next() {
		pt, err := scanType(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, pt)
	}
	return out, rows.Err()
}

// TypeAt returns the rules of a type code in force at t.
func (s *Service) TypeAt(ctx context.Context, q db.Querier, code string, t time.Time) (PermitType, error) {
	return scanType(q.QueryRowContext(ctx, `SELECT `+typeCols+` FROM permit_types
		WHERE code = $1 AND effective_from <= $2 AND (effective_to IS NULL OR effective_to > $2)`, code, db.Time(t)))
}

// TypeByID returns one version of the rules.
func (s *Service) TypeByID(ctx context.Context, q db.Querier, id int64) (PermitType, error) {
	return scanType(q.QueryRowContext(ctx, `SELECT `+typeCols+` FROM permit_types WHERE id = $1`, id))
}

// TypeHistory lists every version of every type, newest first within each code.
func (s *Service) TypeHistory(ctx context.Context) ([]PermitType, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+typeCols+` FROM permit_types ORDER BY code, effective_from DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PermitType
	for rows.Next() {
		pt, err := scanType(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, pt)
	}
	return out, rows.Err()
}

// RuleChange is a new version of a type's rules, from a date.
type RuleChange struct {
	Code              string   `json:"code"`
	Name              string   `json:"name"`
	NameLus           string   `json:"name_lus"`
	ValidityDays      int      `json:"validity_days"`
	FeePaise          int64    `json:"fee_paise"`
	SponsorRequired   bool     `json:"sponsor_required"`
	GSTRequired       bool     `json:"gst_required"`
	Purposes          []string `json:"purposes"`
	MaxExtensions     int      `json:"max_extensions"`
	ExtensionFeePaise int64    `json:"extension_fee_paise"`
	RenewMinDays      int      `json:"renew_min_days"`
	EffectiveFrom     string   `json:"effective_from" doc:"the first day (IST) the rules apply, YYYY-MM-DD; today or later"`
}

// validate checks a change and returns the day it starts.
func (c *RuleChange) validate(now time.Time) (time.Time, error) {
	f := &web.Fields{}
	c.Code = strings.ToUpper(strings.TrimSpace(c.Code))
	c.Name, c.NameLus = strings.TrimSpace(c.Name), strings.TrimSpace(c.NameLus)
	if c.Code == "" || len(c.Code) > 12 || strings.Trim(c.Code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		f.Add("code", "permits.rule_code")
	}
	if c.Name == "" || len(c.Name) > 80 {
		f.Add("name", "permits.rule_name")
	}
	if c.NameLus == "" || len(c.NameLus) > 80 {
		f.Add("name_lus", "permits.rule_name")
	}
	if c.ValidityDays < 1 || c.ValidityDays > 1095 {
		f.Add("validity_days", "permits.rule_validity")
	}
	if c.FeePaise < 0 || c.FeePaise > 100_000_00 {
		f.Add("fee_paise", "permits.rule_fee")
	}
	if c.ExtensionFeePaise < 0 || c.ExtensionFeePaise > 100_000_00 {
		f.Add("extension_fee_paise", "permits.rule_fee")
	}
	if c.MaxExtensions < 0 || c.MaxExtensions > 10 {
		f.Add("max_extensions", "permits.rule_extensions")
	}
	if c.RenewMinDays < 0 || c.RenewMinDays > 60 {
		f.Add("renew_min_days", "permits.rule_renew_days")
	}
	if len(c.Purposes) == 0 {
		f.Add("purposes", "permits.rule_purposes")
	}
	for _, p := range c.Purposes {
		if !slices.Contains(Purposes, p) {
			f.Add("purposes", "permits.rule_purposes")
		}
	}
	from, err := time.ParseInLocation("2006-01-02", c.EffectiveFrom, ist)
	if err != nil {
		f.Add("effective_from", "form.date_invalid")
	} else if from.Before(dayStart(now)) {
		f.Add("effective_from", "permits.rule_past")
	}
	return from, f.Err()
}

// ChangeRules adds a version of a type's rules from a date (today or
// later). The version in force then ends that day; nothing already applied
// for or issued changes, since applications keep the version they used.
func (s *Service) ChangeRules(ctx context.Context, c RuleChange) (PermitType, error) {
	now := s.now()
	from, err := c.validate(now)
	if err != nil {
		return PermitType{}, err
	}
	slices.Sort(c.Purposes)
	c.Purposes = slices.Compact(c.Purposes)
	var out PermitType
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		// The newest version must start before the new one.
		var latestID int64
		var latest time.Time
		err := tx.QueryRowContext(ctx, `SELECT id, effective_from FROM permit_types WHERE code = $1 ORDER BY effective_from DESC LIMIT 1`,
			c.Code).Scan(&latestID, &latest)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case !from.After(latest):
			f := &web.Fields{}
			f.Add("effective_from", "permits.rule_after_latest", "date", latest.In(ist).Format("02-01-2006"))
			return f.Err()
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE permit_types SET effective_to = $2 WHERE id = $1`, latestID, db.Time(from)); err != nil {
				return err
			}
		}
		var id int64
		actor := audit.ActorOf(ctx)
		err = tx.QueryRowContext(ctx, `INSERT INTO permit_types (code, name, name_lus, validity_days, fee_paise, sponsor_required, gst_required,
			purposes, max_extensions, extension_fee_paise, renew_min_days, effective_from, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
			c.Code, c.Name, c.NameLus, c.ValidityDays, c.FeePaise, c.SponsorRequired, c.GSTRequired, strings.Join(c.Purposes, ","),
			c.MaxExtensions, c.ExtensionFeePaise, c.RenewMinDays, db.Time(from), db.Time(now), nullID(actor.ID)).Scan(&id)
		if err != nil {
			return err
		}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.rules_change", ObjectType: "permit_type", ObjectID: fmt.Sprint(id),
			Summary: c}); err != nil {
			return err
		}
		out, err = s.TypeByID(ctx, tx, id)
		return err
	})
	return out, err
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
