package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/notify"
	"mizogov/internal/web"
)

// Engine runs every registered workflow on the platform database.
type Engine struct {
	DB     *db.DB
	Audit  *audit.Log
	Notify *notify.Service // nil: no notifications (tests of the engine alone)
	Log    *slog.Logger
	Now    func() time.Time
	// KnownRole, when set, refuses definitions naming roles it does not know
	// (pass auth.Policy.Known).
	KnownRole func(string) bool

	mu   sync.RWMutex
	defs map[string]*Definition
	cal  calendarCache

	failCase func(id int64) error // tests: make the sweep fail on a case
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Register validates a definition and makes it available. A definition is
// registered once, at start-up.
func (e *Engine) Register(d *Definition) error {
	var has func(string) bool
	if e.Notify != nil && e.Notify.Templates != nil {
		has = func(t string) bool {
			return e.Notify.Templates.Has(t, notify.SMS, "en") || e.Notify.Templates.Has(t, notify.Email, "en")
		}
	}
	if err := d.validate(e.KnownRole, has); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.defs == nil {
		e.defs = map[string]*Definition{}
	}
	if e.defs[d.Name] != nil {
		return fmt.Errorf("workflow %q is registered twice", d.Name)
	}
	e.defs[d.Name] = d
	return nil
}

// Definition returns a registered workflow, or nil.
func (e *Engine) Definition(name string) *Definition {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.defs[name]
}

func (e *Engine) definitions() []*Definition {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*Definition, 0, len(e.defs))
	for _, d := range e.defs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Case is the current state of one case.
type Case struct {
	ID           int64     `json:"id"`
	Type         string    `json:"type"`
	Ref          string    `json:"ref"`
	State        string    `json:"state"`
	Version      int       `json:"version"`
	Open         bool      `json:"open"`
	Paused       bool      `json:"paused"`
	DepartmentID int64     `json:"department_id,omitempty"`
	DistrictID   int64     `json:"district_id,omitempty"`
	OwnerID      int64     `json:"-"`
	AssigneeID   int64     `json:"assignee_id,omitempty"`
	Role         string    `json:"assigned_role,omitempty"` // whose queue the case is in
	Level        int       `json:"escalation_level"`
	Priority     int       `json:"priority"`
	SLA          Span      `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	StateSince   time.Time `json:"state_since"`
	StateDue     time.Time `json:"state_due,omitzero"` // zero when closed
	DueAt        time.Time `json:"due_at,omitzero"`    // the whole case; zero without an SLA
	PausedAt     time.Time `json:"-"`
	ReturnState  string    `json:"-"`
	ClosedAt     time.Time `json:"closed_at,omitzero"`
}

// Overdue reports whether an open case is past its state's due time.
func (c Case) Overdue(now time.Time) bool {
	return c.Open && !c.StateDue.IsZero() && now.After(c.StateDue)
}

const caseCols = `id, type, ref, state, version, open, paused, department_id, district_id, owner_id, assignee_id,
	assigned_role, level, priority, sla, created_at, updated_at, state_since, state_due, due_at, paused_at, return_state, closed_at`

type scanner interface{ Scan(...any) error }

func scanCase(row scanner) (Case, error) {
	var c Case
	var dept, dist, owner, assignee sql.NullInt64
	var sla string
	var stateDue, dueAt, pausedAt, closedAt sql.NullTime
	err := row.Scan(&c.ID, &c.Type, &c.Ref, &c.State, &c.Version, &c.Open, &c.Paused, &dept, &dist, &owner, &assignee,
		&c.Role, &c.Level, &c.Priority, &sla, &c.CreatedAt, &c.UpdatedAt, &c.StateSince, &stateDue, &dueAt, &pausedAt, &c.ReturnState, &closedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, db.ErrNotFound
	}
	if err != nil {
		return c, err
	}
	c.DepartmentID, c.DistrictID, c.OwnerID, c.AssigneeID = dept.Int64, dist.Int64, owner.Int64, assignee.Int64
	c.StateDue, c.DueAt, c.PausedAt, c.ClosedAt = stateDue.Time, dueAt.Time, pausedAt.Time, closedAt.Time
	c.SLA, err = ParseSpan(sla)
	return c, err
}

// Get loads a case by id.
func (e *Engine) Get(ctx context.Context, q db.Querier, id int64) (Case, error) {
	return scanCase(q.QueryRowContext(ctx, `SELECT `+caseCols+` FROM wf_cases WHERE id = $1`, id))
}

// GetByRef loads a case by its type and reference.
func (e *Engine) GetByRef(ctx context.Context, q db.Querier, typ, ref string) (Case, error) {
	return scanCase(q.QueryRowContext(ctx, `SELECT `+caseCols+` FROM wf_cases WHERE type = $1 AND ref = $2`, typ, ref))
}

// Cases loads several cases by id, in the order of ids (missing ones are skipped).
func (e *Engine) Cases(ctx context.Context, q db.Querier, ids []int64) ([]Case, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	marks := make([]string, len(ids))
	for i, id := range ids {
		args[i], marks[i] = id, "$"+strconv.Itoa(i+1)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+caseCols+` FROM wf_cases WHERE id IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[int64]Case{}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		byID[c.ID] = c
	}
	out := make([]Case, 0, len(ids))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		}
	}
	return out, rows.Err()
}

