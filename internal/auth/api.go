package auth

import (
	"net/http"
	"time"

	"mizogov/internal/web"
)

// OTPRequest asks for a one-time code; give phone or email, not both.
type OTPRequest struct {
	Phone string `json:"phone,omitempty" doc:"Mobile number in E.164 form (+919862012345); Indian numbers may omit +91"`
	Email string `json:"email,omitempty"`
}

// OTPResponse says the code is on its way.
type OTPResponse struct {
	Sent             string `json:"sent_to" doc:"The masked phone number or email address"`
	ExpiresInSeconds int    `json:"expires_in"`
	ResendAfter      int    `json:"resend_after" doc:"Seconds before another code may be asked for"`
}

// OTPVerifyRequest exchanges a code for a token.
type OTPVerifyRequest struct {
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
	Code  string `json:"code" doc:"The 6-digit code"`
}

// LoginRequest is an officer's sign-in.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	TOTP     string `json:"totp" doc:"The 6-digit code from the authenticator app"`
}

// TokenResponse carries a bearer token.
type TokenResponse struct {
	Token     string     `json:"token"`
	TokenType string     `json:"token_type" enum:"Bearer"`
	ExpiresAt time.Time  `json:"expires_at"`
	Me        MeResponse `json:"me"`
}

// MeResponse describes the signed-in person.
type MeResponse struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Phone    string  `json:"phone,omitempty"`
	Email    string  `json:"email,omitempty"`
	Lang     string  `json:"lang" enum:"en,lus"`
	Staff    bool    `json:"staff" doc:"Signed in as an officer"`
	Username string  `json:"username,omitempty"`
	Roles    []Grant `json:"roles"`
}

// MeUpdate changes one's own profile.
type MeUpdate struct {
	Name string `json:"name"`
	Lang string `json:"lang" enum:"en,lus"`
}

func me(p *Principal) MeResponse {
	return MeResponse{ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email, Lang: p.Lang, Staff: p.Staff, Username: p.Username, Roles: p.Grants}
}

func contactOf(phone, email string) (string, error) {
	switch {
	case phone != "" && email != "":
		return "", web.BadRequest("auth.contact_one")
	case phone == "" && email == "":
		f := &web.Fields{}
		f.Add("phone", "auth.contact_required")
		return "", f.Err()
	case phone != "":
		if _, key := NormalizePhone(phone); key != "" {
			f := &web.Fields{}
			f.Add("phone", key)
			return "", f.Err()
		}
		return phone, nil
	default:
		if _, key := NormalizeEmail(email); key != "" {
			f := &web.Fields{}
			f.Add("email", key)
			return "", f.Err()
		}
		return email, nil
	}
}

func (s *Service) apiOTP(w http.ResponseWriter, r *http.Request) error {
	var req OTPRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	contact, err := contactOf(req.Phone, req.Email)
	if err != nil {
		return err
	}
	sent, err := s.SendOTP(r.Context(), contact, web.LangOf(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusAccepted, OTPResponse{Sent: Mask(sent.Contact.Value),
		ExpiresInSeconds: int(sent.ExpiresIn.Seconds()), ResendAfter: int(sent.ResendAfter.Seconds())})
	return nil
}

func (s *Service) apiOTPVerify(w http.ResponseWriter, r *http.Request) error {
	var req OTPVerifyRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	contact, err := contactOf(req.Phone, req.Email)
	if err != nil {
		return err
	}
	res, err := s.VerifyOTP(r.Context(), contact, req.Code, "api")
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, TokenResponse{Token: res.Token, TokenType: "Bearer", ExpiresAt: res.ExpiresAt, Me: me(res.Principal)})
	return nil
}

func (s *Service) apiLogin(w http.ResponseWriter, r *http.Request) error {
	var req LoginRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	res, err := s.StaffLogin(r.Context(), req.Username, req.Password, req.TOTP, "api")
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, TokenResponse{Token: res.Token, TokenType: "Bearer", ExpiresAt: res.ExpiresAt, Me: me(res.Principal)})
	return nil
}

func (s *Service) apiLogout(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalOf(r)
	var err error
	if r.URL.Query().Get("everywhere") == "true" {
		_, err = s.SignOutEverywhere(r.Context(), p.ID)
	} else {
		err = s.SignOut(r.Context(), p)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) apiMe(w http.ResponseWriter, r *http.Request) error {
	web.WriteJSON(w, http.StatusOK, me(PrincipalOf(r)))
	return nil
}

func (s *Service) apiMeUpdate(w http.ResponseWriter, r *http.Request) error {
	var req MeUpdate
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	p := PrincipalOf(r)
	if err := s.UpdateProfile(r.Context(), p, req.Name, req.Lang); err != nil {
		return err
	}
	p.Name, p.Lang = req.Name, req.Lang
	web.WriteJSON(w, http.StatusOK, me(p))
	return nil
}
