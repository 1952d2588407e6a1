package auth

import (
	"embed"
	"io/fs"
	"net/http"

	"mizogov/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed notify/*.txt
var notifyTemplates embed.FS

// Templates are the auth pages.
func Templates() fs.FS { sub, _ := fs.Sub(templates, "templates"); return sub }

// NotifyTemplates are the auth messages (one-time codes).
func NotifyTemplates() fs.FS { sub, _ := fs.Sub(notifyTemplates, "notify"); return sub }

// Routes lists every route of the auth module with the permission it needs.
func (s *Service) Routes() []web.Route {
	return []web.Route{
		{Pattern: "GET /signin", Perm: web.Public, Handler: s.signinPage},
		{Pattern: "POST /signin/otp", Perm: web.Public, Handler: s.otpSend},
		{Pattern: "POST /signin/verify", Perm: web.Public, Handler: s.otpVerify},
		{Pattern: "GET /staff/signin", Perm: web.Public, Handler: s.staffSigninPage},
		{Pattern: "POST /staff/signin", Perm: web.Public, Handler: s.staffSignin},
		{Pattern: "POST /signout", Perm: web.SignedIn, Handler: s.signout},

		{Pattern: "GET /staff", Perm: web.SignedIn, Handler: s.staffHome},
		{Pattern: "GET /account", Perm: web.SignedIn, Handler: s.accountPage},
		{Pattern: "POST /account/profile", Perm: web.SignedIn, Handler: s.accountProfile},
		{Pattern: "POST /account/password", Perm: PermStaff, Handler: s.accountPassword},
		{Pattern: "POST /account/signout-everywhere", Perm: web.SignedIn, Handler: s.accountSignoutEverywhere},

		{Pattern: "GET /admin", Perm: PermAdmin, Handler: s.adminHome},
		{Pattern: "GET /admin/departments", Perm: PermAdmin, Handler: s.adminDepartments},
		{Pattern: "POST /admin/departments", Perm: PermAdmin, Handler: s.adminDepartmentSave},
		{Pattern: "GET /admin/departments/{id}", Perm: PermAdmin, Handler: s.adminDepartment},
		{Pattern: "POST /admin/departments/{id}", Perm: PermAdmin, Handler: s.adminDepartmentSave},
		{Pattern: "GET /admin/officers", Perm: PermAdmin, Handler: s.adminOfficers},
		{Pattern: "GET /admin/officers/new", Perm: PermAdmin, Handler: s.adminOfficerNew},
		{Pattern: "POST /admin/officers", Perm: PermAdmin, Handler: s.adminOfficerCreate},
		{Pattern: "GET /admin/officers/{id}", Perm: PermAdmin, Handler: s.adminOfficer},
		{Pattern: "POST /admin/officers/{id}/grants", Perm: PermAdmin, Handler: s.adminGrantAdd},
		{Pattern: "POST /admin/officers/{id}/grants/{grant}/remove", Perm: PermAdmin, Handler: s.adminGrantRemove},
		{Pattern: "GET /admin/officers/{id}/{action}", Perm: PermAdmin, Handler: s.adminOfficerConfirm},
		{Pattern: "POST /admin/officers/{id}/{action}", Perm: PermAdmin, Handler: s.adminOfficerAction},

		{Pattern: "POST /api/v1/auth/otp", Perm: web.Public, Handler: s.apiOTP, API: &web.APIDoc{
			Tag: "auth", Summary: "Send a one-time sign-in code by SMS (phone) or email", Request: OTPRequest{}, Response: OTPResponse{}, Status: http.StatusAccepted}},
		{Pattern: "POST /api/v1/auth/otp/verify", Perm: web.Public, Handler: s.apiOTPVerify, API: &web.APIDoc{
			Tag: "auth", Summary: "Exchange a one-time code for a bearer token (citizens)", Request: OTPVerifyRequest{}, Response: TokenResponse{}}},
		{Pattern: "POST /api/v1/auth/login", Perm: web.Public, Handler: s.apiLogin, API: &web.APIDoc{
			Tag: "auth", Summary: "Officer sign-in with username, password and TOTP code", Request: LoginRequest{}, Response: TokenResponse{}}},
		{Pattern: "POST /api/v1/auth/logout", Perm: web.SignedIn, Handler: s.apiLogout, API: &web.APIDoc{
			Tag: "auth", Summary: "Revoke the token of this request (everywhere=true revokes all of the person's sessions)",
			Query: []web.Param{{Name: "everywhere", Type: "boolean", Description: "also end every other session"}}, Status: http.StatusNoContent}},
		{Pattern: "GET /api/v1/me", Perm: web.SignedIn, Handler: s.apiMe, API: &web.APIDoc{
			Tag: "auth", Summary: "The signed-in person and their roles", Response: MeResponse{}}},
		{Pattern: "PATCH /api/v1/me", Perm: web.SignedIn, Handler: s.apiMeUpdate, API: &web.APIDoc{
			Tag: "auth", Summary: "Change one's own name and language", Request: MeUpdate{}, Response: MeResponse{}}},
	}
}
