package grievance

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/auth"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// InboxViews are the officer's tabs, in the order shown.
var InboxViews = []string{string(workflow.ViewMine), string(workflow.ViewTeam), string(workflow.ViewOverdue), string(workflow.ViewToday),
	string(workflow.ViewAll)}

// InboxOrders are the sorts an inbox offers: soonest due, newest, highest
// priority (most supporters) first.
var InboxOrders = []string{"due", "newest", "priority"}

// InboxFilter asks for one page of an officer's inbox.
type InboxFilter struct {
	View         string
	State        string
	DepartmentID int64
	DistrictID   int64
	CategoryID   int64
	Order        string
	After        string
	Limit        int
}

// InboxRow is one grievance in an inbox.
type InboxRow struct {
	Ref          string    `json:"ref"`
	Category     string    `json:"category"`
	CategoryCode string    `json:"category_code"`
	Department   string    `json:"department"`
	District     string    `json:"district"`
	State        string    `json:"state"`
	Version      int       `json:"version"`
	Due          time.Time `json:"due,omitzero" doc:"when the current step is due"`
	CaseDue      time.Time `json:"case_due,omitzero" doc:"the grievance's time limit"`
	Overdue      bool      `json:"overdue"`
	NeedsInterim bool      `json:"needs_interim_reply" doc:"due within 3 days and no interim reply yet"`
	Supporters   int       `json:"supporters"`
	Level        int       `json:"escalation_level"`
	Priority     int       `json:"priority"`
	Assigned     bool      `json:"assigned"`
	CreatedAt    time.Time `json:"created_at"`
}

// InboxPage is one page of an inbox.
type InboxPage struct {
	Rows []InboxRow `json:"grievances"`
	Next string     `json:"next,omitempty" doc:"pass as ?after= for the next page"`
}

// checkInbox validates a filter's words; bad values are refused with a
// clear message rather than ignored.
func (s *Service) checkInbox(f *InboxFilter) error {
	if f.View == "" {
		f.View = string(workflow.ViewAll)
	}
	if !slices.Contains(InboxViews, f.View) {
		return web.BadRequest("grievance.inbox_bad_view")
	}
	if f.Order == "" {
		f.Order = "due"
	}
	if !slices.Contains(InboxOrders, f.Order) {
		return web.BadRequest("grievance.inbox_bad_order")
	}
	if f.State != "" && !slices.Contains(allStates, f.State) {
		return web.BadRequest("grievance.inbox_bad_state")
	}
	return nil
}

var allStates = []string{StSubmitted, StAssigned, StInfo, StAppeal, StResolved, StRejected, StAppealed, StMerged}

// Inbox is one page of p's grievances: the workflow engine's inbox limited
// to the jurisdictions where p works grievances (a supervisor's or head of
// department's grant covers their whole department or district).
func (s *Service) Inbox(ctx context.Context, p *auth.Principal, f InboxFilter) (InboxPage, error) {
	if err := s.checkInbox(&f); err != nil {
		return InboxPage{}, err
	}
	var scopes []workflow.Scope
	for _, sc := range p.Scopes(PermWork) {
		scopes = append(scopes, workflow.Scope{DepartmentID: sc.DepartmentID, DistrictID: sc.DistrictID})
	}
	var roles []workflow.RoleScope
	for _, g := range p.Grants {
		roles = append(roles, workflow.RoleScope{Role: g.Role, DepartmentID: g.DepartmentID, DistrictID: g.DistrictID})
	}
	order := map[string]workflow.Order{"due": workflow.ByDue, "newest": workflow.ByCreated, "priority": workflow.ByPriority}[f.Order]
	q := workflow.Query{Type: CaseType, View: workflow.View(f.View), PersonID: p.ID, Roles: roles, Scopes: scopes, State: f.State,
		DepartmentID: f.DepartmentID, DistrictID: f.DistrictID, Order: order, After: f.After, Limit: f.Limit, Now: s.now()}
	if f.CategoryID != 0 {
		cat := f.CategoryID
		q.Where = func(arg func(any) string) string {
			return "EXISTS (SELECT 1 FROM grv_grievances g WHERE g.case_id = c.id AND g.category_id = " + arg(cat) + ")"
		}
	}
	page, err := s.Workflow.Inbox(ctx, q)
	if errors.Is(err, workflow.ErrCursor) {
		return InboxPage{}, web.BadRequest("grievance.inbox_bad_page")
	}
	if err != nil {
		return InboxPage{}, err
	}
	n, err := s.names(ctx, langOf(ctx))
	if err != nil {
		return InboxPage{}, err
	}
	rows, err := s.rows(ctx, n, page.Cases)
	return InboxPage{Rows: rows, Next: page.Next}, err
}

