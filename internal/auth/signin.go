package auth

import (
	"net/http"

	"mizogov/internal/web"
)

type signinData struct {
	web.Form
	Next   string
	Sent   OTPSent
	Masked string
	Demo   bool
	Recent []any // set when a code was sent moments ago: "seconds", n
}

func (s *Service) signinPage(w http.ResponseWriter, r *http.Request) error {
	if PrincipalOf(r) != nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	return s.Render.Page(w, r, http.StatusOK, "auth/signin.html", &signinData{Next: r.URL.Query().Get("next"), Demo: s.Demo})
}

func (s *Service) otpSend(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "contact", "next")
	data := &signinData{Form: *f, Next: f.Values["next"], Demo: s.Demo}
	sent, err := s.SendOTP(r.Context(), f.Values["contact"], web.LangOf(r))
	if e, ok := err.(*web.Error); ok && e.Code == "otp_recent" {
		// Show the code page again rather than an error: the code already sent still works.
		data.Masked = Mask(sent.Contact.Value)
		data.Form.Values["contact"] = sent.Contact.Value
		data.Form.Errors = nil
		data.Recent = e.Args
		return s.Render.Page(w, r, http.StatusOK, "auth/signin_code.html", data)
	}
	if err != nil {
		if err := data.Form.Refused(err, "contact"); err != nil {
			return err
		}
		return s.Render.Page(w, r, http.StatusUnprocessableEntity, "auth/signin.html", data)
	}
	data.Sent, data.Masked = sent, Mask(sent.Contact.Value)
	data.Form.Values["contact"] = sent.Contact.Value
	return s.Render.Page(w, r, http.StatusOK, "auth/signin_code.html", data)
}

func (s *Service) otpVerify(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "contact", "code", "next")
	res, err := s.VerifyOTP(r.Context(), f.Values["contact"], f.Values["code"], "web")
	if err != nil {
		data := &signinData{Form: *f, Next: f.Values["next"], Masked: Mask(f.Values["contact"]), Demo: s.Demo}
		data.Form.Values["code"] = ""
		if err := data.Form.Refused(err, "code"); err != nil {
			return err
		}
		return s.Render.Page(w, r, http.StatusUnprocessableEntity, "auth/signin_code.html", data)
	}
	setSessionCookie(w, r, res.Token, res.ExpiresAt)
	http.Redirect(w, r, safeNext(f.Values["next"]), http.StatusSeeOther)
	return nil
}

func (s *Service) staffSigninPage(w http.ResponseWriter, r *http.Request) error {
	return s.Render.Page(w, r, http.StatusOK, "auth/staff_signin.html", &signinData{Next: r.URL.Query().Get("next"), Demo: s.Demo})
}

func (s *Service) staffSignin(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "username", "totp", "next")
	res, err := s.StaffLogin(r.Context(), f.Values["username"], r.PostFormValue("password"), f.Values["totp"], "web")
	if err != nil {
		data := &signinData{Form: *f, Next: f.Values["next"], Demo: s.Demo}
		data.Form.Values["totp"] = ""
		if err := data.Form.Refused(err, "username"); err != nil {
			return err
		}
		return s.Render.Page(w, r, http.StatusUnprocessableEntity, "auth/staff_signin.html", data)
	}
	setSessionCookie(w, r, res.Token, res.ExpiresAt)
	next := f.Values["next"]
	if next == "" {
		next = "/staff"
	}
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}

func (s *Service) signout(w http.ResponseWriter, r *http.Request) error {
	if err := s.SignOut(r.Context(), PrincipalOf(r)); err != nil {
		return err
	}
	clearSessionCookie(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
