package grievance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/files"
	"mizogov/internal/refno"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// Channels a grievance arrives by.
const (
	ChannelWeb      = "web"
	ChannelAPI      = "api"
	ChannelHelpdesk = "helpdesk"
	ChannelOpen311  = "open311"
)

// NewGrievance is what filing needs. Web forms, the JSON API, the help
// desk and Open311 all fill one and call File.
type NewGrievance struct {
	Category    string // category code
	Description string
	DistrictID  int64
	VillageID   int64    // optional; must be in the district
	Lat, Lng    *float64 // optional; both or neither; inside Mizoram
	Address     string
	Lang        string // replies' language: en or lus
	Anonymous   bool   // the name is never shown publicly
	CitizenID   int64  // who the grievance belongs to (0: nobody to reply to, e.g. an anonymous Open311 report)
	CallerName  string // the name given by a caller or an Open311 client
	FiledBy     int64  // the help-desk officer filing for a caller
	Channel     string
	APIClient   string // Open311: the API key's name
	// Token makes filing idempotent: a second File with the same token
	// (a double-clicked submit, a retried API call) returns the grievance
	// the first one filed, unchanged, with Again set. Web forms carry a
	// random one; Open311 gives it to the client. Namespace it by channel
	// and owner ("web:<person>:<random>").
	Token      string
	Attributes map[string][]string // answers to the category's attributes
	Photos     []files.Upload      // checked and cleaned (files.Check); stored by File
	Actor      workflow.Actor
}

// Grievance is a filed grievance (the parts that are not the case).
type Grievance struct {
	CaseID      int64
	Ref         string
	CategoryID  int64
	DistrictID  int64
	VillageID   int64
	Description string
	Lat, Lng    *float64
	Address     string
	Lang        string
	Anonymous   bool
	CitizenID   int64
	CallerName  string
	FiledBy     int64
	Channel     string
	Token       string
	Supporters  int
	MergedInto  int64
	Rating      int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Again       bool // File found the grievance its token had already filed
}

