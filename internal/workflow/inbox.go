package workflow

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/db"
)

// View is an inbox.
type View string

// The inboxes.
const (
	ViewMine    View = "mine"    // assigned to me
	ViewTeam    View = "team"    // unassigned, in the queue of a role I hold where I hold it
	ViewOverdue View = "overdue" // past due, anywhere I may look
	ViewToday   View = "today"   // due before the end of today (IST), not yet overdue
	ViewAll     View = "all"     // everything open (or in State) anywhere I may look
)

// Order is how an inbox is sorted.
type Order string

// The orders.
const (
	ByDue      Order = "due"      // soonest due first
	ByCreated  Order = "created"  // newest first
	ByPriority Order = "priority" // highest priority first, then soonest due
)

// Scope is a jurisdiction; zero fields mean every department or district.
type Scope struct {
	DepartmentID int64
	DistrictID   int64
}

// RoleScope is a role held within a jurisdiction (an auth grant).
type RoleScope struct {
	Role         string
	DepartmentID int64
	DistrictID   int64
}

// Query asks for one page of an inbox.
type Query struct {
	Type     string
	View     View
	PersonID int64       // ViewMine
	Roles    []RoleScope // ViewTeam: the caller's grants
	Scopes   []Scope     // the other views: where the caller may look (Scope{} is everywhere)
	// Filters.
	State        string
	DepartmentID int64
	DistrictID   int64
	Order        Order
	After        string // the Next of the previous page
	Limit        int    // default 50, at most 200
	Now          time.Time

	// Where, when set, adds a condition on the case row c (a service's own
	// filter, e.g. EXISTS on its table); bind each value with arg, which
	// returns its placeholder.
	Where func(arg func(any) string) string
}

// Page is one page of an inbox.
type Page struct {
	Cases []Case
	Next  string // "" on the last page
}

// Inbox returns one page of an inbox, keyset-paginated.
func (e *Engine) Inbox(ctx context.Context, q Query) (Page, error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	if q.Now.IsZero() {
		q.Now = e.now()
	}
	sqlText, args, order, err := e.InboxSQL(q)
	if err != nil || sqlText == "" {
		return Page{}, err
	}
	rows, err := e.DB.R().QueryContext(ctx, sqlText, args...)
	if err != nil {
		return Page{}, fmt.Errorf("inbox: %w", err)
	}
	defer rows.Close()
	var page Page
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return Page{}, err
		}
		page.Cases = append(page.Cases, c)
	}
	if err := rows.Err(); err != nil {
		return Page{}, err
	}
	if len(page.Cases) > q.Limit {
		page.Cases = page.Cases[:q.Limit]
		page.Next = makeCursor(page.Cases[q.Limit-1], order)
	}
	return page, nil
}