// Actor is who takes an action.
type Actor struct {
	ID    int64  // person id; 0 for the system or an integration
	Label string // shown in history and audit when ID is 0 (e.g. "apikey:fms"); optional otherwise
	// Roles lists the actor's roles for a case in a department and district:
	// pass (*auth.Principal).RolesIn. The engine adds Owner and Assignee itself.
	Roles func(dept, district int64) []string
}

// SystemActor is the engine's own actor for sweeps.
var SystemActor = Actor{Label: "system:workflow", Roles: func(int64, int64) []string { return []string{System} }}

// roles are the actor's roles for c: their grants' roles plus the pseudo-roles the case gives.
func (a Actor) roles(c Case) []string {
	var out []string
	if a.Roles != nil {
		for _, r := range a.Roles(c.DepartmentID, c.DistrictID) {
			if r != Owner && r != Assignee && (r != System || a.ID == 0) {
				out = append(out, r)
			}
		}
	}
	if a.ID != 0 && a.ID == c.OwnerID {
		out = append(out, Owner)
	}
	if a.ID != 0 && a.ID == c.AssigneeID {
		out = append(out, Assignee)
	}
	return out
}

// Allowed lists the actions actor may take on c now, in declaration order.
func (e *Engine) Allowed(c Case, actor Actor) []Action {
	d := e.Definition(c.Type)
	if d == nil {
		return nil
	}
	roles := actor.roles(c)
	var out []Action
	for _, a := range d.Actions {
		if slices.Contains(a.From, c.State) && firstRole(a.Roles, roles) != "" && (a.To != Previous || c.ReturnState != "") {
			out = append(out, a)
		}
	}
	return out
}

// firstRole returns the first of allowed that the actor holds.
func firstRole(allowed, held []string) string {
	for _, r := range allowed {
		if slices.Contains(held, r) {
			return r
		}
	}
	return ""
}

// NewCase is what Create needs.
type NewCase struct {
	Type         string
	Ref          string // unique per type: the reference people quote
	DepartmentID int64
	DistrictID   int64
	OwnerID      int64
	AssigneeID   int64 // optional
	SLA          Span  // zero: the definition's
	Priority     int
	Actor        Actor
	Comment      string
	Attachments  []int64
	Public       bool              // whether the creation step is shown publicly
	Data         map[string]string // extra notification data
}

