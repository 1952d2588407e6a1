package permits

import (
	"context"
	"errors"
	"fmt"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/refno"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// Apply records a new application by person (the lead applicant) as a
// draft, or submits it at once when in.Submit is set.
func (s *Service) Apply(ctx context.Context, person int64, in ApplyInput) (Application, error) {
	var out Application
	err := s.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		out, err = s.applyTx(ctx, tx, person, in)
		return err
	})
	return out, err
}

func (s *Service) applyTx(ctx context.Context, tx *db.Tx, person int64, in ApplyInput) (Application, error) {
	now := s.now()
	f := &web.Fields{}
	typ, typErr := s.TypeAt(ctx, tx, in.Type, now)
	if typErr != nil && !errors.Is(typErr, db.ErrNotFound) {
		return Application{}, typErr
	}
	c := checkApplication(&in, typ, typErr, f, now)
	switch {
	case len(in.Members) == 0:
		f.Add("members", "permits.members_none")
	case len(in.Members) > MaxMembers:
		f.Add("members", "permits.members_too_many", "max", MaxMembers)
	}
	var members []Member
	seen := map[string]bool{}
	for i := range in.Members {
		prefix := ""
		if i > 0 || len(in.Members) > 1 {
			prefix = fmt.Sprintf("members.%d.", i)
		}
		m := in.Members[i].member(f, prefix, now)
		if seen[m.IDType+m.IDNumber] {
			f.Add(prefix+"id_number", "permits.id_duplicate")
		}
		seen[m.IDType+m.IDNumber] = true
		m.Seq = i + 1
		members = append(members, m)
	}
	if err := f.Err(); err != nil {
		return Application{}, err
	}
	number, err := refno.Next(ctx, tx, "ILA", now)
	if err != nil {
		return Application{}, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO permit_applications (number, kind, applicant_id, type_id, type_code, validity_days, fee_paise,
		purpose, places, entry_point, district_id, entry_date, local_contact, gst_number, sponsor_epic, status, created_at, updated_at)
		VALUES ($1, 'new', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'draft', $15, $15) RETURNING id`,
		number, person, typ.ID, typ.Code, typ.ValidityDays, typ.FeePaise, c.in.Purpose, c.in.Places, c.entry.Code,
		nullID(s.districtID(ctx, tx, c.entry)), db.Time(c.date), c.in.LocalContact, c.in.GSTNumber, c.in.SponsorEPIC, db.Time(now)).Scan(&id)
	if err != nil {
		return Application{}, err
	}
	for _, m := range members {
		if err := insertMember(ctx, tx, id, m); err != nil {
			return Application{}, err
		}
	}
	if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.apply", ObjectType: "permit_application", ObjectID: number,
		SubjectID: person, Summary: map[string]any{"type": typ.Code, "people": len(members), "entry_point": c.entry.Code}}); err != nil {
		return Application{}, err
	}
	a, err := s.application(ctx, tx, id)
	if err != nil || !in.Submit {
		return a, err
	}
	return s.submitTx(ctx, tx, a)
}

func insertMember(ctx context.Context, tx *db.Tx, appID int64, m Member) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO permit_members (application_id, seq, name, gender, birth_date, phone, address, id_type, id_number,
		id_masked, photo_file_id, id_scan_file_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, appID, m.Seq, m.Name, m.Gender,
		db.Time(m.BirthDate), m.Phone, m.Address, m.IDType, m.IDNumber, m.IDMasked, nullID(m.PhotoFile), nullID(m.IDScanFile))
	return err
}

// districtID is the id of the entry point's district (0 for Mizoram Houses).
func (s *Service) districtID(ctx context.Context, q db.Querier, e EntryPoint) int64 {
	if e.District == "" {
		return 0
	}
	var id int64
	if err := q.QueryRowContext(ctx, `SELECT id FROM districts WHERE name = $1`, e.District).Scan(&id); err != nil {
		return 0
	}
	return id
}

// own loads an application of person for a change, inside tx. Someone
// else's application is "not found".
func (s *Service) own(ctx context.Context, tx *db.Tx, person, id int64) (Application, error) {
	a, err := s.application(ctx, tx, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && a.ApplicantID != person) {
		return a, web.NotFound()
	}
	return a, err
}

// AddMember adds a person to a draft (or an application sent back for
// correction) of a group.
func (s *Service) AddMember(ctx context.Context, person, id int64, in MemberInput) (Application, error) {
	var out Application
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		a, err := s.own(ctx, tx, person, id)
		if err != nil {
			return err
		}
		if !a.Editable() {
			return web.Conflict("permits.not_editable")
		}
		if len(a.Members) >= MaxMembers {
			return web.Conflict("permits.members_too_many", "max", MaxMembers)
		}
		f := &web.Fields{}
		m := in.member(f, "", s.now())
		for _, o := range a.Members {
			if o.IDType == m.IDType && o.IDNumber == m.IDNumber {
				f.Add("id_number", "permits.id_duplicate")
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		m.Seq = a.Members[len(a.Members)-1].Seq + 1
		if m.Seq > MaxMembers {
			m.Seq = firstFreeSeq(a.Members)
		}
		if ok, err := touch(ctx, tx, a.ID, a.Version, s.now(), "", nil, StDraft, StCorrection); err != nil || !ok {
			return staleOr(err)
		}
		if err := insertMember(ctx, tx, a.ID, m); err != nil {
			return err
		}
		if err := s.resetSponsor(ctx, tx, a.ID); err != nil {
			return err
		}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.member_add", ObjectType: "permit_application", ObjectID: a.Number,
			SubjectID: person, Summary: map[string]any{"seq": m.Seq}}); err != nil {
			return err
		}
		out, err = s.application(ctx, tx, a.ID)
		return err
	})
	return out, err
}

func firstFreeSeq(ms []Member) int {
	used := map[int]bool{}
	for _, m := range ms {
		used[m.Seq] = true
	}
	for i := 1; i <= MaxMembers; i++ {
		if !used[i] {
			return i
		}
	}
	return MaxMembers + 1
}

// RemoveMember removes a person (not the lead) from an editable application.
func (s *Service) RemoveMember(ctx context.Context, person, id, memberID int64) (Application, error) {
	var out Application
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		a, err := s.own(ctx, tx, person, id)
		if err != nil {
			return err
		}
		if !a.Editable() {
			return web.Conflict("permits.not_editable")
		}
		var seq int
		for _, m := range a.Members {
			if m.ID == memberID {
				seq = m.Seq
			}
		}
		if seq == 0 {
			return web.NotFound()
		}
		if seq == 1 {
			return web.Conflict("permits.lead_stays")
		}
		if ok, err := touch(ctx, tx, a.ID, a.Version, s.now(), "", nil, StDraft, StCorrection); err != nil || !ok {
			return staleOr(err)
		}
		if err := s.resetSponsor(ctx, tx, a.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM permit_members WHERE id = $1 AND application_id = $2`, memberID, a.ID); err != nil {
			return err
		}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.member_remove", ObjectType: "permit_application", ObjectID: a.Number,
			SubjectID: person, Summary: map[string]any{"seq": seq}}); err != nil {
			return err
		}
		out, err = s.application(ctx, tx, a.ID)
		return err
	})
	return out, err
}

