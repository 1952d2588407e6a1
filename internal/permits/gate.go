package permits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/docs"
	"mizogov/internal/refno"
	"mizogov/internal/web"
)

// Answers a gate gives.
const (
	Valid       = "valid"
	Expired     = "expired"
	Revoked     = "revoked"
	NotYetValid = "not_yet_valid"
	Forged      = "forged"
)

// GateCheck is what a gate reads: the QR code's text, or a typed number.
type GateCheck struct {
	Token  string `json:"token,omitempty" doc:"the QR code's text (compact JWS)"`
	Number string `json:"number,omitempty" doc:"a permit number, typed"`
}

// GateResult is the answer for one permit.
type GateResult struct {
	Result     string     `json:"result" enum:"valid,expired,revoked,not_yet_valid,forged"`
	Reason     string     `json:"reason,omitempty" doc:"why a permit is forged (truncated, malformed, algorithm, unknown_key, signature, not_a_permit, unknown_permit) or revoked (revoked, cancelled)"`
	Number     string     `json:"number,omitempty"`
	Type       string     `json:"type,omitempty"`
	HolderName string     `json:"holder_name,omitempty"`
	IDMasked   string     `json:"id_masked,omitempty"`
	ValidFrom  *time.Time `json:"valid_from,omitempty"`
	ValidTo    *time.Time `json:"valid_to,omitempty"`
	Note       string     `json:"note,omitempty" doc:"the officer's reason for a revocation"`
	Kid        string     `json:"kid,omitempty"`
	Extended   bool       `json:"extended,omitempty" doc:"the permit was extended: a newer document exists"`
	PhotoURL   string     `json:"photo_url,omitempty"`
	LastEvent  string     `json:"last_event,omitempty" enum:"entry,exit"`
	LastGate   string     `json:"last_gate,omitempty"`
}

// permitClaims are the claims of a permit's token.
type permitClaims struct {
	Sub  string `json:"sub"`
	Jti  string `json:"jti"`
	Dtp  string `json:"dtp"`
	Ptp  string `json:"ptp"`
	Name string `json:"name"`
	Idm  string `json:"idm"`
	Nbf  int64  `json:"nbf"`
	Exp  int64  `json:"exp"`
}

func judge(now, from, to time.Time) string {
	switch {
	case now.Before(from):
		return NotYetValid
	case !now.Before(to):
		return Expired
	}
	return Valid
}

// Check answers whether a permit is good now. A token is verified against
// the published keys; then the register says whether the permit was
// revoked or cancelled, or extended since the document was printed.
func (s *Service) Check(ctx context.Context, in GateCheck) (GateResult, *Permit, error) {
	now := s.now()
	token := strings.TrimSpace(in.Token)
	if token == "" {
		number, _, err := refno.Parse(in.Number)
		if err != nil {
			return GateResult{Result: Forged, Reason: "unknown_permit"}, nil, nil
		}
		p, err := s.PermitByNumber(ctx, s.DB.R(), number)
		if errors.Is(err, db.ErrNotFound) {
			return GateResult{Result: Forged, Reason: "unknown_permit", Number: number}, nil, nil
		}
		if err != nil {
			return GateResult{}, nil, err
		}
		token = p.Token
	}
	v, err := s.Docs.Verify(ctx, token)
	if reason := docs.Reason(err); reason != "" {
		return GateResult{Result: Forged, Reason: reason}, nil, nil
	}
	if err != nil {
		return GateResult{}, nil, err
	}
	var c permitClaims
	if err := v.Claims(&c); err != nil || c.Dtp != DocType || c.Sub == "" || c.Exp == 0 {
		return GateResult{Result: Forged, Reason: "not_a_permit", Kid: v.Header.Kid}, nil, nil
	}
	from, to := time.Unix(c.Nbf, 0), time.Unix(c.Exp, 0)
	r := GateResult{Result: judge(now, from, to), Number: c.Sub, Type: c.Ptp, HolderName: c.Name, IDMasked: c.Idm,
		ValidFrom: &from, ValidTo: &to, Kid: v.Header.Kid}
	// One query: the register's permit, whether it has a photo, and its last gate event.
	var photo int64
	var kind, gate string
	p, err := scanGate(s.DB.R().QueryRowContext(ctx, `SELECT p.id, p.number, p.application_id, p.member_id, p.holder_id, p.type_code, p.holder_name, p.id_masked,
		COALESCE(p.district_id, 0), p.entry_point, p.valid_from, p.valid_to, p.status, p.status_reason, p.doc_id, p.token, p.extensions,
		p.issued_at, COALESCE(m.photo_file_id, 0),
		COALESCE(e.kind, ''), COALESCE(e.gate, '')
		FROM permits p JOIN permit_members m ON m.id = p.member_id
		LEFT JOIN permit_gate_events e ON e.id = (SELECT x.id FROM permit_gate_events x WHERE x.permit_id = p.id ORDER BY x.at DESC, x.id DESC LIMIT 1)
		WHERE p.number = $1`, c.Sub), &photo, &kind, &gate)
	if errors.Is(err, db.ErrNotFound) {
		return r, nil, nil // genuinely signed, not in this register (another node's backup?): judged on its own
	}
	if err != nil {
		return GateResult{}, nil, err
	}
	r.LastEvent, r.LastGate = kind, gate
	if photo != 0 {
		r.PhotoURL = "/permits/gate/photo/" + p.Number
	}
	switch p.Status {
	case PermitRevoked, PermitCancelled:
		r.Result, r.Reason, r.Note = Revoked, p.Status, p.StatusReason
	default:
		if p.DocID != c.Jti {
			// An older document of an extended permit: the register knows better.
			r.Extended = true
			vf, vt := p.ValidFrom, p.ValidTo
			r.ValidFrom, r.ValidTo, r.Result = &vf, &vt, judge(now, vf, vt)
		}
	}
	return r, &p, nil
}

