package grievance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/web"
)

// Category is a kind of grievance a department handles: an Open311
// "service" whose code is the service_code.
type Category struct {
	ID             int64       `json:"-"`
	Code           string      `json:"code"`
	DepartmentID   int64       `json:"department_id"`
	Department     string      `json:"department"`
	DepartmentLus  string      `json:"-"`
	DepartmentCode string      `json:"department_code"`
	Name           string      `json:"name"`
	NameLus        string      `json:"name_lus"`
	Description    string      `json:"description,omitempty"`
	DescriptionLus string      `json:"description_lus,omitempty"`
	Keywords       string      `json:"keywords,omitempty"`
	SLADays        int         `json:"sla_days"`
	Attributes     []Attribute `json:"attributes,omitempty"`
	Active         bool        `json:"active"`
}

// Label is the category's name in lang.
func (c Category) Label(lang string) string {
	if lang == "lus" && c.NameLus != "" {
		return c.NameLus
	}
	return c.Name
}

// DepartmentLabel is the department's name in lang.
func (c Category) DepartmentLabel(lang string) string {
	if lang == "lus" && c.DepartmentLus != "" {
		return c.DepartmentLus
	}
	return c.Department
}

// Attribute types (Open311 GeoReport v2 datatype).
const (
	AttrString = "string"
	AttrNumber = "number"
	AttrDate   = "datetime"
	AttrText   = "text"
	AttrSingle = "singlevaluelist"
	AttrMulti  = "multivaluelist"
)

// AttrTypes lists the attribute types.
var AttrTypes = []string{AttrString, AttrNumber, AttrDate, AttrText, AttrSingle, AttrMulti}

// Attribute is an extra question a category asks when a grievance is filed.
type Attribute struct {
	Code           string      `json:"code"`
	Datatype       string      `json:"datatype"`
	Required       bool        `json:"required"`
	Description    string      `json:"description"`     // the question, in English
	DescriptionLus string      `json:"description_lus"` // the question, in Mizo
	Order          int         `json:"order"`
	Values         []AttrValue `json:"values,omitempty"`   // list types
	Variable       *bool       `json:"variable,omitempty"` // false: an informational line, not a question
}

// AttrValue is one choice of a list attribute.
type AttrValue struct {
	Key     string `json:"key"`
	Name    string `json:"name"`
	NameLus string `json:"name_lus"`
}

// Label is the attribute's question in lang.
func (a Attribute) Label(lang string) string {
	if lang == "lus" && a.DescriptionLus != "" {
		return a.DescriptionLus
	}
	return a.Description
}

// IsVariable reports whether the attribute takes input (Open311 "variable").
func (a Attribute) IsVariable() bool { return a.Variable == nil || *a.Variable }

const categoryCols = `c.id, c.code, c.department_id, d.name, d.name_lus, d.code, c.name, c.name_lus, c.description,
	c.description_lus, c.keywords, c.sla_days, c.attributes, c.active`

func scanCategory(row interface{ Scan(...any) error }) (Category, error) {
	var c Category
	var attrs string
	err := row.Scan(&c.ID, &c.Code, &c.DepartmentID, &c.Department, &c.DepartmentLus, &c.DepartmentCode, &c.Name, &c.NameLus,
		&c.Description, &c.DescriptionLus, &c.Keywords, &c.SLADays, &attrs, &c.Active)
	if errors.Is(err, sql.ErrNoRows) {
		return c, db.ErrNotFound
	}
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal([]byte(attrs), &c.Attributes)
}

// Categories lists categories by department and name; only active ones
// unless all.
func (s *Service) Categories(ctx context.Context, all bool) ([]Category, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+categoryCols+` FROM grv_categories c JOIN departments d ON d.id = c.department_id
		WHERE c.active OR $1 ORDER BY d.name, c.name`, all)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Category
	for rows.Next() {
		c, err := scanCategory(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CategoryByCode loads a category by its code (active or not).
func (s *Service) CategoryByCode(ctx context.Context, q db.Querier, code string) (Category, error) {
	return scanCategory(q.QueryRowContext(ctx, `SELECT `+categoryCols+` FROM grv_categories c
		JOIN departments d ON d.id = c.department_id WHERE c.code = $1`, code))
}

// CategoryByID loads a category by id.
func (s *Service) CategoryByID(ctx context.Context, q db.Querier, id int64) (Category, error) {
	return scanCategory(q.QueryRowContext(ctx, `SELECT `+categoryCols+` FROM grv_categories c
		JOIN departments d ON d.id = c.department_id WHERE c.id = $1`, id))
}

// SaveCategory inserts a category or, when one with its code exists,
// updates it.
func (s *Service) SaveCategory(ctx context.Context, tx *db.Tx, c Category) (int64, error) {
	if c.SLADays == 0 {
		c.SLADays = DefaultSLADays
	}
	if c.Attributes == nil {
		c.Attributes = []Attribute{}
	}
	attrs, err := json.Marshal(c.Attributes)
	if err != nil {
		return 0, err
	}
	now := db.Time(s.now())
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO grv_categories (code, department_id, name, name_lus, description, description_lus,
		keywords, sla_days, attributes, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
		ON CONFLICT (code) DO UPDATE SET department_id = excluded.department_id, name = excluded.name, name_lus = excluded.name_lus,
		description = excluded.description, description_lus = excluded.description_lus, keywords = excluded.keywords,
		sla_days = excluded.sla_days, attributes = excluded.attributes, active = excluded.active, updated_at = excluded.updated_at
		RETURNING id`, c.Code, c.DepartmentID, c.Name, c.NameLus, c.Description, c.DescriptionLus, c.Keywords, c.SLADays,
		string(attrs), c.Active, now).Scan(&id)
	return id, err
}

// CheckAttributes checks the answers to a category's attributes (code →
// values) and returns them cleaned; problems go into f under "attr.CODE".
func (c Category) CheckAttributes(in map[string][]string, f *web.Fields) map[string][]string {
	out := map[string][]string{}
	for _, a := range c.Attributes {
		if !a.IsVariable() {
			continue
		}
		field := "attr." + a.Code
		var vals []string
		for _, v := range in[a.Code] {
			if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			if a.Required {
				f.Add(field, "grievance.attr_required")
			}
			continue
		}
		switch a.Datatype {
		case AttrString, AttrText:
			limit := 200
			if a.Datatype == AttrText {
				limit = 2000
			}
			if len(vals) > 1 || len([]rune(vals[0])) > limit {
				f.Add(field, "grievance.attr_too_long", "max", limit)
				continue
			}
		case AttrNumber:
			if _, err := strconv.ParseFloat(vals[0], 64); err != nil || len(vals) > 1 {
				f.Add(field, "grievance.attr_number")
				continue
			}
		case AttrDate:
			if _, err := time.Parse(time.RFC3339, vals[0]); err != nil || len(vals) > 1 {
				if _, err := time.Parse("2006-01-02", vals[0]); err != nil || len(vals) > 1 {
					f.Add(field, "grievance.attr_date")
					continue
				}
			}
		case AttrSingle, AttrMulti:
			if a.Datatype == AttrSingle && len(vals) > 1 {
				f.Add(field, "grievance.attr_choice")
				continue
			}
			ok := true
			for _, v := range vals {
				if !slices.ContainsFunc(a.Values, func(x AttrValue) bool { return x.Key == v }) {
					ok = false
				}
			}
			if !ok {
				f.Add(field, "grievance.attr_choice")
				continue
			}
			slices.Sort(vals)
			vals = slices.Compact(vals)
		}
		out[a.Code] = vals
	}
	return out
}
