package permits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/docs"
	"mizogov/internal/payments"
	"mizogov/internal/refno"
	"mizogov/internal/web"
)

// Service name of the demands the permits service raises.
const payService = "permits"

// raiseFee makes the fee of an approved application due, inside tx.
func (s *Service) raiseFee(ctx context.Context, tx *db.Tx, a Application) (int64, error) {
	var applicant string
	if err := tx.QueryRowContext(ctx, `SELECT name FROM people WHERE id = $1`, a.ApplicantID).Scan(&applicant); err != nil {
		return 0, err
	}
	if applicant == "" && len(a.Members) > 0 {
		applicant = a.Members[0].Name
	}
	head, what := "ILP_FEE", "Inner Line Permit fee"
	if a.Kind == "extension" {
		head, what = "ILP_EXTENSION_FEE", "Inner Line Permit extension fee"
	}
	return s.Payments.Raise(ctx, tx, payments.NewDemand{Service: payService, ConsumerCode: a.Number, Purpose: "fee",
		PayerID: a.ApplicantID, PayerName: applicant,
		Description: fmt.Sprintf("%s, %s, %d × %s", what, a.TypeCode, len(a.Members), payments.Rupees(a.FeePaise)),
		Lines:       []payments.Line{{Head: head, AmountPaise: a.TotalPaise()}}})
}

// Pay starts paying the fee of an approved application.
func (s *Service) Pay(ctx context.Context, person, id int64) (payments.Started, error) {
	a, err := s.application(ctx, s.DB.R(), id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && a.ApplicantID != person) {
		return payments.Started{}, web.NotFound()
	}
	if err != nil {
		return payments.Started{}, err
	}
	if a.Status != StApproved || a.DemandID == 0 {
		return payments.Started{}, web.Conflict("permits.not_payable")
	}
	return s.Payments.Start(ctx, a.DemandID, person, fmt.Sprintf("/permits/applications/%d", a.ID))
}

// OnPaid issues the permits of an application whose fee was paid: it runs
// in the payment's transaction, so a permit exists exactly when its fee is
// paid.
func (s *Service) OnPaid(ctx context.Context, tx *db.Tx, d payments.Demand, r payments.Receipt) error {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM permit_applications WHERE demand_id = $1`, d.ID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("permits: no application for demand %d", d.ID)
	}
	if err != nil {
		return err
	}
	a, err := s.application(ctx, tx, id)
	if err != nil {
		return err
	}
	if a.Status != StApproved {
		return fmt.Errorf("permits: application %s is %s, not approved", a.Number, a.Status)
	}
	return s.issueNow(ctx, tx, a, r.Number)
}

// issueNow issues the permits of an approved application (or extends
// them) and closes its case, inside tx.
func (s *Service) issueNow(ctx context.Context, tx *db.Tx, a Application, receipt string) error {
	var err error
	if a.Kind == "extension" {
		err = s.extendPermits(ctx, tx, a)
	} else {
		err = s.issuePermits(ctx, tx, a)
	}
	if err != nil {
		return err
	}
	if err := s.markIssued(ctx, tx, a); err != nil {
		return err
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "permits.issue", ObjectType: "permit_application", ObjectID: a.Number,
		SubjectID: a.ApplicantID, Summary: map[string]any{"receipt": receipt, "people": len(a.Members), "kind": a.Kind},
		Actor: audit.System("permits")})
	return err
}

// validity is the window of a new permit: from the day of entry (or today,
// if the office approved late) for the type's number of days.
func validity(a Application, now time.Time) (time.Time, time.Time) {
	from := a.EntryDate.In(ist)
	if today := dayStart(now); from.Before(today) {
		from = today
	}
	return from, from.AddDate(0, 0, a.ValidityDays)
}

func (s *Service) sign(ctx context.Context, tx *db.Tx, a Application, number, name, idMasked string, from, to time.Time) (docs.Issued, error) {
	return s.Docs.Issue(ctx, tx, docs.Doc{Type: DocType, Number: number, SubjectID: a.ApplicantID, NotBefore: from, Expires: to,
		Claims: map[string]any{"ptp": a.TypeCode, "name": name, "idm": idMasked, "ep": a.EntryPoint}})
}

func (s *Service) issuePermits(ctx context.Context, tx *db.Tx, a Application) error {
	now := s.now()
	from, to := validity(a, now)
	for _, m := range a.Members {
		number, err := refno.Next(ctx, tx, "ILP", now)
		if err != nil {
			return err
		}
		doc, err := s.sign(ctx, tx, a, number, m.Name, m.IDMasked, from, to)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO permits (number, application_id, member_id, holder_id, type_code, holder_name, id_masked,
			district_id, entry_point, valid_from, valid_to, status, doc_id, token, issued_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $13, $14, $14)`,
			number, a.ID, m.ID, a.ApplicantID, a.TypeCode, m.Name, m.IDMasked, nullID(a.DistrictID), a.EntryPoint,
			db.Time(from), db.Time(to), doc.ID, doc.Token, db.Time(now)); err != nil {
			return err
		}
	}
	return nil
}

// extendPermits lengthens the active permits of the extended application
// and signs new documents for them; the old documents simply end sooner.
func (s *Service) extendPermits(ctx context.Context, tx *db.Tx, a Application) error {
	parent, err := s.application(ctx, tx, a.ParentID)
	if err != nil {
		return err
	}
	list, err := s.PermitsOf(ctx, tx, parent.ID)
	if err != nil {
		return err
	}
	now := s.now()
	n := 0
	for _, p := range list {
		if p.Status != PermitActive {
			continue
		}
		from, to := p.ValidFrom, p.ValidTo.AddDate(0, 0, a.ValidityDays)
		doc, err := s.sign(ctx, tx, parent, p.Number, p.HolderName, p.IDMasked, from, to)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE permits SET valid_to = $2, doc_id = $3, token = $4, extensions = extensions + 1, updated_at = $5
			WHERE id = $1 AND status = 'active'`, p.ID, db.Time(to), doc.ID, doc.Token, db.Time(now)); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return errors.New("permits: no active permit to extend")
	}
	return nil
}