func staleOr(err error) error {
	if err != nil {
		return err
	}
	return web.Conflict("permits.stale")
}

// Submit sends a draft (or a corrected application) to the sponsor or, when
// no sponsor is needed or the sponsor has confirmed, to the issuing office.
func (s *Service) Submit(ctx context.Context, person, id int64) (Application, error) {
	var out Application
	err := s.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		a, err := s.own(ctx, tx, person, id)
		if err != nil {
			return err
		}
		out, err = s.submitTx(ctx, tx, a)
		return err
	})
	return out, err
}

func (s *Service) submitTx(ctx context.Context, tx *db.Tx, a Application) (Application, error) {
	if !a.Editable() {
		return a, web.Conflict("permits.not_editable")
	}
	now := s.now()
	if key := entryDateProblem(a.EntryDate, now); key != "" && a.Kind == "new" {
		f := &web.Fields{}
		f.Add("entry_date", key, "days", MaxAheadDays)
		return a, f.Err()
	}
	if len(a.Members) == 0 {
		return a, web.Conflict("permits.members_none")
	}
	if err := s.checkDocuments(a); err != nil {
		return a, err
	}
	next := StSubmitted
	if a.SponsorEPIC != "" && a.SponsorID == 0 {
		next = StSponsorPending
	}
	ok, err := touch(ctx, tx, a.ID, a.Version, now, ", status = $4, submitted_at = $3", []any{next}, StDraft, StCorrection)
	if err != nil || !ok {
		return a, staleOr(err)
	}
	if next == StSubmitted {
		if err := s.toOffice(ctx, tx, a.ID, ownerActor(a.ApplicantID)); err != nil {
			return a, err
		}
	}
	if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.submit", ObjectType: "permit_application", ObjectID: a.Number,
		SubjectID: a.ApplicantID, Summary: map[string]string{"status": next}}); err != nil {
		return a, err
	}
	if _, err := s.Notify.EnqueueFor(ctx, tx, a.ApplicantID, "permits.submitted", map[string]string{"number": a.Number}); err != nil {
		return a, err
	}
	if next == StSponsorPending {
		if err := s.askSponsor(ctx, tx, a); err != nil {
			return a, err
		}
	}
	return s.application(ctx, tx, a.ID)
}