// rows joins cases with their grievances, in the cases' order.
func (s *Service) rows(ctx context.Context, n names, cases []workflow.Case) ([]InboxRow, error) {
	out := []InboxRow{}
	if len(cases) == 0 {
		return out, nil
	}
	args := make([]any, len(cases))
	marks := make([]string, len(cases))
	for i, c := range cases {
		args[i], marks[i] = c.ID, "$"+strconv.Itoa(i+1)
	}
	in := strings.Join(marks, ",")
	type extra struct {
		category   int64
		supporters int
		interim    bool
	}
	byID := map[int64]*extra{}
	r, err := s.DB.R().QueryContext(ctx, `SELECT g.case_id, g.category_id, g.supporters,
		EXISTS (SELECT 1 FROM wf_history h WHERE h.case_id = g.case_id AND h.action = 'interim_reply')
		FROM grv_grievances g WHERE g.case_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for r.Next() {
		var id int64
		e := &extra{}
		if err := r.Scan(&id, &e.category, &e.supporters, &e.interim); err != nil {
			return nil, err
		}
		byID[id] = e
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	for _, c := range cases {
		e := byID[c.ID]
		if e == nil {
			continue
		}
		cat := n.categories[e.category]
		out = append(out, InboxRow{Ref: c.Ref, Category: cat.Label(n.lang), CategoryCode: cat.Code, Department: n.Dept(c.DepartmentID),
			District: n.District(c.DistrictID), State: c.State, Version: c.Version, Due: c.StateDue, CaseDue: c.DueAt,
			Overdue: c.Overdue(now), NeedsInterim: needsInterim(c, e.interim, now), Supporters: e.supporters, Level: c.Level,
			Priority: c.Priority, Assigned: c.AssigneeID != 0, CreatedAt: c.CreatedAt})
	}
	return out, nil
}

// needsInterim: an open grievance (not waiting for the citizen) whose time
// limit ends within InterimDays, or has passed, with no interim reply yet.
func needsInterim(c workflow.Case, hadInterim bool, now time.Time) bool {
	return c.Open && !c.Paused && !hadInterim && !c.DueAt.IsZero() && c.DueAt.Sub(now) <= InterimDays*24*time.Hour
}

func langOf(ctx context.Context) string {
	if l := web.Info(ctx).Lang; l != "" {
		return l
	}
	return "en"
}

// --- page --------------------------------------------------------------------

type inboxData struct {
	InboxFilter
	Page       InboxPage
	Views      []string
	Orders     []string
	States     []string
	Depts      []option
	Districts  []option
	Categories []option
	NextURL    string
}

// filterFrom reads an inbox filter from a query string.
func filterFrom(q url.Values) (InboxFilter, error) {
	f := InboxFilter{View: q.Get("view"), State: q.Get("state"), Order: q.Get("sort"), After: q.Get("after")}
	var err error
	if f.DepartmentID, err = queryID(q.Get("department"), "grievance.inbox_bad_filter"); err != nil {
		return f, err
	}
	if f.DistrictID, err = queryID(q.Get("district"), "grievance.inbox_bad_filter"); err != nil {
		return f, err
	}
	if f.CategoryID, err = queryID(q.Get("category"), "grievance.inbox_bad_filter"); err != nil {
		return f, err
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return f, web.BadRequest("grievance.inbox_bad_filter")
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Service) inboxPage(w http.ResponseWriter, r *http.Request) error {
	f, err := filterFrom(r.URL.Query())
	if err != nil {
		return err
	}
	if f.View == "" {
		f.View = string(workflow.ViewMine)
		if !hasAssignable(me(r)) {
			f.View = string(workflow.ViewTeam)
		}
	}
	if err := s.checkInbox(&f); err != nil {
		return err
	}
	page, err := s.Inbox(r.Context(), me(r), f)
	if err != nil {
		return err
	}
	n, err := s.names(r.Context(), web.LangOf(r))
	if err != nil {
		return err
	}
	d := inboxData{InboxFilter: f, Page: page, Views: InboxViews, Orders: InboxOrders, States: allStates, Depts: n.deptOptions(),
		Districts: n.districtOptions(), Categories: n.categoryOptions()}
	if page.Next != "" {
		q := url.Values{"view": {f.View}, "sort": {f.Order}, "after": {page.Next}}
		if f.Limit != 0 {
			q.Set("limit", strconv.Itoa(f.Limit))
		}
		for k, v := range map[string]string{"state": f.State, "department": idStr(f.DepartmentID), "district": idStr(f.DistrictID),
			"category": idStr(f.CategoryID)} {
			if v != "" {
				q.Set(k, v)
			}
		}
		d.NextURL = "/grievances/inbox?" + q.Encode()
	}
	return s.Render.Page(w, r, http.StatusOK, "grievance/officer_inbox.html", d)
}

// hasAssignable: a field officer or grievance officer has a "mine" tab
// worth opening first; heads of department and administrators start on
// their team's queue.
func hasAssignable(p *auth.Principal) bool {
	for _, g := range p.Grants {
		if g.Role == RoleField {
			return true
		}
	}
	return false
}

func idStr(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}
