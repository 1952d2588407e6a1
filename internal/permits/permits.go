// Package permits is ILP Online: Inner Line Permits for visitors to
// Mizoram. Visitors apply (alone or as a group under a lead applicant),
// local sponsors confirm from their own accounts (ten active sponsorships at
// most, enforced by the database), the issuing office verifies and
// approves, the visitor pays through the payments core, and the permit is
// issued as a signed document (docs): a printable A4 page and a PDF whose QR
// code holds a compact JWS that police at check gates verify, offline too.
// Permit-type rules are dated rows an administrator changes from a date on.
package permits

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/docs"
	"mizogov/internal/files"
	"mizogov/internal/jobs"
	"mizogov/internal/notify"
	"mizogov/internal/payments"
	"mizogov/internal/ratelimit"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed i18n/*.json
var messagesFS embed.FS

//go:embed notify/*.txt
var notifyFS embed.FS

//go:embed static
var staticFS embed.FS

// Templates are the service's pages.
func Templates() fs.FS { sub, _ := fs.Sub(templatesFS, "templates"); return sub }

// Messages are the service's messages.
func Messages() fs.FS { sub, _ := fs.Sub(messagesFS, "i18n"); return sub }

// NotifyTemplates are the service's SMS and email messages.
func NotifyTemplates() fs.FS { sub, _ := fs.Sub(notifyFS, "notify"); return sub }

// Roles the service adds (rows in the roles table, migration 022).
const (
	RoleOfficer = "ilp_officer" // the issuing office: verifies, approves, revokes
	RolePolice  = "police"      // check gates: verify permits, record entry and exit
)

// Permissions.
const (
	PermApply   = "permits.apply"   // citizens: apply, pay, extend, cancel; sponsor others
	PermProcess = "permits.process" // issuing office
	PermGate    = "permits.gate"    // check gates
	PermReports = "permits.reports" // reports and CSV
	PermRules   = "permits.rules"   // change permit-type rules
)

// DocType is the docs type of an issued permit (the "dtp" claim).
const DocType = "ILP"

// Limits of an application.
const (
	MaxAheadDays = 7  // apply at most 7 days before the day of entry
	MaxMembers   = 20 // a family or tour group
	SponsorCap   = 10 // active sponsorships per sponsor (mirrored by a CHECK in the database)
)

// Service is ILP Online.
type Service struct {
	DB       *db.DB
	Audit    *audit.Log
	Notify   *notify.Service
	Jobs     *jobs.Jobs
	Docs     *docs.Service
	Payments *payments.Service
	Workflow *workflow.Engine
	Files    *files.Service
	Limits   *ratelimit.Limiter
	Render   *web.Renderer
	Log      *slog.Logger
	Now      func() time.Time
	// HomeDept is the id of the Home Department, whose officers issue
	// permits (0 when the department is not set up: then only grants
	// without a department cover permit records).
	HomeDept func(ctx context.Context) int64
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) homeDept(ctx context.Context) int64 {
	if s.HomeDept == nil {
		return 0
	}
	return s.HomeDept(ctx)
}

// EntryPoint is a place where permits are issued and checked: border check
// gates, the airport, the railway station, and the Mizoram Houses in other
// cities (issuing offices only).
type EntryPoint struct {
	Code     string
	Name     string
	NameLus  string
	District string // the Mizoram district whose office issues there; "" for Mizoram Houses
	Gate     bool   // a check gate where police record entry and exit
}

// EntryPoints are the real issuing points and gates (Home Department
// instructions of 6 June 2020; Sairang since the railway opened in 2025).
var EntryPoints = []EntryPoint{
	{"VRT", "Vairengte check gate (Assam border)", "Vairengte check gate (Assam ramri)", "Kolasib", true},
	{"BRB", "Bairabi check gate (Assam border)", "Bairabi check gate (Assam ramri)", "Kolasib", true},
	{"KHM", "Kanhmun check gate (Tripura border)", "Kanhmun check gate (Tripura ramri)", "Mamit", true},
	{"LPA", "Lengpui Airport", "Lengpui Thlawhna Tumhmun", "Mamit", true},
	{"SRG", "Sairang railway station", "Sairang rel station", "Aizawl", true},
	{"MHD", "Mizoram House, New Delhi", "Mizoram House, New Delhi", "", false},
	{"MHK", "Mizoram House, Kolkata", "Mizoram House, Kolkata", "", false},
	{"MHG", "Mizoram House, Guwahati", "Mizoram House, Guwahati", "", false},
	{"MHS", "Mizoram House, Shillong", "Mizoram House, Shillong", "", false},
	{"MHC", "Mizoram House, Silchar", "Mizoram House, Silchar", "", false},
	{"MHM", "Mizoram House, Mumbai", "Mizoram House, Mumbai", "", false},
}

// EntryPointByCode finds an entry point.
func EntryPointByCode(code string) (EntryPoint, bool) {
	for _, e := range EntryPoints {
		if e.Code == code {
			return e, true
		}
	}
	return EntryPoint{}, false
}

// Label is the entry point's name in lang.
func (e EntryPoint) Label(lang string) string {
	if lang == "lus" {
		return e.NameLus
	}
	return e.Name
}

// Gates are the entry points where police check permits.
func Gates() []EntryPoint {
	var out []EntryPoint
	for _, e := range EntryPoints {
		if e.Gate {
			out = append(out, e)
		}
	}
	return out
}

// Purposes a visit may have (each permit type allows some of them).
var Purposes = []string{"tourism", "visit", "business", "medical", "official", "work", "trade"}

// IDTypes are the identity documents accepted (any one).
var IDTypes = []string{"epic", "aadhaar", "pan", "passport", "dl"}

// Application states.
const (
	StDraft           = "draft"
	StSponsorPending  = "sponsor_pending"
	StSponsorDeclined = "sponsor_declined"
	StSubmitted       = "submitted"
	StVerification    = "under_verification"
	StCorrection      = "correction"
	StApproved        = "approved"
	StRejected        = "rejected"
	StIssued          = "issued"
	StCancelled       = "cancelled"
)

// Permit states (time decides expiry; the row keeps what people decided).
const (
	PermitActive    = "active"
	PermitCancelled = "cancelled"
	PermitRevoked   = "revoked"
)

// ist is India Standard Time: days begin and end in it.
var ist = web.IST

// dayStart is the IST midnight that begins t's day.
func dayStart(t time.Time) time.Time {
	t = t.In(ist)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, ist)
}

// MaskID shows only the last four characters of an identity number.
func MaskID(idType, number string) string {
	n := strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(number, " ", ""), "-", ""))
	if len(n) <= 4 {
		return strings.Repeat("X", len(n))
	}
	masked := strings.Repeat("X", len(n)-4) + n[len(n)-4:]
	if idType == "aadhaar" && len(masked) == 12 {
		return masked[:4] + " " + masked[4:8] + " " + masked[8:]
	}
	return masked
}
