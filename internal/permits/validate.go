package permits

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"mizogov/internal/auth"
	"mizogov/internal/refno"
	"mizogov/internal/web"
)

var (
	reEPIC     = regexp.MustCompile(`^[A-Z]{3}[0-9]{7}$`)
	rePAN      = regexp.MustCompile(`^[A-Z]{5}[0-9]{4}[A-Z]$`)
	rePassport = regexp.MustCompile(`^[A-Z][0-9]{7}$`)
	reDL       = regexp.MustCompile(`^[A-Z]{2}[0-9]{13}$`)
	reAadhaar  = regexp.MustCompile(`^[2-9][0-9]{11}$`)
	reGSTIN    = regexp.MustCompile(`^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$`)
)

// normID removes spaces and hyphens and upper-cases an identity number.
func normID(s string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "/", "").Replace(strings.TrimSpace(s)))
}

// IDProblem returns a message key when number is not a valid number of
// the identity document type, or "".
func IDProblem(idType, number string) string {
	n := normID(number)
	switch idType {
	case "epic":
		if !reEPIC.MatchString(n) {
			return "permits.id_epic"
		}
	case "aadhaar":
		// 12 digits, not starting with 0 or 1, Verhoeff check digit (UIDAI).
		if !reAadhaar.MatchString(n) || refno.Verhoeff(n[:11]) != int(n[11]-'0') {
			return "permits.id_aadhaar"
		}
	case "pan":
		if !rePAN.MatchString(n) {
			return "permits.id_pan"
		}
	case "passport":
		if !rePassport.MatchString(n) {
			return "permits.id_passport"
		}
	case "dl":
		if !reDL.MatchString(n) {
			return "permits.id_dl"
		}
	default:
		return "permits.id_type"
	}
	return ""
}

// GSTINValid checks a GST identification number, including its check
// character (base-36 weighted sum, as GSTN publishes it).
func GSTINValid(s string) bool {
	if !reGSTIN.MatchString(s) {
		return false
	}
	const chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	sum := 0
	for i := 0; i < 14; i++ {
		v := strings.IndexByte(chars, s[i])
		f := 1
		if i%2 == 1 {
			f = 2
		}
		p := v * f
		sum += p/36 + p%36
	}
	check := (36 - sum%36) % 36
	return s[14] == chars[check]
}

// MemberInput is one person as typed.
type MemberInput struct {
	Name      string `json:"name"`
	Gender    string `json:"gender" enum:"f,m,x"`
	BirthDate string `json:"birth_date" doc:"YYYY-MM-DD"`
	Phone     string `json:"phone,omitempty"`
	Address   string `json:"address" doc:"home address"`
	IDType    string `json:"id_type" enum:"epic,aadhaar,pan,passport,dl"`
	IDNumber  string `json:"id_number"`
}

// member checks one person and returns the row to store. prefix names the
// fields ("" on the web form, "members.2." in the API).
func (in *MemberInput) member(f *web.Fields, prefix string, now time.Time) Member {
	m := Member{Name: strings.Join(strings.Fields(in.Name), " "), Gender: in.Gender, Address: strings.TrimSpace(in.Address),
		IDType: in.IDType, IDNumber: normID(in.IDNumber)}
	if n := len([]rune(m.Name)); n < 2 || n > 100 {
		f.Add(prefix+"name", "permits.name_invalid")
	}
	if !slices.Contains([]string{"f", "m", "x"}, m.Gender) {
		f.Add(prefix+"gender", "form.invalid_choice")
	}
	b, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(in.BirthDate), ist)
	switch {
	case err != nil:
		f.Add(prefix+"birth_date", "form.date_invalid")
	case !b.Before(dayStart(now)) || b.Before(now.AddDate(-120, 0, 0)):
		f.Add(prefix+"birth_date", "permits.birth_date_range")
	}
	m.BirthDate = b
	if p := strings.TrimSpace(in.Phone); p != "" {
		norm, key := auth.NormalizePhone(p)
		if key != "" {
			f.Add(prefix+"phone", key)
		}
		m.Phone = norm
	}
	if m.Address == "" || len(m.Address) > 300 {
		f.Add(prefix+"address", "permits.address_invalid")
	}
	if !slices.Contains(IDTypes, m.IDType) {
		f.Add(prefix+"id_type", "form.invalid_choice")
	} else if key := IDProblem(m.IDType, m.IDNumber); key != "" {
		f.Add(prefix+"id_number", key)
	}
	m.IDMasked = MaskID(m.IDType, m.IDNumber)
	return m
}

