package opd

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"mizogov/internal/audit"
	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/idem"
	"mizogov/internal/web"
)

// NewPatient is a patient a citizen adds to their account.
type NewPatient struct {
	Relation  string `json:"relation" enum:"self,spouse,child,parent,sibling,other"`
	Name      string `json:"name"`
	Sex       string `json:"sex" enum:"female,male,other"`
	BirthYear int    `json:"birth_year"`
}

// maxFamily bounds the patients one account may hold.
const maxFamily = 20

// checkPatient normalises and checks a patient's details.
func checkPatient(name, sex string, birthYear, thisYear int, f *web.Fields) string {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" || len([]rune(name)) > 100 {
		f.Add("name", "opd.name_invalid")
	}
	if !slices.Contains(Sexes, sex) {
		f.Add("sex", "opd.sex_invalid")
	}
	if birthYear < thisYear-120 || birthYear > thisYear {
		f.Add("birth_year", "opd.birth_year_invalid")
	}
	return name
}

// AddPatient adds a patient to the account of p. With an idempotency key,
// a repeated request returns the patient the first one added.
func (s *Service) AddPatient(ctx context.Context, p *auth.Principal, np NewPatient, key *idem.Key) (Patient, error) {
	now := s.now()
	f := &web.Fields{}
	if !slices.Contains(Relations, np.Relation) {
		f.Add("relation", "opd.relation_invalid")
	}
	np.Name = checkPatient(np.Name, np.Sex, np.BirthYear, now.In(IST).Year(), f)
	if err := f.Err(); err != nil {
		return Patient{}, err
	}
	var out Patient
	err := s.DB.Tx(ctx, func(tx *db.Tx) error {
		if key != nil {
			prev, err := idem.Lookup(ctx, tx, *key)
			if err != nil {
				return err
			}
			if prev != nil {
				return json.Unmarshal(prev.Body, &out)
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM opd_patients WHERE account_id = $1`, p.ID).Scan(&n); err != nil {
			return err
		}
		if n >= maxFamily {
			return web.Conflict("opd.family_full", "max", maxFamily)
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO opd_patients (account_id, relation, name, sex, birth_year, phone, created_at)
			VALUES ($1, $2, $3, $4, $5, '', $6) RETURNING id`, p.ID, np.Relation, np.Name, np.Sex, np.BirthYear, db.Time(now)).Scan(&id)
		if db.IsUnique(err) {
			f.Add("relation", "opd.self_exists")
			return f.Err()
		}
		if err != nil {
			return err
		}
		out = Patient{ID: id, AccountID: p.ID, Relation: np.Relation, Name: np.Name, Sex: np.Sex, BirthYear: np.BirthYear, CreatedAt: db.Time(now)}
		if _, err := s.Audit.Append(ctx, tx, audit.Event{Action: "opd.patient.add", ObjectType: "opd_patient", ObjectID: strconv.FormatInt(id, 10),
			SubjectID: p.ID, Summary: map[string]any{"relation": np.Relation}}); err != nil {
			return err
		}
		if key == nil {
			return nil
		}
		body, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return idem.Save(ctx, tx, *key, idem.Response{Status: http.StatusCreated, ContentType: "application/json", Body: body}, now)
	})
	return out, err
}

type patientsPage struct {
	page
	web.Form
	Patients []Patient
	UHIDs    map[int64]map[int64]string
	Next     string
	Year     int
}

func (s *Service) renderPatients(w http.ResponseWriter, r *http.Request, status int, f *web.Form) error {
	p := auth.PrincipalOf(r)
	list, err := s.Patients(r.Context(), p.ID)
	if err != nil {
		return err
	}
	data := &patientsPage{Patients: list, UHIDs: map[int64]map[int64]string{}, Next: safeLocal(r.FormValue("next")), Year: s.now().In(IST).Year()}
	for _, pt := range list {
		if data.UHIDs[pt.ID], err = s.UHIDs(r.Context(), pt.ID); err != nil {
			return err
		}
	}
	if f != nil {
		data.Form = *f
	} else {
		data.Form.Values = map[string]string{"relation": "self", "idempotency_key": idem.NewFormKey()}
		if len(list) > 0 {
			data.Form.Values["relation"] = "child"
		} else {
			data.Form.Values["name"] = p.Name
		}
	}
	return s.Render.Page(w, r, status, "opd/patients.html", data)
}

func (s *Service) patientsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderPatients(w, r, http.StatusOK, nil)
}

func (s *Service) patientAdd(w http.ResponseWriter, r *http.Request) error {
	f := web.NewForm(r, "relation", "name", "sex", "birth_year", "next")
	key, _, err := idem.FromRequest(r, []byte(r.PostForm.Encode()))
	if err != nil {
		return err
	}
	year, _ := strconv.Atoi(f.Values["birth_year"])
	_, err = s.AddPatient(r.Context(), auth.PrincipalOf(r), NewPatient{Relation: f.Values["relation"], Name: f.Values["name"],
		Sex: f.Values["sex"], BirthYear: year}, keyPtr(key))
	if err != nil {
		if e := web.AsError(err); e.Fields != nil {
			f.Errors = e.Fields
			f.Values["idempotency_key"] = idem.NewFormKey()
			return s.renderPatients(w, r, e.Status, f)
		}
		return err
	}
	next := safeLocal(f.Values["next"])
	if next == "" {
		next = "/opd/patients"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// keyPtr is nil for a request without a key.
func keyPtr(k idem.Key) *idem.Key {
	if k.Value == "" {
		return nil
	}
	return &k
}

// safeLocal keeps a redirect target on this site.
func safeLocal(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	return next
}
