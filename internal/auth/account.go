package auth

import (
	"net/http"

	"mizogov/internal/web"
)

type accountData struct {
	web.Form
	Person   Person
	Sessions []session
	Current  int64
	Grants   []Grant
	Notice   string
}

func (s *Service) renderAccount(w http.ResponseWriter, r *http.Request, status int, f *web.Form, notice string) error {
	p := PrincipalOf(r)
	person, err := s.Store.PersonByID(r.Context(), s.DB.R(), p.ID)
	if err != nil {
		return err
	}
	sessions, err := s.Store.Sessions(r.Context(), p.ID, s.now())
	if err != nil {
		return err
	}
	data := &accountData{Person: person, Sessions: sessions, Current: p.SessionID, Grants: p.Grants, Notice: notice}
	if f != nil {
		data.Form = *f
	} else {
		data.Form.Values = map[string]string{"name": person.Name, "lang": person.Lang}
	}
	return s.Render.Page(w, r, status, "auth/account.html", data)
}

func (s *Service) accountPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAccount(w, r, http.StatusOK, nil, r.URL.Query().Get("done"))
}

func (s *Service) accountProfile(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "name", "lang")
	if err := s.UpdateProfile(r.Context(), PrincipalOf(r), f.Values["name"], f.Values["lang"]); err != nil {
		if err := f.Refused(err, "name"); err != nil {
			return err
		}
		return s.renderAccount(w, r, http.StatusUnprocessableEntity, f, "")
	}
	http.Redirect(w, r, "/account?lang="+f.Values["lang"]+"&done=profile", http.StatusSeeOther)
	return nil
}

func (s *Service) accountPassword(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r)
	err := s.ChangePassword(r.Context(), PrincipalOf(r), r.PostFormValue("old"), r.PostFormValue("new"), r.PostFormValue("confirm"))
	if err != nil {
		if err := f.Refused(err, "old"); err != nil {
			return err
		}
		return s.renderAccount(w, r, http.StatusUnprocessableEntity, f, "")
	}
	http.Redirect(w, r, "/account?done=password", http.StatusSeeOther)
	return nil
}

func (s *Service) accountSignoutEverywhere(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.SignOutEverywhere(r.Context(), PrincipalOf(r).ID); err != nil {
		return err
	}
	clearSessionCookie(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