// Create opens a case in its workflow's start state inside tx: the case
// row, its first history row, an audit entry and the definition's Created
// notices.
func (e *Engine) Create(ctx context.Context, tx *db.Tx, in NewCase) (Case, error) {
	d := e.Definition(in.Type)
	if d == nil {
		return Case{}, fmt.Errorf("workflow %q is not registered", in.Type)
	}
	if in.Ref == "" {
		return Case{}, errors.New("workflow: a case needs a reference")
	}
	in.Comment = strings.TrimSpace(in.Comment)
	if len([]rune(in.Comment)) > MaxComment {
		return Case{}, commentTooLong()
	}
	cal, err := e.Calendar(ctx)
	if err != nil {
		return Case{}, err
	}
	now := db.Time(e.now())
	st := d.states[d.Start]
	c := Case{Type: d.Name, Ref: in.Ref, State: d.Start, Version: 1, Open: true, DepartmentID: in.DepartmentID,
		DistrictID: in.DistrictID, OwnerID: in.OwnerID, AssigneeID: in.AssigneeID, Role: st.Role, Priority: in.Priority,
		SLA: in.SLA, CreatedAt: now, UpdatedAt: now, StateSince: now}
	if c.SLA.IsZero() {
		c.SLA = d.SLA
	}
	if err := c.SLA.check(); err != nil {
		return Case{}, err
	}
	if !c.SLA.IsZero() {
		c.DueAt = db.Time(cal.Add(now, c.SLA))
	}
	c.StateDue = c.DueAt
	if !st.SLA.IsZero() {
		c.StateDue = db.Time(cal.Add(now, st.SLA))
	}
	if c.StateDue.IsZero() {
		return Case{}, fmt.Errorf("workflow %q: a case needs an SLA", d.Name)
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO wf_cases (type, ref, state, version, open, paused, department_id, district_id,
		owner_id, assignee_id, assigned_role, level, priority, sla, created_at, updated_at, state_since, state_due, due_at)
		VALUES ($1, $2, $3, 1, TRUE, FALSE, $4, $5, $6, $7, $8, 0, $9, $10, $11, $11, $11, $12, $13) RETURNING id`,
		c.Type, c.Ref, c.State, nullID(c.DepartmentID), nullID(c.DistrictID), nullID(c.OwnerID), nullID(c.AssigneeID),
		c.Role, c.Priority, c.SLA.String(), now, c.StateDue, nullTime(c.DueAt)).Scan(&c.ID)
	if db.IsUnique(err) {
		return Case{}, fmt.Errorf("workflow: %s %s exists already: %w", c.Type, c.Ref, err)
	}
	if err != nil {
		return Case{}, fmt.Errorf("workflow create: %w", err)
	}
	role := firstRole([]string{Owner}, in.Actor.roles(c))
	if role == "" {
		if rs := in.Actor.roles(c); len(rs) > 0 {
			role = rs[0]
		}
	}
	step := Step{Case: c, Before: Case{}, Action: "create", Role: role, Comment: in.Comment, Attachments: in.Attachments, Public: in.Public}
	if err := e.record(ctx, tx, d, step, in.Actor, d.Created, in.Data); err != nil {
		return Case{}, err
	}
	return c, nil
}

// MaxComment is the longest comment a step may carry, in characters.
const MaxComment = 4000

// Act is one action on a case.
type Act struct {
	CaseID       int64
	Action       string
	Version      int // the version the actor saw; required for people
	Actor        Actor
	Comment      string
	Attachments  []int64
	AssigneeID   int64     // Assign actions: who takes the case
	DepartmentID int64     // Transfer actions: where the case goes (0 keeps)
	DistrictID   int64     // Transfer actions (0 keeps)
	Due          time.Time // SetsDue actions: when the state is next due
	Data         map[string]string
	// check, when set, runs on the loaded case before anything changes (the
	// sweep uses it to re-check a rung under the transaction).
	check func(Case) bool
	rung  *Escalation // the sweep's escalation: the level and queue the case ends in
	// loaded is the case as the sweep read it (its version guards the update).
	loaded *Case
}

// Step is the result of an action: the case before and after, and what was recorded.
type Step struct {
	Case        Case // after
	Before      Case
	HistoryID   int64
	Action      string
	Role        string // the role the actor acted in
	Comment     string
	Attachments []int64
	Public      bool
}

// Errors that callers may want to tell apart (all are *web.Error, so a
// handler can return them as they are).
func errChanged() error { return web.NewError(http.StatusConflict, "case_changed", "workflow.changed") }
func errNotNow(action, state string) error {
	return web.NewError(http.StatusConflict, "action_not_allowed", "workflow.not_now", "action", action, "state", state)
}
func errRole() error {
	return web.NewError(http.StatusForbidden, "role_not_allowed", "workflow.not_your_role")
}
func commentTooLong() error {
	f := &web.Fields{}
	f.Add("comment", "workflow.comment_long", "max", MaxComment)
	return f.Err()
}

// IsChanged reports whether err says the case changed under the actor.
func IsChanged(err error) bool {
	var we *web.Error
	return errors.As(err, &we) && we.Code == "case_changed"
}

// Act carries out an action inside tx: it checks the action against the
// case's state, the actor's roles and the required input, updates the case
// if its version is still the one the actor saw, and records the step.
func (e *Engine) Act(ctx context.Context, tx *db.Tx, in Act) (Step, error) {
	var c Case
	var err error
	if in.loaded != nil {
		c = *in.loaded
	} else if c, err = e.Get(ctx, tx, in.CaseID); errors.Is(err, db.ErrNotFound) {
		return Step{}, web.NotFound()
	} else if err != nil {
		return Step{}, err
	}
	d := e.Definition(c.Type)
	if d == nil {
		return Step{}, fmt.Errorf("workflow %q is not registered", c.Type)
	}
	if in.check != nil && !in.check(c) {
		return Step{}, errSkip
	}
	isSystem := in.Actor.ID == 0
	if !isSystem && in.Version <= 0 {
		f := &web.Fields{}
		f.Add("version", "workflow.version_required")
		return Step{}, f.Err()
	}
	if in.Version > 0 && in.Version != c.Version {
		return Step{}, errChanged()
	}
	a := d.actions[in.Action]
	if a == nil {
		e := web.BadRequest("workflow.unknown_action", "action", in.Action)
		e.Code = "unknown_action"
		return Step{}, e
	}
	if !slices.Contains(a.From, c.State) || (a.To == Previous && c.ReturnState == "") {
		return Step{}, errNotNow(a.Name, c.State)
	}
	role := firstRole(a.Roles, in.Actor.roles(c))
	if role == "" {
		return Step{}, errRole()
	}
	in.Comment = strings.TrimSpace(in.Comment)
	f := &web.Fields{}
	if a.Comment && in.Comment == "" {
		f.Add("comment", "workflow.comment_required")
	}
	if len([]rune(in.Comment)) > MaxComment {
		f.Add("comment", "workflow.comment_long", "max", MaxComment)
	}
	if a.Attachment && len(in.Attachments) == 0 {
		f.Add("attachments", "workflow.attachment_required")
	}
	if a.Assign && in.AssigneeID <= 0 {
		f.Add("assignee", "workflow.assignee_required")
	}
	now := db.Time(e.now())
	if a.Transfer {
		dept, dist := in.DepartmentID, in.DistrictID
		if dept == 0 {
			dept = c.DepartmentID
		}
		if dist == 0 {
			dist = c.DistrictID
		}
		if dept == c.DepartmentID && dist == c.DistrictID {
			f.Add("department", "workflow.transfer_same")
		}
		in.DepartmentID, in.DistrictID = dept, dist
	}
	if a.SetsDue && (in.Due.IsZero() || !in.Due.After(now)) {
		f.Add("due", "workflow.due_invalid")
	}
	if err := f.Err(); err != nil {
		return Step{}, err
	}
	cal, err := e.Calendar(ctx)
	if err != nil {
		return Step{}, err
	}
	n := e.next(d, c, a, in, cal, now)
	setSQL, args := changedColumns(c, n, now)
	res, err := tx.ExecContext(ctx, `UPDATE wf_cases SET `+setSQL+` WHERE id = $1 AND version = $2`, args...)
	if err != nil {
		if db.IsForeignKey(err) {
			return Step{}, web.BadRequest("workflow.bad_reference")
		}
		return Step{}, fmt.Errorf("workflow act: %w", err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return Step{}, errChanged()
	}
	step := Step{Case: n, Before: c, Action: a.Name, Role: role, Comment: in.Comment, Attachments: in.Attachments, Public: a.Public}
	if err := e.record(ctx, tx, d, step, in.Actor, a.Notify, in.Data); err != nil {
		return Step{}, err
	}
	return step, nil
}

var errSkip = errors.New("workflow: skipped")

// changedColumns is the SET list of an action's UPDATE: the version, the
// time, and only the columns whose values change. An index is rewritten
// only when a column it holds is assigned (SQLite) or changes (PostgreSQL
// can then update in place), so an escalation or a note touches two or
// three of wf_cases' indexes rather than all of them. The version check
// in the WHERE clause guarantees the other columns still hold what c says.
func changedColumns(c, n Case, now time.Time) (string, []any) {
	args := []any{c.ID, c.Version, now}
	set := []string{"version = version + 1", "updated_at = $3"}
	add := func(col string, changed bool, v any) {
		if changed {
			args = append(args, v)
			set = append(set, col+" = $"+strconv.Itoa(len(args)))
		}
	}
	add("state", n.State != c.State, n.State)
	add("open", n.Open != c.Open, n.Open)
	add("paused", n.Paused != c.Paused, n.Paused)
	add("department_id", n.DepartmentID != c.DepartmentID, nullID(n.DepartmentID))
	add("district_id", n.DistrictID != c.DistrictID, nullID(n.DistrictID))
	add("assignee_id", n.AssigneeID != c.AssigneeID, nullID(n.AssigneeID))
	add("assigned_role", n.Role != c.Role, n.Role)
	add("level", n.Level != c.Level, n.Level)
	add("state_since", !n.StateSince.Equal(c.StateSince), n.StateSince)
	add("state_due", !n.StateDue.Equal(c.StateDue), nullTime(n.StateDue))
	add("due_at", !n.DueAt.Equal(c.DueAt), nullTime(n.DueAt))
	add("paused_at", !n.PausedAt.Equal(c.PausedAt), nullTime(n.PausedAt))
	add("return_state", n.ReturnState != c.ReturnState, n.ReturnState)
	add("closed_at", !n.ClosedAt.Equal(c.ClosedAt), nullTime(n.ClosedAt))
	return strings.Join(set, ", "), args
}

// next computes the case after action a.
func (e *Engine) next(d *Definition, c Case, a *Action, in Act, cal *Calendar, now time.Time) Case {
	n := c
	n.Version++
	n.UpdatedAt = now
	to := a.To
	switch to {
	case Stay:
		to = c.State
	case Previous:
		to = c.ReturnState
	}
	from, st := d.states[c.State], d.states[to]
	n.State = to
	moved := to != c.State
	if moved {
		n.StateSince = now
	}
	if a.Transfer {
		n.DepartmentID, n.DistrictID = in.DepartmentID, in.DistrictID
	}
	// The queue: an assignment names a person; entering a state with a role
	// puts the case in that role's queue, except into or out of a pause,
	// when the officer keeps the case.
	switch {
	case a.Assign:
		n.AssigneeID = in.AssigneeID
		if st.Role != "" {
			n.Role = st.Role
		}
	case a.Transfer:
		n.AssigneeID = 0
		if st.Role != "" {
			n.Role = st.Role
		}
	case moved && (st.Paused || from.Paused):
		if st.Role != "" {
			n.Role = st.Role
		}
	case moved && st.Role != "":
		n.Role, n.AssigneeID = st.Role, 0
	}
	// The clock.
	if a.Restart {
		n.Level = 0
		n.DueAt = time.Time{}
		if !c.SLA.IsZero() {
			n.DueAt = db.Time(cal.Add(now, c.SLA))
		}
	}
	switch {
	case st.Paused && !from.Paused:
		n.Paused, n.PausedAt, n.ReturnState = true, now, c.State
	case !st.Paused && from.Paused:
		if !n.DueAt.IsZero() && !c.PausedAt.IsZero() && !a.Restart {
			n.DueAt = db.Time(n.DueAt.Add(now.Sub(c.PausedAt)))
		}
		n.Paused, n.PausedAt, n.ReturnState = false, time.Time{}, ""
	}
	if r := in.rung; r != nil {
		n.Level = r.Level
		if r.Role != "" {
			n.Role, n.AssigneeID = r.Role, 0
		}
	}
	n.Open = !st.Final
	n.ClosedAt = time.Time{}
	switch {
	case st.Final:
		n.StateDue, n.ClosedAt = time.Time{}, now
	case a.SetsDue:
		n.StateDue = db.Time(in.Due)
	case !moved && !a.Restart && !c.StateDue.IsZero():
		// A step that stays keeps the state's due time.
	case !st.SLA.IsZero():
		n.StateDue = db.Time(cal.Add(now, st.SLA))
	default:
		n.StateDue = n.DueAt
	}
	if n.Open && n.StateDue.IsZero() {
		// A case without an overall SLA entering a state without one: give
		// it a day rather than no clock at all (validation prevents this
		// for cases created with an SLA).
		n.StateDue = db.Time(cal.Add(now, WorkingDays(1)))
	}
	return n
}

// record writes the history row, the audit entry and the notices of a step.
func (e *Engine) record(ctx context.Context, tx *db.Tx, d *Definition, s Step, actor Actor, notices []Notice, data map[string]string) error {
	c := s.Case
	ra := audit.ActorOf(ctx)
	label := actor.Label
	switch {
	case label != "":
	case actor.ID != 0 && ra.ID == actor.ID:
		label = ra.Label
	case actor.ID != 0:
		label = "person:" + strconv.FormatInt(actor.ID, 10)
	default:
		label = "system"
	}
	var atts string
	if len(s.Attachments) > 0 {
		parts := make([]string, len(s.Attachments))
		for i, id := range s.Attachments {
			parts[i] = strconv.FormatInt(id, 10)
		}
		atts = strings.Join(parts, ",")
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO wf_history (case_id, seq, at, actor_id, actor, role, action, from_state, to_state,
		comment, attachments, public, assignee_id, assigned_role, department_id, district_id, level, state_due)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id`,
		c.ID, c.Version, c.UpdatedAt, nullID(actor.ID), label, s.Role, s.Action, s.Before.State, c.State, s.Comment, atts, s.Public,
		nullID(c.AssigneeID), c.Role, nullID(c.DepartmentID), nullID(c.DistrictID), c.Level, nullTime(c.StateDue)).Scan(&s.HistoryID)
	if db.IsUnique(err) {
		return errChanged()
	}
	if err != nil {
		return fmt.Errorf("workflow history: %w", err)
	}
	summary := map[string]any{"from": s.Before.State, "to": c.State, "version": c.Version, "role": s.Role}
	if c.AssigneeID != s.Before.AssigneeID {
		summary["assignee"] = c.AssigneeID
	}
	if c.Role != s.Before.Role {
		summary["queue"] = c.Role
	}
	if c.DepartmentID != s.Before.DepartmentID || c.DistrictID != s.Before.DistrictID {
		summary["department"], summary["district"] = c.DepartmentID, c.DistrictID
	}
	if c.Level != s.Before.Level {
		summary["level"] = c.Level
	}
	if len(s.Attachments) > 0 {
		summary["attachments"] = s.Attachments
	}
	ev := audit.Event{Action: d.Name + "." + s.Action, ObjectType: d.Name, ObjectID: c.Ref, SubjectID: c.OwnerID, Summary: summary}
	if ra.ID != actor.ID || actor.ID == 0 {
		ev.Actor = &audit.Actor{ID: actor.ID, Label: label, RequestID: ra.RequestID, IP: ra.IP}
	}
	if _, err := e.Audit.Append(ctx, tx, ev); err != nil {
		return err
	}
	return e.notify(ctx, tx, s, actor, notices, data)
}

