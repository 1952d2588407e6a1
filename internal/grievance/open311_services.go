package grievance

import (
	"encoding/xml"
	"errors"
	"net/http"

	"mizogov/internal/db"
	"mizogov/internal/web"
)

// o311Service is one category as an Open311 service.
type o311Service struct {
	ServiceCode string `xml:"service_code" json:"service_code"`
	ServiceName string `xml:"service_name" json:"service_name"`
	Description string `xml:"description" json:"description"`
	Metadata    bool   `xml:"metadata" json:"metadata"`
	Type        string `xml:"type" json:"type"`
	Keywords    string `xml:"keywords" json:"keywords"`
	Group       string `xml:"group" json:"group"`
}

type o311Services struct {
	XMLName  xml.Name      `xml:"services"`
	Services []o311Service `xml:"service"`
}

type o311Value struct {
	Key  string `xml:"key" json:"key"`
	Name string `xml:"name" json:"name"`
}

type o311Attribute struct {
	Variable            bool        `xml:"variable" json:"variable"`
	Code                string      `xml:"code" json:"code"`
	Datatype            string      `xml:"datatype" json:"datatype"`
	Required            bool        `xml:"required" json:"required"`
	DatatypeDescription string      `xml:"datatype_description" json:"datatype_description"`
	Order               int         `xml:"order" json:"order"`
	Description         string      `xml:"description" json:"description"`
	Values              []o311Value `xml:"-" json:"values,omitempty"`
	ValuesXML           *o311Values `xml:"values,omitempty" json:"-"` // the same, left out of XML when empty
}

type o311Values struct {
	Value []o311Value `xml:"value"`
}

type o311Definition struct {
	XMLName     xml.Name        `xml:"service_definition" json:"-"`
	ServiceCode string          `xml:"service_code" json:"service_code"`
	Attributes  []o311Attribute `xml:"attributes>attribute" json:"attributes"`
}

// o311Describe is a category's description in lang.
func o311Describe(c Category, lang string) string {
	if lang == "lus" && c.DescriptionLus != "" {
		return c.DescriptionLus
	}
	return c.Description
}

// o311Services answers GET /open311/v2/services.{xml,json}: the active
// categories, grouped by department. Every service is "realtime": a POST
// files the grievance at once and returns its reference number.
func (s *Service) o311Services(w http.ResponseWriter, r *http.Request) error {
	_, format := o311Format(r.URL.Path)
	if err := o311Jurisdiction(r); err != nil {
		return err
	}
	cats, err := s.Categories(r.Context(), false)
	if err != nil {
		return err
	}
	lang := web.LangOf(r)
	list := make([]o311Service, 0, len(cats))
	for _, c := range cats {
		list = append(list, o311Service{ServiceCode: c.Code, ServiceName: c.Label(lang), Description: o311Describe(c, lang), Metadata: len(c.Attributes) > 0,
			Type: "realtime", Keywords: c.Keywords, Group: c.DepartmentLabel(lang)})
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	return o311Write(w, r, format, http.StatusOK, o311Services{Services: list}, list)
}

// o311Definition answers GET /open311/v2/services/{service_code}.{xml,json}:
// the category's extra questions (attributes).
func (s *Service) o311Definition(w http.ResponseWriter, r *http.Request) error {
	code, format, err := o311Name(r, "file")
	if err != nil {
		return err
	}
	if err := o311Jurisdiction(r); err != nil {
		return err
	}
	c, err := s.CategoryByCode(r.Context(), s.DB.R(), code)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !c.Active) {
		e := web.NotFound()
		e.Key = "grievance.o311_no_service"
		return e
	}
	if err != nil {
		return err
	}
	lang := web.LangOf(r)
	def := o311Definition{ServiceCode: c.Code, Attributes: []o311Attribute{}}
	for i, a := range c.Attributes {
		order := a.Order
		if order <= 0 {
			order = i + 1
		}
		oa := o311Attribute{Variable: a.IsVariable(), Code: a.Code, Datatype: a.Datatype, Required: a.Required && a.IsVariable(),
			DatatypeDescription: s.Render.Cat.T(lang, "grievance.o311_dt_"+a.Datatype), Order: order, Description: a.Label(lang)}
		for _, v := range a.Values {
			name := v.Name
			if lang == "lus" && v.NameLus != "" {
				name = v.NameLus
			}
			oa.Values = append(oa.Values, o311Value{Key: v.Key, Name: name})
		}
		if len(oa.Values) > 0 {
			oa.ValuesXML = &o311Values{oa.Values}
		}
		def.Attributes = append(def.Attributes, oa)
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	return o311Write(w, r, format, http.StatusOK, def, def)
}