// Cancel withdraws an application before it is issued, or cancels the
// issued permits (the holder will not travel, or leaves early). The
// sponsor's places are freed, an unpaid fee is withdrawn, and cancelled
// permits are published as revoked so that gates refuse them, offline too.
func (s *Service) Cancel(ctx context.Context, person, id int64) (Application, error) {
	var out Application
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		a, err := s.own(ctx, tx, person, id)
		if err != nil {
			return err
		}
		switch {
		case a.Status == StCancelled || a.Status == StRejected || a.Status == "revoked":
			return web.Conflict("permits.not_cancellable")
		case a.Kind == "extension" && a.Status == StIssued:
			return web.Conflict("permits.cancel_parent")
		}
		if a.CaseID != 0 {
			if _, err := s.step(ctx, tx, a, "cancel", ownerActor(person), 0, ""); err != nil {
				return err
			}
		} else {
			ok, err := touch(ctx, tx, a.ID, a.Version, s.now(), ", status = 'cancelled', decided_at = $3", nil,
				StDraft, StSponsorPending, StSponsorDeclined)
			if err != nil || !ok {
				return staleOr(err)
			}
		}
		if a.DemandID != 0 {
			d, err := s.Payments.Demand(ctx, tx, a.DemandID)
			if err != nil {
				return err
			}
			if d.Status == "open" {
				if err := s.Payments.Cancel(ctx, tx, a.DemandID); err != nil {
					return err
				}
			}
		}
		if a.Status == StIssued {
			err = s.endPermits(ctx, tx, a.ID, PermitCancelled, "cancelled by the holder")
		} else {
			err = s.releaseSponsorships(ctx, tx, a.ID, "cancelled")
		}
		if err != nil {
			return err
		}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.cancel", ObjectType: "permit_application", ObjectID: a.Number,
			SubjectID: a.ApplicantID, Summary: map[string]string{"was": a.Status}}); err != nil {
			return err
		}
		out, err = s.application(ctx, tx, a.ID)
		return err
	})
	return out, err
}

// endPermits cancels or revokes the active permits of an application
// and their documents, and frees the sponsor's places.
func (s *Service) endPermits(ctx context.Context, tx *db.Tx, appID int64, status, reason string) error {
	list, err := s.PermitsOf(ctx, tx, appID)
	if err != nil {
		return err
	}
	now := db.Time(s.now())
	for _, p := range list {
		if p.Status != PermitActive {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE permits SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1 AND status = 'active'`,
			p.ID, status, reason, now); err != nil {
			return err
		}
		if err := s.Docs.Revoke(ctx, tx, p.DocID, reason); err != nil {
			return err
		}
	}
	return s.releaseSponsorships(ctx, tx, appID, reason)
}

// toOffice sends an application to the issuing office: a new case, or the
// next step of a case that was sent back for correction.
func (s *Service) toOffice(ctx context.Context, tx *db.Tx, id int64, actor workflow.Actor) error {
	a, err := s.application(ctx, tx, id)
	if err != nil {
		return err
	}
	if a.CaseID == 0 {
		return s.openCase(ctx, tx, a, actor)
	}
	_, err = s.step(ctx, tx, a, "resubmit", actor, 0, "")
	return err
}

// checkDocuments asks for every person's photo and identity document scan.
func (s *Service) checkDocuments(a Application) error {
	f := &web.Fields{}
	for _, m := range a.Members {
		if m.PhotoFile == 0 {
			f.Add(fmt.Sprintf("photo_%d", m.ID), "permits.photo_missing", "name", m.Name)
		}
		if m.IDScanFile == 0 {
			f.Add(fmt.Sprintf("idscan_%d", m.ID), "permits.idscan_missing", "name", m.Name)
		}
	}
	return f.Err()
}
