package grievance

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/web"
)

// Limits of a category's texts.
const (
	MaxCategoryName = 100
	MaxCategoryDesc = 1000
	MaxKeywords     = 500
	MaxAttributes   = 20
	MaxAttrValues   = 50
	MaxAttrQuestion = 300
)

var (
	categoryCodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$`) // an Open311 service_code
	attrCodeRE     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	valueKeyRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$`)
)

// checkCategory validates a category an administrator typed; problems go
// into f under the form's field names (attributes: attr_N_code …).
func (s *Service) checkCategory(ctx context.Context, q db.Querier, c *Category, f *web.Fields) {
	c.Code = strings.TrimSpace(c.Code)
	if !categoryCodeRE.MatchString(c.Code) {
		f.Add("code", "grievance.catadm_code_invalid")
	}
	if c.DepartmentID <= 0 {
		f.Add("department", "grievance.catadm_department_required")
	} else {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM departments WHERE id = $1`, c.DepartmentID).Scan(&n); err != nil || n == 0 {
			f.Add("department", "grievance.office_department_unknown")
		}
	}
	text := func(field string, v *string, max int, required bool) {
		*v = strings.TrimSpace(strings.ReplaceAll(*v, "\r\n", "\n"))
		switch n := len([]rune(*v)); {
		case n == 0 && required:
			f.Add(field, "grievance.catadm_required")
		case n > max:
			f.Add(field, "grievance.catadm_too_long", "max", max)
		}
	}
	text("name", &c.Name, MaxCategoryName, true)
	text("name_lus", &c.NameLus, MaxCategoryName, true)
	text("description", &c.Description, MaxCategoryDesc, false)
	text("description_lus", &c.DescriptionLus, MaxCategoryDesc, false)
	text("keywords", &c.Keywords, MaxKeywords, false)
	if c.SLADays < 1 || c.SLADays > 365 {
		f.Add("sla_days", "grievance.catadm_sla")
	}
	if len(c.Attributes) > MaxAttributes {
		f.Add("attributes", "grievance.catadm_attrs_many", "max", MaxAttributes)
	}
	seen := map[string]bool{}
	for i := range c.Attributes {
		a := &c.Attributes[i]
		p := "attr_" + strconv.Itoa(i) + "_"
		a.Order = i + 1
		switch {
		case !attrCodeRE.MatchString(a.Code):
			f.Add(p+"code", "grievance.catadm_attr_code")
		case seen[a.Code]:
			f.Add(p+"code", "grievance.catadm_attr_twice")
		}
		seen[a.Code] = true
		if !slices.Contains(AttrTypes, a.Datatype) {
			f.Add(p+"type", "grievance.catadm_attr_type")
		}
		text(p+"desc", &a.Description, MaxAttrQuestion, true)
		text(p+"desc_lus", &a.DescriptionLus, MaxAttrQuestion, true)
		list := a.Datatype == AttrSingle || a.Datatype == AttrMulti
		switch {
		case list && len(a.Values) == 0:
			f.Add(p+"values", "grievance.catadm_values_required")
		case !list && len(a.Values) > 0:
			f.Add(p+"values", "grievance.catadm_values_not_list")
		case len(a.Values) > MaxAttrValues:
			f.Add(p+"values", "grievance.catadm_values_many", "max", MaxAttrValues)
		}
		keys := map[string]bool{}
		for _, v := range a.Values {
			if !valueKeyRE.MatchString(v.Key) || v.Name == "" || v.NameLus == "" || keys[v.Key] ||
				len([]rune(v.Name)) > MaxCategoryName || len([]rune(v.NameLus)) > MaxCategoryName {
				f.Add(p+"values", "grievance.catadm_values_format")
			}
			keys[v.Key] = true
		}
	}
}

// CreateCategory adds a category; its code must be new.
func (s *Service) CreateCategory(ctx context.Context, c Category) (int64, error) {
	var id int64
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		f := &web.Fields{}
		s.checkCategory(ctx, tx, &c, f)
		if err := f.Err(); err != nil {
			return err
		}
		attrs, err := json.Marshal(nonNil(c.Attributes))
		if err != nil {
			return err
		}
		now := db.Time(s.now())
		err = tx.QueryRowContext(ctx, `INSERT INTO grv_categories (code, department_id, name, name_lus, description, description_lus,
			keywords, sla_days, attributes, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
			RETURNING id`, c.Code, c.DepartmentID, c.Name, c.NameLus, c.Description, c.DescriptionLus, c.Keywords, c.SLADays,
			string(attrs), c.Active, now).Scan(&id)
		if db.IsUnique(err) {
			f.Add("code", "grievance.catadm_code_taken")
			return f.Err()
		}
		if err != nil {
			return err
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "grievance.category_create", ObjectType: "grievance_category",
			ObjectID: c.Code, Summary: categorySummary(c)})
		return err
	})
	return id, err
}

// UpdateCategory changes a category (its code, the Open311 service_code
// clients hold, never changes).
func (s *Service) UpdateCategory(ctx context.Context, id int64, c Category) error {
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		old, err := s.CategoryByID(ctx, tx, id)
		if errors.Is(err, db.ErrNotFound) {
			return web.NotFound()
		}
		if err != nil {
			return err
		}
		c.Code = old.Code
		// The form has no place for Open311's "variable": an informational
		// line keeps being one.
		for i, a := range c.Attributes {
			for _, o := range old.Attributes {
				if o.Code == a.Code {
					c.Attributes[i].Variable = o.Variable
				}
			}
		}
		f := &web.Fields{}
		s.checkCategory(ctx, tx, &c, f)
		if err := f.Err(); err != nil {
			return err
		}
		if _, err := s.SaveCategory(ctx, tx, c); err != nil {
			return err
		}
		changed := map[string]any{}
		before, after := categorySummary(old), categorySummary(c)
		for k, v := range after {
			if b, _ := json.Marshal(before[k]); string(b) != mustJSON(v) {
				changed[k] = map[string]any{"from": before[k], "to": v}
			}
		}
		_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "grievance.category_update", ObjectType: "grievance_category",
			ObjectID: c.Code, Summary: changed})
		return err
	})
}

func categorySummary(c Category) map[string]any {
	return map[string]any{"department_id": c.DepartmentID, "name": c.Name, "name_lus": c.NameLus, "description": c.Description,
		"description_lus": c.DescriptionLus, "keywords": c.Keywords, "sla_days": c.SLADays, "attributes": nonNil(c.Attributes),
		"active": c.Active}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func nonNil(a []Attribute) []Attribute {
	if a == nil {
		return []Attribute{}
	}
	return a
}

// --- pages -------------------------------------------------------------------

type categoriesData struct {
	Categories []Category
	Done       string
}

func (s *Service) categoriesPage(w http.ResponseWriter, r *http.Request) error {
	cats, err := s.Categories(r.Context(), true)
	if err != nil {
		return err
	}
	return s.Render.Page(w, r, http.StatusOK, "grievance/officer_categories.html", categoriesData{Categories: cats,
		Done: r.URL.Query().Get("done")})
}

type categoryData struct {
	web.Form
	ID    int64
	Code  string
	Rows  []int
	Types []string
	Depts []auth.Department
	IsNew bool
}

// attrRows is how many attribute rows the form offers: those filled and two blank.
func attrRows(n int) []int {
	rows := make([]int, min(n+2, MaxAttributes))
	for i := range rows {
		rows[i] = i
	}
	return rows
}

func (s *Service) renderCategory(w http.ResponseWriter, r *http.Request, status int, id int64, code string, f *web.Form) error {
	depts, err := s.Auth.Store.Departments(r.Context())
	if err != nil {
		return err
	}
	n := 0
	for i := 0; i < MaxAttributes; i++ {
		p := "attr_" + strconv.Itoa(i) + "_"
		if f.Values[p+"code"] != "" || f.Values[p+"desc"] != "" || f.Values[p+"values"] != "" {
			n = i + 1
		}
	}
	d := categoryData{Form: *f, ID: id, Code: code, Rows: attrRows(n), Types: AttrTypes, Depts: depts, IsNew: id == 0}
	return s.Render.Page(w, r, status, "grievance/officer_category.html", &d)
}

// categoryForm is a category as the form shows it.
func categoryForm(c Category) *web.Form {
	v := map[string]string{"code": c.Code, "department": strconv.FormatInt(c.DepartmentID, 10), "name": c.Name, "name_lus": c.NameLus,
		"description": c.Description, "description_lus": c.DescriptionLus, "keywords": c.Keywords, "sla_days": strconv.Itoa(c.SLADays)}
	if c.Active {
		v["active"] = "1"
	}
	for i, a := range c.Attributes {
		p := "attr_" + strconv.Itoa(i) + "_"
		v[p+"code"], v[p+"type"], v[p+"desc"], v[p+"desc_lus"] = a.Code, a.Datatype, a.Description, a.DescriptionLus
		if a.Required {
			v[p+"required"] = "1"
		}
		var lines []string
		for _, av := range a.Values {
			lines = append(lines, av.Key+" | "+av.Name+" | "+av.NameLus)
		}
		v[p+"values"] = strings.Join(lines, "\n")
	}
	return &web.Form{Values: v}
}

// readCategory reads the posted form into a category (problems that are
// about the form itself go into f).
func readCategory(r *http.Request, f *web.Fields) (Category, *web.Form) {
	names := []string{"code", "department", "name", "name_lus", "description", "description_lus", "keywords", "sla_days", "active"}
	for i := 0; i < MaxAttributes; i++ {
		p := "attr_" + strconv.Itoa(i) + "_"
		names = append(names, p+"code", p+"type", p+"required", p+"desc", p+"desc_lus", p+"values")
	}
	form := web.NewForm(r, names...)
	v := form.Values
	c := Category{Code: v["code"], Name: v["name"], NameLus: v["name_lus"], Description: v["description"],
		DescriptionLus: v["description_lus"], Keywords: v["keywords"], Active: v["active"] == "1", SLADays: DefaultSLADays}
	if v["department"] != "" {
		id, err := strconv.ParseInt(v["department"], 10, 64)
		if err != nil || id <= 0 {
			f.Add("department", "grievance.office_department_unknown")
		}
		c.DepartmentID = id
	}
	if v["sla_days"] != "" {
		n, err := strconv.Atoi(v["sla_days"])
		if err != nil {
			n = -1
		}
		c.SLADays = n
	}
	for i := 0; i < MaxAttributes; i++ {
		p := "attr_" + strconv.Itoa(i) + "_"
		if v[p+"code"] == "" && v[p+"desc"] == "" && v[p+"desc_lus"] == "" && v[p+"values"] == "" {
			continue // an empty row (or one cleared to remove the question)
		}
		a := Attribute{Code: v[p+"code"], Datatype: v[p+"type"], Required: v[p+"required"] == "1", Description: v[p+"desc"],
			DescriptionLus: v[p+"desc_lus"]}
		for _, line := range strings.Split(v[p+"values"], "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			parts := strings.Split(line, "|")
			for len(parts) < 3 {
				parts = append(parts, "")
			}
			a.Values = append(a.Values, AttrValue{Key: strings.TrimSpace(parts[0]), Name: strings.TrimSpace(parts[1]),
				NameLus: strings.TrimSpace(strings.Join(parts[2:], "|"))})
		}
		// Field names follow the attribute's position among those kept.
		c.Attributes = append(c.Attributes, a)
	}
	return c, form
}

// renumber moves the posted attribute rows up over blank ones, so that
// errors (attr_N_…) point at the rows as shown again.
func renumber(form *web.Form, c Category) {
	for i := 0; i < MaxAttributes; i++ {
		p := "attr_" + strconv.Itoa(i) + "_"
		for _, k := range []string{"code", "type", "required", "desc", "desc_lus", "values"} {
			delete(form.Values, p+k)
		}
	}
	for k, v := range categoryForm(c).Values {
		if strings.HasPrefix(k, "attr_") {
			form.Values[k] = v
		}
	}
}

func (s *Service) categoryNewPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderCategory(w, r, http.StatusOK, 0, "", &web.Form{Values: map[string]string{"sla_days": strconv.Itoa(DefaultSLADays),
		"active": "1"}})
}

func (s *Service) categoryNewPost(w http.ResponseWriter, r *http.Request) error {
	bad := &web.Fields{}
	c, form := readCategory(r, bad)
	renumber(form, c)
	var err error = bad.Err()
	if err == nil {
		_, err = s.CreateCategory(r.Context(), c)
	}
	if err != nil {
		status, err := formErr(form, err, "code", "")
		if err != nil {
			return err
		}
		return s.renderCategory(w, r, status, 0, "", form)
	}
	http.Redirect(w, r, "/grievances/categories?done="+c.Code, http.StatusSeeOther)
	return nil
}

func (s *Service) categoryPage(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return web.NotFound()
	}
	c, err := s.CategoryByID(r.Context(), s.DB.R(), id)
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	return s.renderCategory(w, r, http.StatusOK, id, c.Code, categoryForm(c))
}

func (s *Service) categoryPost(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return web.NotFound()
	}
	old, err := s.CategoryByID(r.Context(), s.DB.R(), id)
	if errors.Is(err, db.ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	bad := &web.Fields{}
	c, form := readCategory(r, bad)
	renumber(form, c)
	err = bad.Err()
	if err == nil {
		err = s.UpdateCategory(r.Context(), id, c)
	}
	if err != nil {
		status, err := formErr(form, err, "name", "")
		if err != nil {
			return err
		}
		return s.renderCategory(w, r, status, id, old.Code, form)
	}
	http.Redirect(w, r, "/grievances/categories?done="+old.Code, http.StatusSeeOther)
	return nil
}
