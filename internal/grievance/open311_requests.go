package grievance

import (
	"context"
	"database/sql"
	"encoding/xml"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/refno"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// o311Request is a grievance as an Open311 service request. It carries no
// personal data: no name, phone, email or account of the person who filed.
type o311Request struct {
	ServiceRequestID   string        `xml:"service_request_id" json:"service_request_id"`
	Status             string        `xml:"status" json:"status"`
	StatusNotes        string        `xml:"status_notes" json:"status_notes"`
	ServiceName        string        `xml:"service_name" json:"service_name"`
	ServiceCode        string        `xml:"service_code" json:"service_code"`
	Description        string        `xml:"description" json:"description"`
	AgencyResponsible  string        `xml:"agency_responsible" json:"agency_responsible"`
	ServiceNotice      string        `xml:"service_notice" json:"service_notice"`
	RequestedDatetime  string        `xml:"requested_datetime" json:"requested_datetime"`
	UpdatedDatetime    string        `xml:"updated_datetime" json:"updated_datetime"`
	ExpectedDatetime   string        `xml:"expected_datetime,omitempty" json:"expected_datetime,omitempty"`
	Address            string        `xml:"address" json:"address"`
	AddressID          string        `xml:"address_id,omitempty" json:"address_id,omitempty"`
	Lat                *float64      `xml:"lat,omitempty" json:"lat,omitempty"`
	Long               *float64      `xml:"long,omitempty" json:"long,omitempty"`
	MediaURL           string        `xml:"media_url,omitempty" json:"media_url,omitempty"`
	ExtendedAttributes *o311Extended `xml:"extended_attributes,omitempty" json:"extended_attributes,omitempty"`
	Notes              []o311Note    `xml:"-" json:"notes,omitempty"`
	NotesXML           *o311NoteList `xml:"notes,omitempty" json:"-"` // the same, left out of XML without extensions
}

type o311NoteList struct {
	Note []o311Note `xml:"note"`
}

type o311Requests struct {
	XMLName  xml.Name      `xml:"service_requests"`
	Requests []o311Request `xml:"request"`
}

// o311Extended is what extensions=true adds (the Chicago/Boston style
// extension): the channel, the detailed workflow state, the district, the
// answers to the category's questions and how many photos it has.
type o311Extended struct {
	Channel                string       `xml:"channel" json:"channel"`
	State                  string       `xml:"state" json:"state"`
	District               string       `xml:"district" json:"district"`
	DistrictLGD            string       `xml:"district_lgd" json:"district_lgd"`
	Supporters             int          `xml:"supporters" json:"supporters"`
	Duplicate              bool         `xml:"duplicate" json:"duplicate"`
	ParentServiceRequestID string       `xml:"parent_service_request_id,omitempty" json:"parent_service_request_id,omitempty"`
	Attributes             []o311Answer `xml:"attributes>attribute" json:"attributes"`
	// Photos counts the citizen's photos; they are not published (they may
	// show people or homes and are not moderated): officers see them.
	Photos int `xml:"photos" json:"photos"`
}

// o311Answer is one answer to a category's question (one per value of a
// multi-value list).
type o311Answer struct {
	Code  string `xml:"code" json:"code"`
	Label string `xml:"label" json:"label"`
	Value string `xml:"value" json:"value"`
	Name  string `xml:"name" json:"name"`
}

// o311Note is one public step of the grievance's history.
type o311Note struct {
	Datetime    string `xml:"datetime" json:"datetime"`
	Type        string `xml:"type" json:"type"`
	Summary     string `xml:"summary" json:"summary"`
	Description string `xml:"description" json:"description"`
}

// o311Query is a parsed GET requests call.
type o311Query struct {
	IDs                         []string // canonical references; when given, every other filter is ignored
	HasIDs                      bool
	Codes                       []string
	Start, End                  time.Time
	UpdatedAfter, UpdatedBefore time.Time
	Open                        *bool // nil: open and closed
	Lat, Lng                    *float64
	Radius                      float64 // metres
	Page, PageSize              int
	Extensions                  bool
}

// o311Arg reads an optional argument: present but empty is absent.
func o311Arg(q url.Values, k string) string { return strings.TrimSpace(q.Get(k)) }

func o311List(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// o311Times reads the date-time arguments named; each must carry a zone.
func o311Times(q url.Values, names ...string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, n := range names {
		v := o311Arg(q, n)
		if v == "" {
			continue
		}
		t, ok := o311ParseTime(v)
		if !ok {
			return nil, o311Refuse("grievance.o311_datetime", "field", n)
		}
		out[n] = t
	}
	return out, nil
}

// o311ParseQuery reads the arguments of GET requests.
func o311ParseQuery(q url.Values, now time.Time) (o311Query, error) {
	var oq o311Query
	oq.Page, oq.PageSize = 1, o311MaxResults
	oq.Extensions = strings.EqualFold(o311Arg(q, "extensions"), "true")
	if v := o311Arg(q, "service_request_id"); v != "" {
		ids := o311List(v)
		if len(ids) > o311MaxIDs {
			return oq, o311Refuse("grievance.o311_too_many_ids", "max", o311MaxIDs)
		}
		oq.HasIDs = true
		for _, id := range ids {
			if ref, svc, err := refno.Parse(id); err == nil && svc == RefService {
				oq.IDs = append(oq.IDs, ref)
			}
		}
		return oq, nil // overrides every other argument
	}
	oq.Codes = o311List(o311Arg(q, "service_code"))
	if v := o311Arg(q, "status"); v != "" {
		open, closed := false, false
		for _, st := range o311List(strings.ToLower(v)) {
			switch st {
			case "open":
				open = true
			case "closed":
				closed = true
			default:
				return oq, o311Refuse("grievance.o311_status")
			}
		}
		if open != closed {
			oq.Open = &open
		}
	}
	ts, err := o311Times(q, "start_date", "end_date", "updated_after", "updated_before")
	if err != nil {
		return oq, err
	}
	oq.UpdatedAfter, oq.UpdatedBefore = ts["updated_after"], ts["updated_before"]
	start, hasStart := ts["start_date"]
	end, hasEnd := ts["end_date"]
	switch {
	case hasStart && hasEnd:
	case hasStart:
		end = start.Add(o311Window)
	case hasEnd:
		start = end.Add(-o311Window)
	case oq.UpdatedAfter.IsZero() && oq.UpdatedBefore.IsZero():
		// The spec's default: the most recent 90 days.
		start, end = now.Add(-o311Window), now
	}
	if !start.IsZero() || !end.IsZero() {
		if end.Before(start) {
			return oq, o311Refuse("grievance.o311_range_order")
		}
		if end.Sub(start) > o311Window {
			return oq, o311Refuse("grievance.o311_range_long", "days", int(o311Window.Hours()/24))
		}
	}
	oq.Start, oq.End = start, end
	if !oq.UpdatedAfter.IsZero() && !oq.UpdatedBefore.IsZero() && oq.UpdatedBefore.Before(oq.UpdatedAfter) {
		return oq, o311Refuse("grievance.o311_range_order")
	}
	lat, err1 := ParseCoord(o311Arg(q, "lat"))
	lng, err2 := ParseCoord(o311Arg(q, "long"))
	if err1 != nil || err2 != nil || (lat == nil) != (lng == nil) || (lat != nil && (math.Abs(*lat) > 90 || math.Abs(*lng) > 180)) {
		return oq, o311Refuse("grievance.o311_point")
	}
	oq.Lat, oq.Lng = lat, lng
	if v := o311Arg(q, "radius"); v != "" {
		rad, err := strconv.ParseFloat(v, 64)
		if err != nil || rad <= 0 || rad > o311MaxRadius || lat == nil {
			return oq, o311Refuse("grievance.o311_radius", "max", o311MaxRadius)
		}
		oq.Radius = rad
	} else if lat != nil {
		oq.Radius = o311DefRadius
	}
	for name, dst := range map[string]*int{"page": &oq.Page, "page_size": &oq.PageSize} {
		if v := o311Arg(q, name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || (name == "page_size" && n > o311MaxResults) || (name == "page" && n > 1_000_000) {
				return oq, o311Refuse("grievance.o311_paging", "max", o311MaxResults)
			}
			*dst = n
		}
	}
	return oq, nil
}

// o311Row is what a request is made from.
type o311Row struct {
	CaseID                int64
	Ref, Description      string
	Lat, Lng              *float64
	Address, VillageCode  string
	CreatedAt, UpdatedAt  time.Time
	Open                  bool
	State                 string
	DueAt                 sql.NullTime
	Dept, DeptLus         string
	Code, Name, NameLus   string
	SLADays               int
	ClientMedia           string
	Photos                int
	Notes                 string
	Channel               string
	District, DistrictLus string
	DistrictLGD           int
	Supporters            int
	MergedInto            string
}

// o311From joins what the filters need.
const o311From = `FROM grv_grievances g JOIN wf_cases c ON c.id = g.case_id JOIN grv_categories cat ON cat.id = g.category_id`

const o311Cols = `g.case_id, g.ref, g.description, g.lat, g.lng, g.address, COALESCE(v.code, ''), g.created_at, c.updated_at, c.open,
	c.state, c.due_at, d.name, d.name_lus, cat.code, cat.name, cat.name_lus, cat.sla_days, COALESCE(o.media_url, ''),
	(SELECT COUNT(*) FROM grv_photos p WHERE p.grievance_id = g.case_id),
	COALESCE((SELECT h.comment FROM wf_history h WHERE h.case_id = g.case_id AND h.public AND h.role <> 'owner'
		AND h.comment <> '' ORDER BY h.seq DESC LIMIT 1), ''),
	g.channel, dist.name, dist.name_lus, dist.lgd_code, g.supporters, COALESCE(m.ref, '')
	` + o311From + `
	JOIN departments d ON d.id = c.department_id JOIN districts dist ON dist.id = c.district_id
	LEFT JOIN villages v ON v.id = g.village_id LEFT JOIN grv_open311 o ON o.case_id = g.case_id
	LEFT JOIN grv_grievances m ON m.case_id = g.merged_into`

// o311Find runs a parsed query.
func (s *Service) o311Find(ctx context.Context, q o311Query) ([]o311Row, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := []string{"c.type = " + arg(CaseType)}
	in := func(col string, vals []string) {
		marks := make([]string, len(vals))
		for i, v := range vals {
			marks[i] = arg(v)
		}
		where = append(where, col+" IN ("+strings.Join(marks, ", ")+")")
	}
	order := "g.created_at DESC, g.case_id DESC"
	limit, offset := q.PageSize, (q.Page-1)*q.PageSize
	if q.HasIDs {
		if len(q.IDs) == 0 {
			return nil, nil
		}
		in("g.ref", q.IDs)
		limit, offset = o311MaxIDs, 0
	} else {
		if len(q.Codes) > 0 {
			in("cat.code", q.Codes)
		}
		if q.Open != nil {
			where = append(where, "c.open = "+arg(*q.Open))
		}
		if !q.Start.IsZero() {
			where = append(where, "g.created_at >= "+arg(db.Time(q.Start)), "g.created_at <= "+arg(db.Time(q.End)))
		}
		if !q.UpdatedAfter.IsZero() {
			where = append(where, "c.updated_at > "+arg(db.Time(q.UpdatedAfter)))
		}
		if !q.UpdatedBefore.IsZero() {
			where = append(where, "c.updated_at <= "+arg(db.Time(q.UpdatedBefore)))
		}
		if !q.UpdatedAfter.IsZero() || !q.UpdatedBefore.IsZero() {
			order = "c.updated_at, c.id" // a client catching up reads oldest changes first
		}
		if q.Lat != nil {
			// An equirectangular distance: within 0.5 % of the great circle
			// at these latitudes and radii, and plain arithmetic on both
			// databases. The box lets an index on lat help.
			const mPerDeg = 111320.0
			k := math.Cos(*q.Lat * math.Pi / 180)
			dLat := q.Radius / mPerDeg
			dLng := dLat / k
			lat0, lng0 := arg(*q.Lat), arg(*q.Lng)
			where = append(where, "g.lat BETWEEN "+arg(*q.Lat-dLat)+" AND "+arg(*q.Lat+dLat),
				"g.lng BETWEEN "+arg(*q.Lng-dLng)+" AND "+arg(*q.Lng+dLng),
				"(g.lat - "+lat0+") * (g.lat - "+lat0+") + (g.lng - "+lng0+") * (g.lng - "+lng0+") * "+arg(k*k)+" <= "+arg(dLat*dLat))
		}
	}
	// The page's ids first, then their details: the details' subqueries
	// run for the page only, not for every row the filter matches.
	query := `SELECT g.case_id ` + o311From + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order +
		` LIMIT ` + arg(limit) + ` OFFSET ` + arg(offset)
	rows, err := s.DB.R().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var page []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		page = append(page, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(page) == 0 {
		return nil, err
	}
	marks := make([]string, len(page))
	ids := make([]any, len(page))
	for i, id := range page {
		marks[i], ids[i] = "$"+strconv.Itoa(i+1), id
	}
	rows, err = s.DB.R().QueryContext(ctx, `SELECT `+o311Cols+` WHERE g.case_id IN (`+strings.Join(marks, ", ")+`)`, ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[int64]o311Row{}
	for rows.Next() {
		var x o311Row
		if err := rows.Scan(&x.CaseID, &x.Ref, &x.Description, &x.Lat, &x.Lng, &x.Address, &x.VillageCode, &x.CreatedAt, &x.UpdatedAt,
			&x.Open, &x.State, &x.DueAt, &x.Dept, &x.DeptLus, &x.Code, &x.Name, &x.NameLus, &x.SLADays, &x.ClientMedia, &x.Photos,
			&x.Notes, &x.Channel, &x.District, &x.DistrictLus, &x.DistrictLGD, &x.Supporters, &x.MergedInto); err != nil {
			return nil, err
		}
		byID[x.CaseID] = x
	}
	out := make([]o311Row, 0, len(page))
	for _, id := range page {
		if x, ok := byID[id]; ok {
			out = append(out, x)
		}
	}
	return out, rows.Err()
}

// o311StatusOf is a grievance's Open311 status: "open" while its case is
// open (submitted, assigned, waiting for information, under appeal),
// "closed" once it is resolved, rejected, merged or the appeal is decided.
func o311StatusOf(open bool) string {
	if open {
		return "open"
	}
	return "closed"
}

// o311Pick is the Mizo text for a Mizo reader when there is one.
func o311Pick(lang, en, lus string) string {
	if lang == "lus" && lus != "" {
		return lus
	}
	return en
}

// o311Requests turns rows into requests; with extensions, the answers,
// photos and public history are loaded for all rows at once.
func (s *Service) o311Requests(ctx context.Context, r *http.Request, rows []o311Row, ext bool) ([]o311Request, error) {
	lang := web.LangOf(r)
	out := make([]o311Request, 0, len(rows))
	var answers map[int64][]o311Answer
	var notes map[int64][]o311Note
	if ext && len(rows) > 0 {
		var err error
		if answers, err = s.o311Answers(ctx, rows, lang); err != nil {
			return nil, err
		}
		if notes, err = s.o311Notes(ctx, rows, lang); err != nil {
			return nil, err
		}
	}
	for _, x := range rows {
		q := o311Request{ServiceRequestID: x.Ref, Status: o311StatusOf(x.Open), StatusNotes: x.Notes, ServiceName: o311Pick(lang, x.Name, x.NameLus),
			ServiceCode: x.Code, Description: x.Description, AgencyResponsible: o311Pick(lang, x.Dept, x.DeptLus),
			ServiceNotice:     s.Render.Cat.T(lang, "grievance.o311_notice", "days", x.SLADays),
			RequestedDatetime: o311Time(x.CreatedAt), UpdatedDatetime: o311Time(x.UpdatedAt), Address: x.Address,
			AddressID: x.VillageCode, Lat: x.Lat, Long: x.Lng, MediaURL: x.ClientMedia}
		if x.DueAt.Valid {
			q.ExpectedDatetime = o311Time(x.DueAt.Time)
		}
		if q.Address == "" {
			q.Address = o311Pick(lang, x.District, x.DistrictLus) + ", Mizoram"
		}
		if ext {
			e := &o311Extended{Channel: x.Channel, State: x.State, District: o311Pick(lang, x.District, x.DistrictLus),
				DistrictLGD: strconv.Itoa(x.DistrictLGD), Supporters: x.Supporters, Duplicate: x.MergedInto != "",
				ParentServiceRequestID: x.MergedInto, Attributes: answers[x.CaseID]}
			if e.Attributes == nil {
				e.Attributes = []o311Answer{}
			}
			e.Photos = x.Photos
			q.ExtendedAttributes = e
			q.Notes = notes[x.CaseID]
			if len(q.Notes) > 0 {
				q.NotesXML = &o311NoteList{q.Notes}
			}
		}
		out = append(out, q)
	}
	return out, nil
}

func o311CaseIDs(rows []o311Row) (string, []any) {
	marks := make([]string, len(rows))
	args := make([]any, len(rows))
	for i, x := range rows {
		marks[i], args[i] = "$"+strconv.Itoa(i+1), x.CaseID
	}
	return strings.Join(marks, ", "), args
}

// o311Answers loads the answers to the categories' questions.
func (s *Service) o311Answers(ctx context.Context, rows []o311Row, lang string) (map[int64][]o311Answer, error) {
	cats := map[string]Category{}
	byCase := map[int64]string{}
	for _, x := range rows {
		byCase[x.CaseID] = x.Code
		if _, ok := cats[x.Code]; !ok {
			c, err := s.CategoryByCode(ctx, s.DB.R(), x.Code)
			if err != nil {
				return nil, err
			}
			cats[x.Code] = c
		}
	}
	marks, args := o311CaseIDs(rows)
	res, err := s.DB.R().QueryContext(ctx, `SELECT grievance_id, code, value FROM grv_attribute_values WHERE grievance_id IN (`+marks+`)
		ORDER BY grievance_id, code, value`, args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	out := map[int64][]o311Answer{}
	for res.Next() {
		var id int64
		var a o311Answer
		if err := res.Scan(&id, &a.Code, &a.Value); err != nil {
			return nil, err
		}
		a.Label, a.Name = a.Code, a.Value
		for _, at := range cats[byCase[id]].Attributes {
			if at.Code != a.Code {
				continue
			}
			a.Label = at.Label(lang)
			for _, v := range at.Values {
				if v.Key == a.Value {
					a.Name = o311Pick(lang, v.Name, v.NameLus)
				}
			}
		}
		out[id] = append(out[id], a)
	}
	return out, res.Err()
}

// o311NoteType maps a workflow step to the note types clients know.
func o311NoteType(action string, final bool) string {
	switch {
	case action == "create":
		return "opened"
	case action == "reopen" || action == "remand":
		return "reopened"
	case final:
		return "closed"
	}
	return "activity"
}

// o311Notes loads the public steps of each grievance. What the person who
// filed wrote in a step is not shown (it may hold personal details); the
// step itself is.
func (s *Service) o311Notes(ctx context.Context, rows []o311Row, lang string) (map[int64][]o311Note, error) {
	marks, args := o311CaseIDs(rows)
	res, err := s.DB.R().QueryContext(ctx, `SELECT case_id, at, action, role, to_state, comment FROM wf_history
		WHERE case_id IN (`+marks+`) AND public ORDER BY case_id, seq`, args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	def := Workflow()
	final := map[string]bool{}
	for _, st := range def.States {
		final[st.Name] = st.Final
	}
	out := map[int64][]o311Note{}
	for res.Next() {
		var id int64
		var at time.Time
		var action, role, to, comment string
		if err := res.Scan(&id, &at, &action, &role, &to, &comment); err != nil {
			return nil, err
		}
		if role == workflow.Owner {
			comment = ""
		}
		out[id] = append(out[id], o311Note{Datetime: o311Time(at), Type: o311NoteType(action, final[to]),
			Summary: s.Render.Cat.T(lang, "grievance.o311_step_"+action), Description: comment})
	}
	return out, res.Err()
}

// o311ListRequests answers GET /open311/v2/requests.{xml,json}.
func (s *Service) o311ListRequests(w http.ResponseWriter, r *http.Request) error {
	_, format := o311Format(r.URL.Path)
	if err := o311Jurisdiction(r); err != nil {
		return err
	}
	q, err := o311ParseQuery(r.URL.Query(), s.now())
	if err != nil {
		return err
	}
	rows, err := s.o311Find(r.Context(), q)
	if err != nil {
		return err
	}
	list, err := s.o311Requests(r.Context(), r, rows, q.Extensions)
	if err != nil {
		return err
	}
	return o311Write(w, r, format, http.StatusOK, o311Requests{Requests: list}, list)
}

// o311GetRequest answers GET /open311/v2/requests/{service_request_id}.{xml,json}:
// a list of one.
func (s *Service) o311GetRequest(w http.ResponseWriter, r *http.Request) error {
	id, format, err := o311Name(r, "file")
	if err != nil {
		return err
	}
	if err := o311Jurisdiction(r); err != nil {
		return err
	}
	ref, svc, perr := refno.Parse(id)
	if perr != nil || svc != RefService {
		return o311NoRequest()
	}
	rows, err := s.o311Find(r.Context(), o311Query{HasIDs: true, IDs: []string{ref}})
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return o311NoRequest()
	}
	list, err := s.o311Requests(r.Context(), r, rows, strings.EqualFold(o311Arg(r.URL.Query(), "extensions"), "true"))
	if err != nil {
		return err
	}
	return o311Write(w, r, format, http.StatusOK, o311Requests{Requests: list}, list)
}

func o311NoRequest() error {
	e := web.NotFound()
	e.Key = "grievance.o311_no_request"
	return e
}
