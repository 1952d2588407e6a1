package auth

import (
	"net/http"
	"strconv"
	"strings"

	"mizogov/internal/geo"
	"mizogov/internal/web"
)

// pathID reads a numeric path value; anything else is a 404.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, web.NotFound()
	}
	return id, nil
}

// formID reads an optional numeric form value (0 when empty).
func formID(f *web.Form, field string) int64 {
	v := f.Values[field]
	if v == "" {
		return 0
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		if f.Errors == nil {
			f.Errors = &web.Fields{}
		}
		f.Errors.Add(field, "form.invalid_choice")
		return 0
	}
	return id
}

type adminHomeData struct {
	Departments int
	Officers    int
	Outbox      map[string]int64
}

func (s *Service) adminHome(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var d adminHomeData
	s.DB.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM departments`).Scan(&d.Departments)
	s.DB.R().QueryRowContext(ctx, `SELECT COUNT(*) FROM staff_accounts`).Scan(&d.Officers)
	counts, err := s.Notify.Counts(ctx)
	if err != nil {
		return err
	}
	d.Outbox = counts
	return s.Render.Page(w, r, http.StatusOK, "auth/admin_home.html", d)
}

type departmentsData struct {
	web.Form
	List []Department
	Dept Department
}

func (s *Service) adminDepartments(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Store.Departments(r.Context())
	if err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "auth/admin_departments.html", &departmentsData{List: list})
}

func (s *Service) adminDepartment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.Store.Department(r.Context(), id)
	if err != nil {
		return errStatus(err)
	}
	f := web.Form{Values: map[string]string{"name": d.Name, "name_lus": d.NameLus}}
	if d.Active {
		f.Values["active"] = "on"
	}
	return s.Render.Page(w, r, http.StatusOK, "auth/admin_department.html", &departmentsData{Form: f, Dept: d})
}

func (s *Service) adminDepartmentSave(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "code", "name", "name_lus", "active")
	d := Department{Code: f.Values["code"], Name: f.Values["name"], NameLus: f.Values["name_lus"], Active: f.Values["active"] == "on"}
	page := "auth/admin_departments.html"
	if r.PathValue("id") != "" {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		cur, err := s.Store.Department(r.Context(), id)
		if err != nil {
			return errStatus(err)
		}
		d.ID, d.Code = id, cur.Code
		page = "auth/admin_department.html"
	}
	if _, err := s.SaveDepartment(r.Context(), PrincipalOf(r), d); err != nil {
		if err := f.Refused(err, "name"); err != nil {
			return err
		}
		list, _ := s.Store.Departments(r.Context())
		return s.Render.Page(w, r, http.StatusUnprocessableEntity, page, &departmentsData{Form: *f, List: list, Dept: d})
	}
	http.Redirect(w, r, "/admin/departments", http.StatusSeeOther)
	return nil
}

type officersData struct {
	web.Form
	List        []StaffRow
	Departments []Department
	Districts   []geo.District
	Roles       []string
	Officer     Person
	Grants      []Grant
	Locked      bool
	Cred        *Credentials
	Query       StaffFilter
	NextOffset  int
	PrevOffset  int
}

func (s *Service) officerChoices(r *http.Request, d *officersData) error {
	var err error
	if d.Departments, err = s.Store.Departments(r.Context()); err != nil {
		return err
	}
	if d.Districts, err = s.Geo.Districts(r.Context()); err != nil {
		return err
	}
	d.Roles = s.Policy.StaffRoles()
	return nil
}

func (s *Service) adminOfficers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := web.Form{Values: map[string]string{"q": q.Get("q"), "department": q.Get("department"), "district": q.Get("district")}}
	filter := StaffFilter{Search: strings.TrimSpace(q.Get("q")), DepartmentID: formID(&f, "department"), DistrictID: formID(&f, "district"), Limit: 50}
	filter.Offset, _ = strconv.Atoi(q.Get("offset"))
	filter.Offset = max(filter.Offset, 0)
	list, err := s.Store.Staff(r.Context(), filter)
	if err != nil {
		return err
	}
	d := &officersData{Form: f, List: list, Query: filter, PrevOffset: max(filter.Offset-50, 0)}
	if len(list) == 50 {
		d.NextOffset = filter.Offset + 50
	}
	if err := s.officerChoices(r, d); err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "auth/admin_officers.html", d)
}

func (s *Service) adminOfficerNew(w http.ResponseWriter, r *http.Request) error {
	d := &officersData{Form: web.Form{Values: map[string]string{"role": RoleOfficer}}}
	if err := s.officerChoices(r, d); err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "auth/admin_officer_new.html", d)
}

func (s *Service) adminOfficerCreate(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "username", "name", "phone", "email", "role", "department", "district")
	in := NewStaff{Username: f.Values["username"], Name: f.Values["name"], Phone: f.Values["phone"], Email: f.Values["email"],
		Role: f.Values["role"], DepartmentID: formID(f, "department"), DistrictID: formID(f, "district")}
	d := &officersData{Form: *f}
	if err := s.officerChoices(r, d); err != nil {
		return err
	}
	if !f.Errors.Empty() {
		s.ValidateStaff(r.Context(), &in, f.Errors)
		d.Form.Errors = f.Errors
		return s.Render.Page(w, r, http.StatusUnprocessableEntity, "auth/admin_officer_new.html", d)
	}
	cred, err := s.CreateStaff(r.Context(), PrincipalOf(r), in)
	if err != nil {
		if err := d.Form.Refused(err, "username"); err != nil {
			return err
		}
		return s.Render.Page(w, r, http.StatusUnprocessableEntity, "auth/admin_officer_new.html", d)
	}
	return s.Render.Page(w, r, http.StatusCreated, "auth/admin_credentials.html", &officersData{Cred: &cred})
}

func (s *Service) renderOfficer(w http.ResponseWriter, r *http.Request, status int, id int64, f *web.Form) error {
	person, err := s.ReadPerson(r.Context(), PrincipalOf(r), id)
	if err != nil {
		return err
	}
	if person.Username == "" {
		return web.NotFound()
	}
	grants, err := s.Store.Grants(r.Context(), s.DB.R(), id)
	if err != nil {
		return err
	}
	a, err := s.Store.accountByUsername(r.Context(), s.DB.R(), person.Username)
	if err != nil {
		return err
	}
	d := &officersData{Officer: person, Grants: grants, Locked: a.LockedUntil.Valid && a.LockedUntil.Time.After(s.now()),
		Form: web.Form{Values: map[string]string{"role": RoleOfficer}}}
	if f != nil {
		d.Form = *f
	}
	if err := s.officerChoices(r, d); err != nil {
		return err
	}
	return s.Render.Page(w, r, status, "auth/admin_officer.html", d)
}

func (s *Service) adminOfficer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderOfficer(w, r, http.StatusOK, id, nil)
}

func (s *Service) adminGrantAdd(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := web.NewForm(r, "role", "department", "district")
	dept, district := formID(f, "department"), formID(f, "district")
	if f.Errors.Empty() {
		err = s.AddGrant(r.Context(), PrincipalOf(r), id, f.Values["role"], dept, district)
		if err == nil {
			http.Redirect(w, r, "/admin/officers/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
			return nil
		}
		if err := f.Refused(err, "role"); err != nil {
			return err
		}
	}
	return s.renderOfficer(w, r, http.StatusUnprocessableEntity, id, f)
}

func (s *Service) adminGrantRemove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	grant, err := pathID(r, "grant")
	if err != nil {
		return err
	}
	if err := s.RemoveGrant(r.Context(), PrincipalOf(r), id, grant); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/officers/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// officerActions are the account actions, each confirmed on a page of its own.
var officerActions = map[string]bool{"disable": true, "enable": true, "unlock": true, "signout": true, "reset-password": true, "reset-totp": true}

// adminOfficerConfirm asks before an account action is carried out.
func (s *Service) adminOfficerConfirm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	action := r.PathValue("action")
	if !officerActions[action] {
		return web.NotFound()
	}
	person, err := s.Store.PersonByID(r.Context(), s.DB.R(), id)
	if err != nil || person.Username == "" {
		return web.NotFound()
	}
	return s.Render.Page(w, r, http.StatusOK, "auth/admin_confirm.html", map[string]any{"Officer": person, "Action": action})
}

func (s *Service) adminOfficerAction(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	actor, ctx := PrincipalOf(r), r.Context()
	var cred Credentials
	switch r.PathValue("action") {
	case "disable":
		err = s.SetDisabled(ctx, actor, id, true)
	case "enable":
		err = s.SetDisabled(ctx, actor, id, false)
	case "unlock":
		err = s.Unlock(ctx, actor, id)
	case "signout":
		err = s.RevokeSessions(ctx, actor, id)
	case "reset-password":
		cred, err = s.ResetPassword(ctx, actor, id)
	case "reset-totp":
		cred, err = s.ResetTOTP(ctx, actor, id)
	default:
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	if cred.Username != "" {
		return s.Render.Page(w, r, http.StatusOK, "auth/admin_credentials.html", &officersData{Cred: &cred})
	}
	http.Redirect(w, r, "/admin/officers/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}