// notify queues each notice of a step for its recipients (never the actor, but for a creation's acknowledgement).
func (e *Engine) notify(ctx context.Context, tx *db.Tx, s Step, actor Actor, notices []Notice, extra map[string]string) error {
	if e.Notify == nil || len(notices) == 0 {
		return nil
	}
	c := s.Case
	data := map[string]string{"ref": c.Ref, "action": s.Action, "state": c.State, "comment": clip(s.Comment, 300),
		"level": strconv.Itoa(c.Level)}
	if !c.StateDue.IsZero() {
		data["due"] = c.StateDue.In(IST).Format("02-01-2006")
	}
	for k, v := range extra {
		data[k] = v
	}
	b, _ := ctx.Value(batchKey{}).(*noticeBatch)
	// Nobody is told of their own step, except that the owner who opens a
	// case gets its acknowledgement (the reference number is in it).
	sent := map[int64]bool{}
	if s.Action != "create" {
		sent[actor.ID] = true
	}
	for _, n := range notices {
		var people []int64
		switch n.To {
		case Owner:
			people = []int64{c.OwnerID}
		case Assignee:
			people = []int64{c.AssigneeID}
		default:
			ids, err := b.roleHolders(ctx, tx, n.To, c.DepartmentID, c.DistrictID)
			if err != nil {
				return err
			}
			people = ids
		}
		for _, p := range people {
			if p == 0 || sent[p] {
				continue
			}
			sent[p] = true
			if b != nil {
				msgs, err := b.messages(ctx, tx, e.Notify, p, n.Template, data)
				if err != nil {
					return err
				}
				b.msgs = append(b.msgs, msgs...)
				continue
			}
			if _, err := e.Notify.EnqueueFor(ctx, tx, p, n.Template, data); err != nil {
				return err
			}
		}
	}
	return nil
}

