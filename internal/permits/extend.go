package permits

import (
	"context"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/refno"
	"mizogov/internal/web"
)

// Extend asks to extend (renew) the issued permits of an application for
// another period of its type, under the rules in force today. It must come
// before the permits expire (for some types, a number of days before), no
// more often than the type allows, and a sponsored permit must be confirmed
// again by the same sponsor. The extension goes to the issuing office like
// a new application; once approved and paid, the permits get new documents.
func (s *Service) Extend(ctx context.Context, person, id int64) (Application, error) {
	var out Application
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		p, err := s.own(ctx, tx, person, id)
		if err != nil {
			return err
		}
		if p.Kind != "new" || p.Status != StIssued {
			return web.Conflict("permits.not_extendable")
		}
		now := s.now()
		typ, err := s.TypeAt(ctx, tx, p.TypeCode, now)
		if err != nil {
			return web.Conflict("permits.type_withdrawn")
		}
		permits, err := s.PermitsOf(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		var validTo time.Time
		active, extensions := 0, 0
		for _, pm := range permits {
			if pm.Status == PermitActive {
				active++
				validTo, extensions = pm.ValidTo, pm.Extensions
			}
		}
		switch {
		case active == 0:
			return web.Conflict("permits.not_extendable")
		case !now.Before(validTo):
			return web.Conflict("permits.extend_expired")
		case now.After(validTo.AddDate(0, 0, -typ.RenewMinDays)):
			return web.Conflict("permits.extend_too_late", "days", typ.RenewMinDays)
		case extensions >= typ.MaxExtensions:
			return web.Conflict("permits.extend_limit", "max", typ.MaxExtensions)
		}
		var pending int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM permit_applications WHERE parent_id = $1 AND status NOT IN ('issued', 'rejected', 'cancelled')`,
			p.ID).Scan(&pending); err != nil {
			return err
		}
		if pending > 0 {
			return web.Conflict("permits.extend_pending")
		}
		number, err := refno.Next(ctx, tx, "ILA", now)
		if err != nil {
			return err
		}
		status := StSubmitted
		if p.SponsorEPIC != "" {
			status = StSponsorPending
		}
		var eid int64
		err = tx.QueryRowContext(ctx, `INSERT INTO permit_applications (number, kind, parent_id, applicant_id, type_id, type_code, validity_days,
			fee_paise, purpose, places, entry_point, district_id, entry_date, local_contact, gst_number, sponsor_epic, status, created_at,
			submitted_at, updated_at) VALUES ($1, 'extension', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $17)
			RETURNING id`, number, p.ID, person, typ.ID, typ.Code, typ.ValidityDays, typ.ExtensionFeePaise, p.Purpose, p.Places, p.EntryPoint,
			nullID(p.DistrictID), db.Time(dayStart(validTo)), p.LocalContact, p.GSTNumber, p.SponsorEPIC, status, db.Time(now)).Scan(&eid)
		if err != nil {
			return err
		}
		for _, pm := range permits {
			if pm.Status != PermitActive {
				continue
			}
			for _, m := range p.Members {
				if m.ID == pm.MemberID {
					if err := insertMember(ctx, tx, eid, m); err != nil {
						return err
					}
				}
			}
		}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.extend", ObjectType: "permit_application", ObjectID: number,
			SubjectID: person, Summary: map[string]any{"extends": p.Number, "people": active}}); err != nil {
			return err
		}
		out, err = s.application(ctx, tx, eid)
		if err != nil {
			return err
		}
		if status == StSponsorPending {
			return s.askSponsor(ctx, tx, out)
		}
		if err := s.openCase(ctx, tx, out, ownerActor(person)); err != nil {
			return err
		}
		out, err = s.application(ctx, tx, eid)
		return err
	})
	return out, err
}
