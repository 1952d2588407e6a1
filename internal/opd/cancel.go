package opd

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/web"
)

// OwnBooking loads a booking of one of the account's patients; anyone
// else's is not found.
func (s *Service) OwnBooking(ctx context.Context, accountID, id int64) (Booking, error) {
	b, err := s.Booking(ctx, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && b.AccountID != accountID) {
		return Booking{}, web.NotFound()
	}
	return b, err
}

// Cancel cancels a citizen's own booking before its session starts. The
// place goes back to the session in the same transaction.
func (s *Service) Cancel(ctx context.Context, p *auth.Principal, id int64) (Booking, error) {
	b, err := s.OwnBooking(ctx, p.ID, id)
	if err != nil {
		return b, err
	}
	now := s.now()
	if !now.Before(b.StartsAt) {
		return b, refusal("too_late", "opd.cancel_too_late")
	}
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		if err := s.cancelIn(ctx, tx, b, "patient", now); err != nil {
			return err
		}
		_, err := s.Notify.EnqueueFor(ctx, tx, b.AccountID, "opd.cancelled", map[string]string{"patient": b.PatientName,
			"hospital": b.HospitalName, "department": b.DepartmentNm, "day": dayShown(b.Day), "token": strconv.Itoa(b.Token),
			"refno": b.Refno, "reason": ""})
		return err
	})
	if err != nil {
		return b, err
	}
	s.Booker.Forget(b.SessionID)
	return s.Booking(ctx, id)
}

// cancelIn cancels b inside tx if it still holds its place, and frees the
// place in its channel. Only a booking not yet at the hospital is cancelled.
func (s *Service) cancelIn(ctx context.Context, tx *db.Tx, b Booking, reason string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE opd_bookings SET status = 'cancelled', cancelled_at = $2, cancel_reason = $3
		WHERE id = $1 AND status = 'booked'`, b.ID, db.Time(now), reason)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return refusal("not_cancellable", "opd.not_cancellable")
	}
	if err := s.revokeCard(ctx, tx, b.ID, "booking cancelled: "+reason); err != nil {
		return err
	}
	col := "online_booked"
	if b.Channel == ChannelCounter {
		col = "counter_booked"
	}
	if _, err := tx.ExecContext(ctx, `UPDATE opd_sessions SET `+col+` = `+col+` - 1 WHERE id = $1`, b.SessionID); err != nil {
		return err
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "opd.cancel", ObjectType: "opd_booking", ObjectID: strconv.FormatInt(b.ID, 10),
		SubjectID: b.AccountID, Summary: map[string]any{"refno": b.Refno, "reason": reason}})
	return err
}

func (s *Service) cancelPost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.Cancel(r.Context(), auth.PrincipalOf(r), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/opd/bookings/"+strconv.FormatInt(id, 10)+"?done=cancelled", http.StatusSeeOther)
	return nil
}

// pathID reads a numeric path value; a malformed one is not found.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, web.NotFound()
	}
	return id, nil
}