// noticeBatch collects the notifications of many steps taken in one
// transaction (a sweep's batch), so that they are queued together with a
// single delivery job, and remembers for the whole sweep who holds a role
// where and how to reach each person, which its steps mostly share.
type noticeBatch struct {
	msgs    []notify.Message
	holders map[holderKey][]int64
	contact map[int64][3]string // phone, email, language
}

type holderKey struct {
	role       string
	dept, dist int64
}

type batchKey struct{}

func newNoticeBatch() *noticeBatch {
	return &noticeBatch{holders: map[holderKey][]int64{}, contact: map[int64][3]string{}}
}

// roleHolders is the package's roleHolders, remembered for the sweep (b may be nil).
func (b *noticeBatch) roleHolders(ctx context.Context, q db.Querier, role string, dept, district int64) ([]int64, error) {
	if b == nil {
		return roleHolders(ctx, q, role, dept, district)
	}
	k := holderKey{role, dept, district}
	if ids, ok := b.holders[k]; ok {
		return ids, nil
	}
	ids, err := roleHolders(ctx, q, role, dept, district)
	if err == nil {
		b.holders[k] = ids
	}
	return ids, err
}

// messages builds a person's messages for a template, reading their contact once a sweep.
func (b *noticeBatch) messages(ctx context.Context, q db.Querier, n *notify.Service, person int64, template string, data map[string]string) ([]notify.Message, error) {
	ct, ok := b.contact[person]
	if !ok {
		var phone, email sql.NullString
		if err := q.QueryRowContext(ctx, `SELECT phone, email, lang FROM people WHERE id = $1`, person).Scan(&phone, &email, &ct[2]); err != nil {
			return nil, fmt.Errorf("notify person %d: %w", person, err)
		}
		ct[0], ct[1] = phone.String, email.String
		b.contact[person] = ct
	}
	return n.MessagesTo(person, ct[0], ct[1], ct[2], template, data), nil
}

