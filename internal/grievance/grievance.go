// Package grievance is Mipui Aw: public grievances filed by citizens (or by
// a help desk on a caller's behalf, or through Open311 GeoReport v2), routed
// to a department's grievance officer, assigned to field officers, resolved
// with an action-taken report, rated, reopened and appealed, all on the
// workflow engine with its SLAs and escalation ladder. A public dashboard
// shows each department's and district's record without signing in.
package grievance

import (
	"embed"
	"io/fs"
	"log/slog"
	"path"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/files"
	"mizogov/internal/geo"
	"mizogov/internal/jobs"
	"mizogov/internal/notify"
	"mizogov/internal/ratelimit"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed i18n
var messagesFS embed.FS

//go:embed notify/*.txt
var notifyFS embed.FS

//go:embed static/officer.css
var officerCSS []byte

// Templates are the service's pages.
func Templates() fs.FS { sub, _ := fs.Sub(templatesFS, "templates"); return sub }

// Messages are the service's message catalogs: each folder under i18n/
// (common, citizen, officer, open311, dashboard …) holds an en.json and a
// lus.json, keys prefixed "grievance.".
func Messages() []fs.FS {
	dirs, _ := fs.ReadDir(messagesFS, "i18n")
	var out []fs.FS
	for _, d := range dirs {
		if d.IsDir() {
			sub, _ := fs.Sub(messagesFS, path.Join("i18n", d.Name()))
			out = append(out, sub)
		}
	}
	return out
}

// NotifyTemplates are the service's SMS and email messages.
func NotifyTemplates() fs.FS { sub, _ := fs.Sub(notifyFS, "notify"); return sub }

// CaseType is the workflow name of a grievance.
const CaseType = "grievance"

// RefService is the reference-number service code: MZ-GRV-2627-000123-7.
const RefService = "GRV"

// Roles the service adds (migration 012). The appellate authority is the
// head of department (auth.RoleHOD).
const (
	RoleGRO      = "grievance_officer" // a department's grievance officer in a district: receives, assigns, transfers, replies
	RoleField    = "field_officer"     // works the grievances assigned to them
	RoleHelpdesk = "helpdesk"          // files grievances for callers
)

// Permissions.
const (
	PermFile     = "grievance.file"     // citizens: file, add information, rate, reopen, appeal, support
	PermWork     = "grievance.work"     // officers: inbox, act, search
	PermHelpdesk = "grievance.helpdesk" // file on behalf of a caller
	PermManage   = "grievance.manage"   // categories
)

// Limits.
const (
	MaxDescription = 4000
	MaxAddress     = 300
	MaxPhotos      = 3
	MaxPhoto       = 5 << 20
	DefaultSLADays = 21 // the central government's rule (CPGRAMS)
	ReopenDays     = 15 // a citizen may reopen within this many days of resolution
	AppealDays     = 30 // the appellate authority's SLA
	TransferDays   = 5  // a misrouted grievance is transferred within 5 working days
	InfoDays       = 15 // the citizen's time to answer a request for information
)

// Mizoram's bounding box: coordinates outside it are refused.
const (
	MinLat, MaxLat = 21.94, 24.53
	MinLng, MaxLng = 92.25, 93.45
)

// States.
const (
	StSubmitted = "submitted"      // with the department's grievance officer
	StAssigned  = "assigned"       // with a field officer
	StInfo      = "info_requested" // waiting for the citizen (the clock stops)
	StResolved  = "resolved"       // closed with an action-taken report
	StRejected  = "rejected"       // closed with a reason
	StAppeal    = "appeal"         // with the appellate authority (head of department)
	StAppealed  = "appeal_decided" // the appellate authority's decision
	StMerged    = "merged"         // a duplicate, merged into another grievance
)

// Service is Mipui Aw.
type Service struct {
	DB       *db.DB
	Audit    *audit.Log
	Notify   *notify.Service
	Jobs     *jobs.Jobs
	Workflow *workflow.Engine
	Files    *files.Service
	Geo      *geo.Store
	Auth     *auth.Service
	Limits   *ratelimit.Limiter
	Render   *web.Renderer
	Log      *slog.Logger
	Now      func() time.Time
	BaseURL  string // the public URL, for absolute links (Open311)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Workflow is the grievance workflow. The whole case's SLA is its
// category's (21 days by default), set when it is filed.
func Workflow() *workflow.Definition {
	office := []string{RoleGRO, auth.RoleHOD}
	workers := []string{RoleGRO, RoleField, workflow.Assignee, auth.RoleHOD}
	open := []string{StSubmitted, StAssigned}
	notice := func(to, tmpl string) []workflow.Notice { return []workflow.Notice{{To: to, Template: tmpl}} }
	return &workflow.Definition{
		Name:  CaseType,
		Start: StSubmitted,
		SLA:   workflow.Days(DefaultSLADays),
		States: []workflow.State{
			{Name: StSubmitted, Role: RoleGRO, SLA: workflow.WorkingDays(TransferDays)},
			{Name: StAssigned, Role: RoleField},
			{Name: StInfo, Role: workflow.Owner, Paused: true, SLA: workflow.Days(InfoDays)},
			{Name: StResolved, Final: true},
			{Name: StRejected, Final: true},
			{Name: StAppeal, Role: auth.RoleHOD, SLA: workflow.Days(AppealDays)},
			{Name: StAppealed, Final: true},
			{Name: StMerged, Final: true},
		},
		Created: notice(workflow.Owner, "grievance.filed"),
		Actions: []workflow.Action{
			{Name: "assign", From: open, To: StAssigned, Roles: office, Assign: true,
				Notify: notice(workflow.Assignee, "grievance.assigned")},
			{Name: "transfer", From: open, To: StSubmitted, Roles: office, Transfer: true, Comment: true, Public: true,
				Notify: notice(workflow.Owner, "grievance.transferred")},
			{Name: "ask_info", From: open, To: StInfo, Roles: workers, Comment: true, Public: true,
				Notify: notice(workflow.Owner, "grievance.info_requested")},
			{Name: "add_info", From: []string{StInfo}, To: workflow.Previous, Roles: []string{workflow.Owner}, Comment: true, Public: true},
			{Name: "no_reply", From: []string{StInfo}, To: workflow.Previous, Roles: []string{workflow.System}, Public: true},
			{Name: "note", From: []string{StSubmitted, StAssigned, StInfo, StAppeal}, To: workflow.Stay, Roles: []string{workflow.Owner}, Comment: true, Public: true},
			{Name: "interim_reply", From: open, To: workflow.Stay, Roles: workers, Comment: true, Public: true, SetsDue: true,
				Notify: notice(workflow.Owner, "grievance.interim")},
			{Name: "resolve", From: open, To: StResolved, Roles: workers, Comment: true, Public: true,
				Notify: notice(workflow.Owner, "grievance.resolved")},
			{Name: "reject", From: open, To: StRejected, Roles: office, Comment: true, Public: true,
				Notify: notice(workflow.Owner, "grievance.rejected")},
			{Name: "merge", From: open, To: StMerged, Roles: office, Comment: true, Public: true,
				Notify: notice(workflow.Owner, "grievance.merged")},
			{Name: "reopen", From: []string{StResolved}, To: StSubmitted, Roles: []string{workflow.Owner}, Comment: true, Public: true, Restart: true},
			{Name: "appeal", From: []string{StResolved, StRejected}, To: StAppeal, Roles: []string{workflow.Owner}, Comment: true, Public: true,
				Notify: notice(auth.RoleHOD, "grievance.appeal")},
			{Name: "decide_appeal", From: []string{StAppeal}, To: StAppealed, Roles: []string{auth.RoleHOD}, Comment: true, Public: true,
				Notify: notice(workflow.Owner, "grievance.appeal_decided")},
			{Name: "remand", From: []string{StAppeal}, To: StSubmitted, Roles: []string{auth.RoleHOD}, Comment: true, Public: true, Restart: true,
				Notify: notice(workflow.Owner, "grievance.remanded")},
			{Name: "escalate", From: []string{StSubmitted, StAssigned, StAppeal}, To: workflow.Stay, Roles: []string{workflow.System},
				Notify: notice(auth.RoleHOD, "grievance.escalated")},
		},
		Escalations: []workflow.Escalation{
			{State: StSubmitted, Action: "escalate", Role: auth.RoleHOD, Level: 1},
			{State: StAssigned, Action: "escalate", Role: RoleGRO, Level: 1},
			{State: StAssigned, After: 72 * time.Hour, Action: "escalate", Role: auth.RoleHOD, Level: 2},
			{State: StAppeal, Action: "escalate", Role: auth.RoleAdmin, Level: 1},
			{State: StInfo, Action: "no_reply", Level: 1},
		},
	}
}

// OfficerActions are the steps officers take from the case page (the
// others are the citizen's and the sweep's).
var OfficerActions = []string{"assign", "transfer", "ask_info", "interim_reply", "resolve", "reject", "merge", "decide_appeal", "remand"}

// CitizenActions are the steps the citizen who filed takes.
var CitizenActions = []string{"add_info", "note", "reopen", "appeal"}