// InboxSQL builds the statement an inbox query runs ("" when the query
// cannot match anything), for Inbox and for EXPLAIN in tests and benchmarks.
func (e *Engine) InboxSQL(q Query) (string, []any, Order, error) {
	d := e.Definition(q.Type)
	if d == nil {
		return "", nil, "", fmt.Errorf("workflow %q is not registered", q.Type)
	}
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	if q.Now.IsZero() {
		q.Now = e.now()
	}
	args := []any{q.Type}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := []string{"c.type = $1"}
	closedState := false
	if q.State != "" {
		st := d.states[q.State]
		if st == nil {
			return "", nil, "", nil
		}
		where = append(where, "c.state = "+arg(q.State))
		closedState = st.Final
	}
	if !closedState {
		where = append(where, "c.open")
	}
	scope := func() bool {
		var ors []string
		for _, s := range q.Scopes {
			if s.DepartmentID == 0 && s.DistrictID == 0 {
				return true
			}
			var and []string
			if s.DepartmentID != 0 {
				and = append(and, "c.department_id = "+arg(s.DepartmentID))
			}
			if s.DistrictID != 0 {
				and = append(and, "c.district_id = "+arg(s.DistrictID))
			}
			ors = append(ors, "("+strings.Join(and, " AND ")+")")
		}
		if len(ors) == 0 {
			return false
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
		return true
	}
	switch q.View {
	case ViewMine:
		if q.PersonID == 0 {
			return "", nil, "", nil
		}
		where = append(where, "c.assignee_id = "+arg(q.PersonID))
	case ViewTeam:
		var ors []string
		for _, r := range q.Roles {
			and := []string{"c.assigned_role = " + arg(r.Role)}
			if r.DepartmentID != 0 {
				and = append(and, "c.department_id = "+arg(r.DepartmentID))
			}
			if r.DistrictID != 0 {
				and = append(and, "c.district_id = "+arg(r.DistrictID))
			}
			ors = append(ors, "("+strings.Join(and, " AND ")+")")
		}
		if len(ors) == 0 {
			return "", nil, "", nil
		}
		where = append(where, "c.assignee_id IS NULL", "("+strings.Join(ors, " OR ")+")")
	case ViewOverdue:
		if !scope() {
			return "", nil, "", nil
		}
		where = append(where, "c.state_due < "+arg(db.Time(q.Now)))
	case ViewToday:
		if !scope() {
			return "", nil, "", nil
		}
		y, m, dd := q.Now.In(IST).Date()
		end := time.Date(y, m, dd+1, 0, 0, 0, 0, IST)
		where = append(where, "c.state_due >= "+arg(db.Time(q.Now)), "c.state_due < "+arg(db.Time(end)))
	case ViewAll:
		if !scope() {
			return "", nil, "", nil
		}
	default:
		return "", nil, "", fmt.Errorf("workflow: unknown inbox %q", q.View)
	}
	if q.DepartmentID != 0 {
		where = append(where, "c.department_id = "+arg(q.DepartmentID))
	}
	if q.DistrictID != 0 {
		where = append(where, "c.district_id = "+arg(q.DistrictID))
	}
	if q.Where != nil {
		if w := q.Where(arg); w != "" {
			where = append(where, "("+w+")")
		}
	}
	order := q.Order
	if closedState && order != ByCreated {
		order = ByCreated // closed cases have no due time
	}
	cur, err := parseCursor(q.After, order)
	if err != nil {
		return "", nil, "", err
	}
	var orderBy string
	switch order {
	case ByCreated:
		if cur != nil {
			where = append(where, "(c.created_at, c.id) < ("+arg(cur.t)+", "+arg(cur.id)+")")
		}
		orderBy = "c.created_at DESC, c.id DESC"
	case ByPriority:
		if cur != nil {
			p, t, id := arg(cur.p), arg(cur.t), arg(cur.id)
			where = append(where, "(c.priority < "+p+" OR (c.priority = "+p+" AND (c.state_due, c.id) > ("+t+", "+id+")))")
		}
		orderBy = "c.priority DESC, c.state_due, c.id"
	default:
		order = ByDue
		if cur != nil {
			where = append(where, "(c.state_due, c.id) > ("+arg(cur.t)+", "+arg(cur.id)+")")
		}
		orderBy = "c.state_due, c.id"
	}
	sqlText := `SELECT ` + prefixed(caseCols, "c.") + ` FROM wf_cases c WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + orderBy + ` LIMIT ` + strconv.Itoa(q.Limit+1)
	return sqlText, args, order, nil
}

// prefixed qualifies each column of a list with p.
func prefixed(cols, p string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

type cursor struct {
	p  int
	t  time.Time
	id int64
}

func makeCursor(c Case, o Order) string {
	var s string
	switch o {
	case ByCreated:
		s = fmt.Sprintf("c|%d|%d", c.CreatedAt.UnixMicro(), c.ID)
	case ByPriority:
		s = fmt.Sprintf("p|%d|%d|%d", c.Priority, c.StateDue.UnixMicro(), c.ID)
	default:
		s = fmt.Sprintf("d|%d|%d", c.StateDue.UnixMicro(), c.ID)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ErrCursor means an After value was not made by this order.
var ErrCursor = fmt.Errorf("workflow: bad page cursor")

func parseCursor(s string, o Order) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 80 {
		return nil, ErrCursor
	}
	parts := strings.Split(string(b), "|")
	want := map[Order]string{ByCreated: "c", ByPriority: "p", ByDue: "d", "": "d"}[o]
	if len(parts) < 3 || parts[0] != want || (want == "p") != (len(parts) == 4) {
		return nil, ErrCursor
	}
	nums := make([]int64, len(parts)-1)
	for i, p := range parts[1:] {
		if nums[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return nil, ErrCursor
		}
	}
	c := &cursor{}
	if want == "p" {
		c.p, nums = int(nums[0]), nums[1:]
	}
	c.t, c.id = db.Time(time.UnixMicro(nums[0])), nums[1]
	return c, nil
}