// ApplyInput is an application as typed.
type ApplyInput struct {
	Type         string        `json:"type" enum:"TEMP,STAY,REGULAR,TRADER"`
	Purpose      string        `json:"purpose" enum:"tourism,visit,business,medical,official,work,trade"`
	Places       string        `json:"places" doc:"places to visit"`
	EntryPoint   string        `json:"entry_point" enum:"VRT,BRB,KHM,LPA,SRG,MHD,MHK,MHG,MHS,MHC,MHM"`
	EntryDate    string        `json:"entry_date" doc:"YYYY-MM-DD (IST); today up to 7 days ahead"`
	LocalContact string        `json:"local_contact,omitempty" doc:"name and phone of a local contact in Mizoram"`
	GSTNumber    string        `json:"gst_number,omitempty" doc:"GSTIN, for trader permits"`
	SponsorEPIC  string        `json:"sponsor_epic,omitempty" doc:"voter ID (EPIC) of the local sponsor, for types that need one"`
	Members      []MemberInput `json:"members" doc:"the lead applicant first, then up to 19 more people"`
	Submit       bool          `json:"submit" doc:"submit at once (otherwise a draft is kept)"`
}

// checked is an application that passed validation.
type checked struct {
	typ   PermitType
	entry EntryPoint
	date  time.Time
	in    ApplyInput
}

// entryDateProblem checks the 7-day window: from today to 7 days ahead.
func entryDateProblem(date, now time.Time) string {
	today := dayStart(now)
	switch {
	case date.Before(today):
		return "permits.entry_past"
	case date.After(today.AddDate(0, 0, MaxAheadDays)):
		return "permits.entry_too_far"
	}
	return ""
}

// checkApplication validates the parts of an application other than its people.
func checkApplication(in *ApplyInput, typ PermitType, typErr error, f *web.Fields, now time.Time) checked {
	c := checked{typ: typ}
	in.Places = strings.TrimSpace(in.Places)
	in.LocalContact = strings.TrimSpace(in.LocalContact)
	in.GSTNumber = normID(in.GSTNumber)
	in.SponsorEPIC = normID(in.SponsorEPIC)
	if typErr != nil {
		f.Add("type", "permits.type_invalid")
	} else if !typ.Allows(in.Purpose) {
		f.Add("purpose", "permits.purpose_not_allowed")
	}
	if in.Places == "" || len(in.Places) > 300 {
		f.Add("places", "permits.places_invalid")
	}
	e, ok := EntryPointByCode(in.EntryPoint)
	if !ok {
		f.Add("entry_point", "form.invalid_choice")
	}
	c.entry = e
	d, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(in.EntryDate), ist)
	if err != nil {
		f.Add("entry_date", "form.date_invalid")
	} else if key := entryDateProblem(d, now); key != "" {
		f.Add("entry_date", key, "days", MaxAheadDays)
	}
	c.date = d
	if typErr == nil && typ.SponsorRequired {
		if !reEPIC.MatchString(in.SponsorEPIC) {
			f.Add("sponsor_epic", "permits.sponsor_epic_invalid")
		}
	} else {
		in.SponsorEPIC = ""
		if in.LocalContact == "" || len(in.LocalContact) > 200 {
			f.Add("local_contact", "permits.local_contact_invalid")
		}
	}
	if typErr == nil && typ.GSTRequired {
		if !GSTINValid(in.GSTNumber) {
			f.Add("gst_number", "permits.gst_invalid")
		}
	} else {
		in.GSTNumber = ""
	}
	c.in = *in
	return c
}