// roleHolders lists the active people holding role in a jurisdiction that
// covers (dept, district), at most 20 (a queue, not a mailing list).
func roleHolders(ctx context.Context, q db.Querier, role string, dept, district int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT g.person_id FROM grants g JOIN people p ON p.id = g.person_id
		WHERE g.role = $1 AND (g.department_id IS NULL OR g.department_id = $2) AND (g.district_id IS NULL OR g.district_id = $3)
		AND p.disabled_at IS NULL ORDER BY g.person_id LIMIT 20`, role, dept, district)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SetPriority changes a case's priority (not a step: no version change, no history).
func (e *Engine) SetPriority(ctx context.Context, tx *db.Tx, id int64, priority int) error {
	_, err := tx.ExecContext(ctx, `UPDATE wf_cases SET priority = $2 WHERE id = $1`, id, priority)
	return err
}

// Entry is one step in a case's history.
type Entry struct {
	ID           int64     `json:"id"`
	Seq          int       `json:"seq"`
	At           time.Time `json:"at"`
	ActorID      int64     `json:"-"`
	Actor        string    `json:"-"`
	Role         string    `json:"role"`
	Action       string    `json:"action"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Comment      string    `json:"comment,omitempty"`
	Attachments  []int64   `json:"attachments,omitempty"`
	Public       bool      `json:"public"`
	AssigneeID   int64     `json:"-"`
	Queue        string    `json:"queue,omitempty"`
	DepartmentID int64     `json:"department_id,omitempty"`
	DistrictID   int64     `json:"district_id,omitempty"`
	Level        int       `json:"level"`
	StateDue     time.Time `json:"state_due,omitzero"`
}

