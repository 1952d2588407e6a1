package grievance

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"regexp"
	"strings"

	"mizogov/internal/db"
)

// Every grievance belongs to a district (the grievance officer's queue is a
// department's in a district). An Open311 client gives a place, not a
// district, so the district is found, in this order, from:
//
//  1. address_id: a village code of the master data (geo import); the
//     village's district, and the grievance is tied to the village;
//  2. lat/long: the district whose headquarters is nearest. District
//     boundaries are not in the master data; near a boundary the nearest
//     headquarters can be the neighbour's, and the grievance officer then
//     transfers the grievance (the workflow's transfer step);
//  3. address_string: a district's name in it ("Bawngkawn, Aizawl").
//
// Without any of them the request is refused (400).

// o311HQ is a district headquarters town.
type o311HQ struct {
	LGD      int // the district's code in the Local Government Directory (LGD), as in the districts table
	Lat, Lng float64
}

// o311HQs are the headquarters of Mizoram's 11 districts. Coordinates are
// those of the towns' Wikipedia articles (Aizawl, Champhai, Hnahthial,
// Khawzawl, Kolasib, Lawngtlai, Lunglei, Mamit, Siaha, Saitual, Serchhip),
// read in November 2026, to about 100 m.
var o311HQs = []o311HQ{
	{261, 23.7272, 92.7178}, // Aizawl
	{262, 23.4560, 93.3290}, // Champhai
	{726, 22.9826, 92.9113}, // Hnahthial
	{728, 23.5345, 93.1830}, // Khawzawl
	{263, 24.2240, 92.6760}, // Kolasib
	{264, 22.5320, 92.8990}, // Lawngtlai
	{265, 22.8800, 92.7300}, // Lunglei
	{266, 23.9300, 92.4800}, // Mamit
	{267, 22.4800, 92.9700}, // Siaha (LGD still spells it SAIHA)
	{727, 23.6896, 92.9557}, // Saitual
	{268, 23.3000, 92.8300}, // Serchhip
}

// NearestDistrictLGD returns the LGD code of the district whose
// headquarters is nearest to a point (great-circle distance).
func NearestDistrictLGD(lat, lng float64) int {
	best, bestD := 0, math.Inf(1)
	for _, hq := range o311HQs {
		if d := o311Haversine(lat, lng, hq.Lat, hq.Lng); d < bestD {
			best, bestD = hq.LGD, d
		}
	}
	return best
}

// o311Haversine is the distance between two points in metres.
func o311Haversine(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371000.0
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// o311Spellings are other spellings of district names people write.
var o311Spellings = map[string]int{"saiha": 267, "siaha": 267, "chhimtuipui": 267}

var o311WordRE = regexp.MustCompile(`[\p{L}]+`)

// o311District finds the district (and village) of an Open311 request;
// the zero id means none could be found (the caller refuses the request).
func (s *Service) o311District(ctx context.Context, q db.Querier, addressID string, lat, lng *float64, address string) (district, village int64, err error) {
	if addressID != "" {
		err = q.QueryRowContext(ctx, `SELECT district_id, id FROM villages WHERE code = $1`, addressID).Scan(&district, &village)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, 0, o311Refuse("grievance.o311_address_id")
		}
		return district, village, err
	}
	lgd := 0
	if lat != nil && lng != nil {
		lgd = NearestDistrictLGD(*lat, *lng)
	} else if address != "" {
		rows, err := q.QueryContext(ctx, `SELECT lgd_code, name, name_lus FROM districts`)
		if err != nil {
			return 0, 0, err
		}
		names := map[string]int{}
		for rows.Next() {
			var code int
			var en, lus string
			if err := rows.Scan(&code, &en, &lus); err != nil {
				rows.Close()
				return 0, 0, err
			}
			names[strings.ToLower(en)], names[strings.ToLower(lus)] = code, code
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, 0, err
		}
		for k, v := range o311Spellings {
			names[k] = v
		}
		// The most general place comes last ("street, locality, town,
		// district"): the last district name wins.
		for _, w := range o311WordRE.FindAllString(strings.ToLower(address), -1) {
			if code, ok := names[w]; ok {
				lgd = code
			}
		}
	}
	if lgd == 0 {
		return 0, 0, nil
	}
	err = q.QueryRowContext(ctx, `SELECT id FROM districts WHERE lgd_code = $1`, lgd).Scan(&district)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	return district, 0, err
}
