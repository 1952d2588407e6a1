package audit

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
)

// TestVerifyInRanges checks tampering found at and between range borders
// when the chain is verified in several parts.
func TestVerifyInRanges(t *testing.T) {
	cases := []struct {
		name  string
		stmts []string
		want  int64
	}{
		{"intact", nil, 0},
		{"edit at a border", []string{`UPDATE audit_log SET actor = 'x' WHERE id = 11`}, 11},
		{"delete at a border", []string{`DELETE FROM audit_log WHERE id = 11`}, 11},
		{"delete a whole range", []string{`DELETE FROM audit_log WHERE id BETWEEN 11 AND 20`}, 11},
		{"swap across a border", []string{`UPDATE audit_log SET id = 100 WHERE id = 10`, `UPDATE audit_log SET id = 10 WHERE id = 11`, `UPDATE audit_log SET id = 11 WHERE id = 100`}, 10},
		{"extra entry at the end", []string{`INSERT INTO audit_log (id, at, actor, action, object_type, object_id, summary, request_id, ip, prev_hash, hash)
			SELECT 31, at, actor, action, object_type, object_id, summary, request_id, ip, hash, 'x' FROM audit_log WHERE id = 30`}, 31},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				l := &Log{}
				for i := range 30 {
					d.Tx(ctx, func(tx *db.Tx) error {
						_, err := l.Append(ctx, tx, Event{Action: "t", ObjectType: "o", ObjectID: fmt.Sprint(i), Actor: System("t")})
						return err
					})
				}
				if d.Dialect == db.SQLite {
					d.W().Exec(`DROP TRIGGER audit_log_no_update`)
					d.W().Exec(`DROP TRIGGER audit_log_no_delete`)
				} else {
					d.W().Exec(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change`)
				}
				for _, s := range tc.stmts {
					if _, err := d.W().Exec(s); err != nil {
						t.Fatal(err)
					}
				}
				// 30 entries in ranges of 10 (the threshold is lowered by asking for parts directly).
				n, err := verifyParts(ctx, d, 3)
				var ve *VerifyError
				if tc.want == 0 {
					if err != nil || n != 30 {
						t.Fatalf("%d %v", n, err)
					}
					return
				}
				if !errors.As(err, &ve) || ve.ID != tc.want {
					t.Fatalf("got %v, want entry %d", err, tc.want)
				}
			})
		})
	}
}
