package permits

import (
	"context"

	"mizogov/internal/db"
)

// The issuing office's actions (verify, ask for correction, approve,
// reject, revoke) run on the workflow engine; until it is in the core, the
// effects of each step live here and the steps themselves are not exposed.

// approved is the effect of approval: the fee becomes due.
func (s *Service) approved(ctx context.Context, tx *db.Tx, a Application) error {
	id, err := s.raiseFee(ctx, tx, a)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE permit_applications SET demand_id = $2, status = 'approved', decided_at = $3 WHERE id = $1`,
		a.ID, id, db.Time(s.now()))
	return err
}

// markIssued is the step the payment takes: approved → issued.
func (s *Service) markIssued(ctx context.Context, tx *db.Tx, a Application) error {
	ok, err := touch(ctx, tx, a.ID, a.Version, s.now(), ", status = 'issued'", nil, StApproved)
	if err != nil || !ok {
		return staleOr(err)
	}
	return nil
}