// GateEvent is an entry or exit seen at a gate.
type GateEvent struct {
	EventID string    `json:"event_id" doc:"made by the gate (a UUID): an event sent twice is kept once"`
	Number  string    `json:"number" doc:"permit number"`
	Gate    string    `json:"gate" enum:"VRT,BRB,KHM,LPA,SRG"`
	Kind    string    `json:"kind" enum:"entry,exit"`
	Result  string    `json:"result" enum:"valid,expired,revoked,not_yet_valid,forged" doc:"what the gate showed"`
	At      time.Time `json:"at" doc:"when it happened at the gate"`
	Offline bool      `json:"offline,omitempty" doc:"recorded while the gate had no network"`
}

// GateEvents is a batch of events.
type GateEvents struct {
	Events []GateEvent `json:"events"`
}

// GateEventOutcome is what became of one event.
type GateEventOutcome struct {
	EventID string `json:"event_id"`
	Status  string `json:"status" enum:"recorded,duplicate,refused"`
	Error   string `json:"error,omitempty"`
}

// GateEventsResult answers a batch.
type GateEventsResult struct {
	Results []GateEventOutcome `json:"results"`
}

// eventProblem checks one event; it returns a message key or "".
func (s *Service) eventProblem(ev *GateEvent, now time.Time) string {
	ev.Number = strings.ToUpper(strings.TrimSpace(ev.Number))
	switch {
	case len(ev.EventID) < 8 || len(ev.EventID) > 64:
		return "permits.gate_event_id"
	case ev.Kind != "entry" && ev.Kind != "exit":
		return "permits.gate_kind"
	case ev.At.IsZero() || ev.At.After(now.Add(5*time.Minute)) || ev.At.Before(now.AddDate(0, 0, -30)):
		return "permits.gate_time"
	}
	if e, ok := EntryPointByCode(ev.Gate); !ok || !e.Gate {
		return "permits.gate_unknown"
	}
	switch ev.Result {
	case Valid, Expired, Revoked, NotYetValid, Forged:
	default:
		return "permits.gate_result"
	}
	return ""
}

// Record stores gate events by officer p. Each is checked on its own: the
// officer must hold the gate role in the gate's district, the permit must
// exist, and an event id already recorded is reported as a duplicate.
func (s *Service) Record(ctx context.Context, p *auth.Principal, events []GateEvent) ([]GateEventOutcome, error) {
	if len(events) == 0 || len(events) > 500 {
		return nil, web.BadRequest("permits.gate_batch")
	}
	now := s.now()
	dept := s.homeDept(ctx)
	out := make([]GateEventOutcome, len(events))
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		for i := range events {
			ev := &events[i]
			out[i] = GateEventOutcome{EventID: ev.EventID, Status: "refused"}
			if key := s.eventProblem(ev, now); key != "" {
				out[i].Error = s.Render.Cat.T(web.Info(ctx).Lang, key)
				continue
			}
			gate, _ := EntryPointByCode(ev.Gate)
			if !p.CanIn(PermGate, dept, s.districtID(ctx, tx, gate)) {
				out[i].Error = s.Render.Cat.T(web.Info(ctx).Lang, "permits.gate_not_yours")
				continue
			}
			pm, err := s.PermitByNumber(ctx, tx, ev.Number)
			if errors.Is(err, db.ErrNotFound) {
				out[i].Error = s.Render.Cat.T(web.Info(ctx).Lang, "permits.gate_unknown_permit")
				continue
			}
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO permit_gate_events (event_id, permit_id, gate, kind, result, at, recorded_at, officer_id, offline)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id) DO NOTHING`,
				ev.EventID, pm.ID, ev.Gate, ev.Kind, ev.Result, db.Time(ev.At), db.Time(now), p.ID, ev.Offline)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				out[i].Status = "duplicate"
				continue
			}
			if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "permits.gate_" + ev.Kind, ObjectType: "permit", ObjectID: pm.Number,
				SubjectID: pm.HolderID, Summary: map[string]any{"gate": ev.Gate, "result": ev.Result, "at": ev.At.UTC(), "offline": ev.Offline}}); err != nil {
				return err
			}
			out[i].Status = "recorded"
		}
		return nil
	})
	return out, err
}

// mayView reports whether p may see permit pm: its holder, the issuing
// office of its district, or police at any gate.
func (s *Service) mayView(ctx context.Context, p *auth.Principal, pm Permit) bool {
	if p == nil {
		return false
	}
	return pm.HolderID == p.ID || p.Can(PermGate) || p.CanIn(PermProcess, s.homeDept(ctx), pm.DistrictID)
}

func eventID(prefix string, now time.Time) string {
	return fmt.Sprintf("%s-%d-%s", prefix, now.UnixMilli(), web.NewID())
}

// scanGate reads a permit row followed by extra columns.
func scanGate(row interface{ Scan(...any) error }, extra ...any) (Permit, error) {
	var p Permit
	dest := append([]any{&p.ID, &p.Number, &p.ApplicationID, &p.MemberID, &p.HolderID, &p.TypeCode, &p.HolderName, &p.IDMasked, &p.DistrictID,
		&p.EntryPoint, &p.ValidFrom, &p.ValidTo, &p.Status, &p.StatusReason, &p.DocID, &p.Token, &p.Extensions, &p.IssuedAt}, extra...)
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return p, db.ErrNotFound
	}
	return p, err
}