// Check validates in without touching the database beyond lookups, filling
// f with field errors (keys are the form's field names).
func (s *Service) check(ctx context.Context, q db.Querier, in *NewGrievance, f *web.Fields) Category {
	var cat Category
	in.Category = strings.TrimSpace(in.Category)
	if in.Category == "" {
		f.Add("category", "grievance.category_required")
	} else if c, err := s.CategoryByCode(ctx, q, in.Category); err != nil || !c.Active {
		f.Add("category", "grievance.category_unknown")
	} else {
		cat = c
		in.Attributes = c.CheckAttributes(in.Attributes, f)
	}
	in.Description = strings.TrimSpace(strings.ReplaceAll(in.Description, "\r\n", "\n"))
	switch n := len([]rune(in.Description)); {
	case n == 0:
		f.Add("description", "grievance.description_required")
	case n > MaxDescription:
		f.Add("description", "grievance.description_too_long", "max", MaxDescription, "n", n)
	}
	in.Address = strings.TrimSpace(in.Address)
	if len([]rune(in.Address)) > MaxAddress {
		f.Add("address", "grievance.address_too_long", "max", MaxAddress)
	}
	if in.DistrictID == 0 {
		f.Add("district", "grievance.district_required")
	} else {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM districts WHERE id = $1`, in.DistrictID).Scan(&n); err != nil || n == 0 {
			f.Add("district", "grievance.district_unknown")
		}
	}
	if in.VillageID != 0 {
		var dist int64
		err := q.QueryRowContext(ctx, `SELECT district_id FROM villages WHERE id = $1`, in.VillageID).Scan(&dist)
		if err != nil || (in.DistrictID != 0 && dist != in.DistrictID) {
			f.Add("village", "grievance.village_unknown")
		}
	}
	if (in.Lat == nil) != (in.Lng == nil) {
		f.Add("lat", "grievance.location_both")
	} else if in.Lat != nil && !InMizoram(*in.Lat, *in.Lng) {
		f.Add("lat", "grievance.location_outside")
	}
	if in.Lang != "en" && in.Lang != "lus" {
		in.Lang = "en"
	}
	if len(in.Photos) > MaxPhotos {
		f.Add("photos", "grievance.photos_too_many", "max", MaxPhotos)
	}
	if !slices.Contains([]string{ChannelWeb, ChannelAPI, ChannelHelpdesk, ChannelOpen311}, in.Channel) {
		f.Add("channel", "grievance.channel_unknown")
	}
	return cat
}

// InMizoram reports whether a point lies in Mizoram's bounding box.
func InMizoram(lat, lng float64) bool {
	if math.IsNaN(lat) || math.IsNaN(lng) {
		return false
	}
	return lat >= MinLat && lat <= MaxLat && lng >= MinLng && lng <= MaxLng
}

// File validates and files a grievance: the case (in the category
// department's grievance officer's queue for the district), the grievance
// row, its attribute answers and photos, an audit entry and the
// acknowledgement. Invalid input returns a *web.Error with field errors and
// changes nothing.
//
// File checks the input on a reader and stores photo blobs first, then
// hands the writing to the database's group-commit writer (db.Group): the
// filings that arrive together share one transaction and one fsync, each
// in a savepoint of its own. File returns once that transaction has
// committed, so an acknowledged reference number is on disk.
func (s *Service) File(ctx context.Context, in NewGrievance) (Grievance, error) {
	if in.Token != "" {
		// A repeat of a filing already committed needs no writer.
		if g, err := s.again(ctx, s.DB.R(), in); err == nil || !errors.Is(err, db.ErrNotFound) {
			return g, err
		}
	}
	f := &web.Fields{}
	cat := s.check(ctx, s.DB.R(), &in, f)
	if err := f.Err(); err != nil {
		return Grievance{}, err
	}
	if err := s.storePhotos(ctx, in.Photos); err != nil {
		return Grievance{}, err
	}
	var g Grievance
	err := s.DB.Group().Do(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		g, err = s.fileTx(ctx, tx, in, cat)
		return err
	})
	if err != nil && in.Token != "" && db.IsUnique(err) {
		// The token's UNIQUE index refused a second filing: a double submit
		// that came in the same batch as the first, or the one after. Its
		// work is rolled back; answer with the first, committed by now.
		if first, aerr := s.again(ctx, s.DB.R(), in); !errors.Is(aerr, db.ErrNotFound) {
			return first, aerr
		}
	}
	return g, err
}

// FileTx is File inside the caller's transaction. Photos are stored as
// blobs before the rows that point at them.
func (s *Service) FileTx(ctx context.Context, tx *db.Tx, in NewGrievance) (Grievance, error) {
	if g, err := s.again(ctx, tx, in); err == nil || !errors.Is(err, db.ErrNotFound) {
		return g, err
	}
	f := &web.Fields{}
	cat := s.check(ctx, tx, &in, f)
	if err := f.Err(); err != nil {
		return Grievance{}, err
	}
	if err := s.storePhotos(ctx, in.Photos); err != nil {
		return Grievance{}, err
	}
	return s.fileTx(ctx, tx, in, cat)
}

// again returns the grievance in.Token has already filed (Again set), a
// conflict when it is someone else's token, or db.ErrNotFound.
func (s *Service) again(ctx context.Context, q db.Querier, in NewGrievance) (Grievance, error) {
	if in.Token == "" {
		return Grievance{}, db.ErrNotFound
	}
	g, err := scanGrievance(q.QueryRowContext(ctx, `SELECT `+grievanceCols+` FROM grv_grievances WHERE token = $1`, in.Token))
	if err != nil {
		return Grievance{}, err
	}
	if g.CitizenID != in.CitizenID {
		return Grievance{}, web.Conflict("grievance.token_used")
	}
	g.Again = true
	return g, nil
}

// storePhotos writes the photos' blobs (idempotent, content-addressed)
// before any transaction records them.
func (s *Service) storePhotos(ctx context.Context, photos []files.Upload) error {
	for _, p := range photos {
		if err := s.Files.Store(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// fileTx writes a checked grievance inside tx. A token filed before fails
// on the token's UNIQUE index, after the case is written: the caller's
// savepoint (File) or transaction (FileTx) rolls that back.
func (s *Service) fileTx(ctx context.Context, tx *db.Tx, in NewGrievance, cat Category) (Grievance, error) {
	now := db.Time(s.now())
	ref, err := refno.Next(ctx, tx, RefService, now)
	if err != nil {
		return Grievance{}, err
	}
	c, err := s.Workflow.Create(ctx, tx, workflow.NewCase{Type: CaseType, Ref: ref, DepartmentID: cat.DepartmentID,
		DistrictID: in.DistrictID, OwnerID: in.CitizenID, SLA: workflow.Days(cat.SLADays), Actor: in.Actor, Public: true,
		Data: map[string]string{"category": cat.Name}})
	if err != nil {
		return Grievance{}, err
	}
	var token any
	if in.Token != "" {
		token = in.Token
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO grv_grievances (case_id, ref, category_id, district_id, village_id, description, lat, lng,
		address, lang, anonymous, citizen_id, caller_name, filed_by, channel, api_client, token, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)`,
		c.ID, ref, cat.ID, in.DistrictID, nullID(in.VillageID), in.Description, in.Lat, in.Lng, in.Address, in.Lang, in.Anonymous,
		nullID(in.CitizenID), strings.TrimSpace(in.CallerName), nullID(in.FiledBy), in.Channel, in.APIClient, token, now)
	if err != nil {
		return Grievance{}, err
	}
	for code, vals := range in.Attributes {
		for _, v := range vals {
			if _, err := tx.ExecContext(ctx, `INSERT INTO grv_attribute_values (grievance_id, code, value) VALUES ($1, $2, $3)`,
				c.ID, code, v); err != nil {
				return Grievance{}, err
			}
		}
	}
	for i, p := range in.Photos {
		file, err := s.Files.Record(ctx, tx, p, in.CitizenID)
		if err != nil {
			return Grievance{}, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO grv_photos (grievance_id, position, file_id) VALUES ($1, $2, $3)`,
			c.ID, i+1, file.ID); err != nil {
			return Grievance{}, err
		}
	}
	// The audit actor comes from the request (a person, an API key) in ctx.
	ev := audit.Event{Action: "grievance.file", ObjectType: "grievance", ObjectID: ref, SubjectID: in.CitizenID,
		Summary: map[string]any{"category": cat.Code, "district_id": in.DistrictID, "channel": in.Channel, "photos": len(in.Photos),
			"anonymous": in.Anonymous}}
	if _, err := s.Audit.Append(ctx, tx, ev); err != nil {
		return Grievance{}, err
	}
	return Grievance{CaseID: c.ID, Ref: ref, CategoryID: cat.ID, DistrictID: in.DistrictID, VillageID: in.VillageID,
		Description: in.Description, Lat: in.Lat, Lng: in.Lng, Address: in.Address, Lang: in.Lang, Anonymous: in.Anonymous,
		CitizenID: in.CitizenID, CallerName: in.CallerName, FiledBy: in.FiledBy, Channel: in.Channel, Token: in.Token,
		CreatedAt: now, UpdatedAt: now}, nil
}

const grievanceCols = `case_id, ref, category_id, district_id, village_id, description, lat, lng, address, lang, anonymous,
	citizen_id, caller_name, filed_by, channel, token, supporters, merged_into, rating, created_at, updated_at`

func scanGrievance(row interface{ Scan(...any) error }) (Grievance, error) {
	var g Grievance
	var village, citizen, filedBy, merged, rating *int64
	var token *string
	err := row.Scan(&g.CaseID, &g.Ref, &g.CategoryID, &g.DistrictID, &village, &g.Description, &g.Lat, &g.Lng, &g.Address, &g.Lang,
		&g.Anonymous, &citizen, &g.CallerName, &filedBy, &g.Channel, &token, &g.Supporters, &merged, &rating, &g.CreatedAt, &g.UpdatedAt)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return g, db.ErrNotFound
		}
		return g, err
	}
	deref := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	g.VillageID, g.CitizenID, g.FiledBy, g.MergedInto = deref(village), deref(citizen), deref(filedBy), deref(merged)
	g.Rating = int(deref(rating))
	if token != nil {
		g.Token = *token
	}
	return g, nil
}

// Get loads a grievance by its case id.
func (s *Service) Get(ctx context.Context, q db.Querier, caseID int64) (Grievance, error) {
	return scanGrievance(q.QueryRowContext(ctx, `SELECT `+grievanceCols+` FROM grv_grievances WHERE case_id = $1`, caseID))
}

// GetByRef loads a grievance by its reference number (any spelling refno.Parse accepts).
func (s *Service) GetByRef(ctx context.Context, q db.Querier, ref string) (Grievance, error) {
	canonical, service, err := refno.Parse(ref)
	if err != nil || service != RefService {
		return Grievance{}, db.ErrNotFound
	}
	return scanGrievance(q.QueryRowContext(ctx, `SELECT `+grievanceCols+` FROM grv_grievances WHERE ref = $1`, canonical))
}

// ParseCoord reads an optional coordinate from a form or query value.
func ParseCoord(v string) (*float64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return nil, fmt.Errorf("not a number: %q", v)
	}
	return &x, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
