// Package workflow runs cases (grievances, permit applications, files …)
// through state machines that services declare in Go: states, actions with
// the roles allowed to take them, SLAs per state and per case (in hours,
// days or working days), states where the clock pauses, an escalation
// ladder, and the notifications each step sends.
//
// A case's current state is one row with a version: an action carries the
// version its actor saw, and when two people act at once one wins and the
// other is told to reload. Every step appends a history row and an audit
// entry and queues its notifications in the caller's transaction. A
// periodic sweep (a River job) escalates overdue cases, one failing case
// never stopping the others. Inbox queries (mine, my team's, overdue, due
// today) are keyset-paginated and served by partial indexes.
package workflow

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed i18n/*.json
var messages embed.FS

// Messages are the engine's own messages (errors), keys prefixed "workflow.".
func Messages() fs.FS { sub, _ := fs.Sub(messages, "i18n"); return sub }

// Pseudo-roles. Owner and Assignee are given by the engine from the case
// itself (whatever the caller passes); System is the engine's sweep.
const (
	Owner    = "owner"    // the person the case belongs to
	Assignee = "assignee" // the person the case is assigned to
	System   = "system"   // timers and escalations
)

// Special targets of an action.
const (
	Stay     = "="          // the state does not change (a note, an interim reply, an escalation)
	Previous = "<previous>" // back to the state the case was in before the paused one
)

// Definition is a workflow. Build it as a Go value and Register it once.
type Definition struct {
	Name        string // lower-case; the case type (e.g. "grievance")
	Start       string // the state of a new case
	SLA         Span   // the whole case's time limit; zero means none (each open state then needs its own)
	States      []State
	Actions     []Action
	Escalations []Escalation
	Created     []Notice // sent when a case is created

	states  map[string]*State
	actions map[string]*Action
}

// State is one state of a workflow.
type State struct {
	Name   string
	SLA    Span   // time allowed in this state; zero means "until the case is due"
	Role   string // entering the state puts the case in this role's queue ("" keeps the queue)
	Paused bool   // waiting for the owner: the case's clock stops (an SLA here is the owner's deadline)
	Final  bool   // closed: no clock, out of every inbox (actions may still leave it, e.g. an appeal)
}

// Action moves a case from one of its From states to To.
type Action struct {
	Name       string
	From       []string
	To         string   // a state, Stay or Previous
	Roles      []string // auth role codes, Owner, Assignee or System
	Comment    bool     // a comment is required
	Attachment bool     // at least one attachment is required
	Public     bool     // the step is shown to the public and to the owner
	Assign     bool     // the actor names the person who takes the case (required)
	Transfer   bool     // the case moves to another department or district (required)
	SetsDue    bool     // the actor sets when the state is next due (an interim reply with a new date)
	Restart    bool     // the case's SLA starts again and its escalation level returns to 0
	Notify     []Notice
}

// Notice sends a notification template to someone after a step.
type Notice struct {
	To       string // Owner, Assignee (after the step), or a role code: every holder of it in the case's jurisdiction
	Template string // notify template key; it must exist for at least one channel
}

// Escalation is a rung of the ladder: a case that has been in State for
// After past its due time is acted on by the system with Action, put in
// Role's queue and raised to Level. A case escalates only upwards: a rung
// fires when the case's level is below its Level.
type Escalation struct {
	State  string
	After  time.Duration
	Action string // must allow System and be allowed from State
	Role   string // "" keeps the queue the action gives
	Level  int
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// validate checks a definition and builds its lookup tables. knownRole,
// when set, says whether a role code exists; hasTemplate whether a notify
// template exists.
func (d *Definition) validate(knownRole func(string) bool, hasTemplate func(string) bool) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !nameRE.MatchString(d.Name) {
		bad("name %q: use lower-case letters, digits and _", d.Name)
	}
	d.states = map[string]*State{}
	for i := range d.States {
		s := &d.States[i]
		switch {
		case !nameRE.MatchString(s.Name):
			bad("state %q: use lower-case letters, digits and _", s.Name)
		case d.states[s.Name] != nil:
			bad("state %q is declared twice", s.Name)
		}
		d.states[s.Name] = s
		if s.Final && (s.Paused || !s.SLA.IsZero()) {
			bad("state %q: a final state has no clock", s.Name)
		}
		if s.Paused && s.SLA.IsZero() {
			bad("state %q: a paused state needs an SLA (the owner's deadline)", s.Name)
		}
		if !s.Final && !s.Paused && s.SLA.IsZero() && d.SLA.IsZero() {
			bad("state %q: an open state needs an SLA when the workflow has none", s.Name)
		}
		if s.Role != "" {
			checkRole(s.Role, "state "+s.Name, knownRole, bad)
		}
		if err := s.SLA.check(); err != nil {
			bad("state %q: %v", s.Name, err)
		}
	}
	if err := d.SLA.check(); err != nil {
		bad("SLA: %v", err)
	}
	if st := d.states[d.Start]; st == nil {
		bad("start state %q is not declared", d.Start)
	} else if st.Final || st.Paused {
		bad("start state %q must be open and not paused", d.Start)
	}
	d.actions = map[string]*Action{}
	for i := range d.Actions {
		a := &d.Actions[i]
		if !nameRE.MatchString(a.Name) || a.Name == "create" {
			bad("action %q: use lower-case letters, digits and _ (and not \"create\")", a.Name)
		}
		if d.actions[a.Name] != nil {
			bad("action %q is declared twice", a.Name)
		}
		d.actions[a.Name] = a
		if len(a.From) == 0 {
			bad("action %q: no from-states", a.Name)
		}
		for _, f := range a.From {
			st := d.states[f]
			if st == nil {
				bad("action %q: from-state %q is not declared", a.Name, f)
			} else if a.To == Previous && !st.Paused {
				bad("action %q: %q is not a paused state, so there is no previous state to return to", a.Name, f)
			}
		}
		if a.To != Stay && a.To != Previous && d.states[a.To] == nil {
			bad("action %q: target %q is not declared (use a state, Stay or Previous)", a.Name, a.To)
		}
		if len(a.Roles) == 0 {
			bad("action %q: no roles may take it", a.Name)
		}
		for _, r := range a.Roles {
			checkRole(r, "action "+a.Name, knownRole, bad)
		}
		if a.Assign && a.Transfer {
			bad("action %q: assign and transfer are separate actions", a.Name)
		}
		if a.SetsDue && a.To != Stay {
			bad("action %q: only a Stay action may set the due time", a.Name)
		}
		checkNotices(a.Notify, "action "+a.Name, knownRole, hasTemplate, bad)
	}
	checkNotices(d.Created, "created", knownRole, hasTemplate, bad)
	levels := map[string]int{}
	for i, e := range d.Escalations {
		where := fmt.Sprintf("escalation %d (%s)", i+1, e.State)
		st := d.states[e.State]
		if st == nil {
			bad("%s: state is not declared", where)
			continue
		}
		if st.Final {
			bad("%s: a final state has no clock to escalate on", where)
		}
		a := d.actions[e.Action]
		switch {
		case a == nil:
			bad("%s: action %q is not declared", where, e.Action)
		case !slices.Contains(a.From, e.State):
			bad("%s: action %q is not allowed from %q", where, e.Action, e.State)
		case !slices.Contains(a.Roles, System):
			bad("%s: action %q does not allow the system role", where, e.Action)
		case a.Comment || a.Attachment || a.Assign || a.Transfer || a.SetsDue:
			bad("%s: action %q needs input the system cannot give", where, e.Action)
		}
		if e.After < 0 {
			bad("%s: After must not be negative", where)
		}
		if e.Level <= levels[e.State] {
			bad("%s: levels must rise along the ladder of a state (got %d after %d)", where, e.Level, levels[e.State])
		}
		levels[e.State] = e.Level
		if e.Role != "" {
			checkRole(e.Role, where, knownRole, bad)
		}
	}
	// Every state must be reachable from the start: a typo in a target
	// would otherwise leave a state nobody can enter.
	seen := map[string]bool{d.Start: true}
	for changed := true; changed; {
		changed = false
		for _, a := range d.Actions {
			if a.To == Stay || a.To == Previous || seen[a.To] {
				continue
			}
			for _, f := range a.From {
				if seen[f] {
					seen[a.To], changed = true, true
					break
				}
			}
		}
	}
	for _, s := range d.States {
		if !seen[s.Name] {
			bad("state %q cannot be reached from %q", s.Name, d.Start)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("workflow %q: %s", d.Name, strings.Join(problems, "; "))
	}
	return nil
}

func checkRole(r, where string, known func(string) bool, bad func(string, ...any)) {
	switch {
	case r == Owner || r == Assignee || r == System:
	case !nameRE.MatchString(r):
		bad("%s: role %q is not a role code", where, r)
	case known != nil && !known(r):
		bad("%s: role %q is not known", where, r)
	}
}

func checkNotices(ns []Notice, where string, known func(string) bool, has func(string) bool, bad func(string, ...any)) {
	for _, n := range ns {
		if n.To == System {
			bad("%s: the system cannot be notified", where)
		} else {
			checkRole(n.To, where+" notice", known, bad)
		}
		if n.Template == "" {
			bad("%s: a notice needs a template", where)
		} else if has != nil && !has(n.Template) {
			bad("%s: notify template %q does not exist", where, n.Template)
		}
	}
}

// State returns the named state, or nil.
func (d *Definition) State(name string) *State { return d.states[name] }

// Action returns the named action, or nil.
func (d *Definition) Action(name string) *Action { return d.actions[name] }

// Span is a length of time for an SLA: hours, calendar days or working
// days (which skip Saturdays, Sundays and the holidays in the calendar).
type Span struct {
	n    int
	unit byte // 'h', 'd' or 'w'
}

// Hours, Days and WorkingDays make spans.
func Hours(n int) Span       { return Span{n, 'h'} }
func Days(n int) Span        { return Span{n, 'd'} }
func WorkingDays(n int) Span { return Span{n, 'w'} }

// IsZero reports whether the span is empty (no SLA).
func (s Span) IsZero() bool { return s.n == 0 }

// N is the number of units.
func (s Span) N() int { return s.n }

// Unit is "hours", "days" or "working_days".
func (s Span) Unit() string {
	switch s.unit {
	case 'h':
		return "hours"
	case 'd':
		return "days"
	case 'w':
		return "working_days"
	}
	return ""
}

func (s Span) check() error {
	if s.n < 0 || s.n > 100000 {
		return fmt.Errorf("span %d out of range", s.n)
	}
	if s.n > 0 && s.unit != 'h' && s.unit != 'd' && s.unit != 'w' {
		return fmt.Errorf("span has no unit; use Hours, Days or WorkingDays")
	}
	return nil
}

// String is the stored form: "48h", "30d", "21wd" ("" for none).
func (s Span) String() string {
	switch {
	case s.n == 0:
		return ""
	case s.unit == 'w':
		return strconv.Itoa(s.n) + "wd"
	default:
		return strconv.Itoa(s.n) + string(s.unit)
	}
}

// ParseSpan reads the form String writes.
func ParseSpan(v string) (Span, error) {
	if v == "" {
		return Span{}, nil
	}
	num, unit := v, byte(0)
	switch {
	case strings.HasSuffix(v, "wd"):
		num, unit = v[:len(v)-2], 'w'
	case strings.HasSuffix(v, "h"), strings.HasSuffix(v, "d"):
		num, unit = v[:len(v)-1], v[len(v)-1]
	}
	n, err := strconv.Atoi(num)
	if err != nil || unit == 0 || n <= 0 {
		return Span{}, fmt.Errorf("workflow: bad span %q", v)
	}
	return Span{n, unit}, nil
}