const entryCols = `id, seq, at, actor_id, actor, role, action, from_state, to_state, comment, attachments, public,
	assignee_id, assigned_role, department_id, district_id, level, state_due`

func scanEntry(row scanner) (Entry, error) {
	var h Entry
	var actor, assignee, dept, dist sql.NullInt64
	var due sql.NullTime
	var atts string
	if err := row.Scan(&h.ID, &h.Seq, &h.At, &actor, &h.Actor, &h.Role, &h.Action, &h.From, &h.To, &h.Comment, &atts, &h.Public,
		&assignee, &h.Queue, &dept, &dist, &h.Level, &due); err != nil {
		return h, err
	}
	h.ActorID, h.AssigneeID, h.DepartmentID, h.DistrictID, h.StateDue = actor.Int64, assignee.Int64, dept.Int64, dist.Int64, due.Time
	for _, p := range strings.Split(atts, ",") {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			h.Attachments = append(h.Attachments, id)
		}
	}
	return h, nil
}

// History lists a case's steps, oldest first; publicOnly keeps the public ones.
func (e *Engine) History(ctx context.Context, q db.Querier, caseID int64, publicOnly bool) ([]Entry, error) {
	query := `SELECT ` + entryCols + ` FROM wf_history WHERE case_id = $1`
	if publicOnly {
		query += ` AND public`
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY seq`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		h, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return db.Time(t)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
