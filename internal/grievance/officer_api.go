package grievance

import (
	"net/http"

	"mizogov/internal/web"
)

// The officers' JSON API: the same service methods as the pages.

func (s *Service) apiInbox(w http.ResponseWriter, r *http.Request) error {
	f, err := filterFrom(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.Inbox(r.Context(), me(r), f)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (s *Service) apiOfficerAct(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("ref")
	// Outside the officer's jurisdiction the grievance does not exist,
	// whatever the body says.
	if _, _, err := s.officeCase(r.Context(), s.DB.R(), me(r), ref); err != nil {
		return err
	}
	var in OfficerAct
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Act(r.Context(), me(r), ref, in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (s *Service) apiSearch(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := searchPageNo(q.Get("page"))
	if err != nil {
		return err
	}
	res, err := s.Search(r.Context(), me(r), q.Get("q"), page)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, res)
	return nil
}
