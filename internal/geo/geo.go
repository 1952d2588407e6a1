// Package geo holds Mizoram's master data of places: the 11 districts with
// their LGD codes (seeded by a migration), and rural development blocks,
// village councils and villages imported from CSV.
package geo

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"mizogov/internal/audit"
	"mizogov/internal/db"
)

// District is one of Mizoram's districts.
type District struct {
	ID      int64  `json:"id"`
	LGDCode int    `json:"lgd_code"`
	Name    string `json:"name"`
	NameLus string `json:"name_lus"`
}

// Village is a village with its block and council, if known.
type Village struct {
	ID         int64  `json:"id"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	DistrictID int64  `json:"district_id"`
	Block      string `json:"block,omitempty"`
	Council    string `json:"council,omitempty"`
}

// Store reads and imports places.
type Store struct {
	DB    *db.DB
	Audit *audit.Log
}

// Districts lists the districts by name.
func (s *Store) Districts(ctx context.Context) ([]District, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT id, lgd_code, name, name_lus FROM districts ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []District
	for rows.Next() {
		var d District
		if err := rows.Scan(&d.ID, &d.LGDCode, &d.Name, &d.NameLus); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// District loads one district.
func (s *Store) District(ctx context.Context, id int64) (District, error) {
	var d District
	err := s.DB.R().QueryRowContext(ctx, `SELECT id, lgd_code, name, name_lus FROM districts WHERE id = $1`, id).
		Scan(&d.ID, &d.LGDCode, &d.Name, &d.NameLus)
	if errors.Is(err, sql.ErrNoRows) {
		return d, db.ErrNotFound
	}
	return d, err
}

const villageCols = `v.id, v.code, v.name, v.district_id, COALESCE(b.name, ''), COALESCE(c.name, '')
	FROM villages v LEFT JOIN blocks b ON b.id = v.block_id LEFT JOIN village_councils c ON c.id = v.council_id`

func scanVillages(rows *sql.Rows) ([]Village, error) {
	defer rows.Close()
	var out []Village
	for rows.Next() {
		var v Village
		if err := rows.Scan(&v.ID, &v.Code, &v.Name, &v.DistrictID, &v.Block, &v.Council); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Villages lists the villages of a district by name.
func (s *Store) Villages(ctx context.Context, districtID int64) ([]Village, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+villageCols+` WHERE v.district_id = $1 ORDER BY v.name`, districtID)
	if err != nil {
		return nil, err
	}
	return scanVillages(rows)
}

// Village loads one village.
func (s *Store) Village(ctx context.Context, id int64) (Village, error) {
	rows, err := s.DB.R().QueryContext(ctx, `SELECT `+villageCols+` WHERE v.id = $1`, id)
	if err != nil {
		return Village{}, err
	}
	vs, err := scanVillages(rows)
	if err != nil {
		return Village{}, err
	}
	if len(vs) == 0 {
		return Village{}, db.ErrNotFound
	}
	return vs[0], nil
}

// Header is the CSV layout that Import reads.
var Header = []string{"district_lgd", "block_code", "block_name", "council_code", "council_name", "village_code", "village_name"}

// ImportResult counts what an import changed.
type ImportResult struct {
	Rows, Blocks, Councils, Villages int
}

// Import reads villages from CSV (see Header; block and council columns may
// be empty) and inserts or updates blocks, councils and villages by code,
// all in one transaction: a bad row changes nothing and is named in the error.
func (s *Store) Import(ctx context.Context, r io.Reader, actor *audit.Actor) (ImportResult, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(Header)
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return ImportResult{}, fmt.Errorf("read header: %w", err)
	}
	for i, h := range Header {
		if strings.TrimPrefix(strings.TrimSpace(strings.ToLower(head[i])), "\ufeff") != h {
			return ImportResult{}, fmt.Errorf("column %d is %q, want %q (header: %s)", i+1, head[i], h, strings.Join(Header, ","))
		}
	}
	var res ImportResult
	blocks, councils := map[string]int64{}, map[string]int64{}
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			line, _ := cr.FieldPos(0)
			if err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			res.Rows++
			for i := range rec {
				rec[i] = strings.TrimSpace(rec[i])
			}
			if err := s.importRow(ctx, tx, rec, blocks, councils, &res); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "geo.import", ObjectType: "villages", ObjectID: "csv",
			Summary: res, Actor: actor})
		return err
	})
	return res, err
}

func (s *Store) importRow(ctx context.Context, tx *db.Tx, rec []string, blocks, councils map[string]int64, res *ImportResult) error {
	lgd, err := strconv.Atoi(rec[0])
	if err != nil {
		return fmt.Errorf("district_lgd %q is not a number", rec[0])
	}
	var district int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM districts WHERE lgd_code = $1`, lgd).Scan(&district); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no Mizoram district has LGD code %d", lgd)
		}
		return err
	}
	if rec[5] == "" || rec[6] == "" {
		return errors.New("village_code and village_name are required")
	}
	for i, v := range rec {
		if len(v) > 120 {
			return fmt.Errorf("column %s is longer than 120 characters", Header[i])
		}
	}
	upsert := func(code, name, table string, seen map[string]int64, extra string, args ...any) (any, error) {
		if code == "" {
			if name != "" {
				return nil, fmt.Errorf("%s name %q has no code", table, name)
			}
			return nil, nil
		}
		if name == "" {
			return nil, fmt.Errorf("%s code %q has no name", table, code)
		}
		if id, ok := seen[code]; ok {
			return id, nil
		}
		var id int64
		q := `INSERT INTO ` + table + ` (code, name, district_id` + extra + `) VALUES ($1, $2, $3` + placeholders(4, len(args)) + `)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, district_id = excluded.district_id RETURNING id`
		if err := tx.QueryRowContext(ctx, q, append([]any{code, name, district}, args...)...).Scan(&id); err != nil {
			return nil, err
		}
		seen[code] = id
		return id, nil
	}
	block, err := upsert(rec[1], rec[2], "blocks", blocks, "")
	if err != nil {
		return err
	}
	res.Blocks = len(blocks)
	council, err := upsert(rec[3], rec[4], "village_councils", councils, ", block_id", block)
	if err != nil {
		return err
	}
	res.Councils = len(councils)
	_, err = tx.ExecContext(ctx, `INSERT INTO villages (code, name, district_id, block_id, council_id) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, district_id = excluded.district_id,
		block_id = excluded.block_id, council_id = excluded.council_id`, rec[5], rec[6], district, block, council)
	if err != nil {
		return err
	}
	res.Villages++
	return nil
}

func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ", $%d", from+i)
	}
	return b.String()
}
