// Package benchkit holds what the load commands under bench/ share: a
// PostgreSQL schema of their own for one run, the raw SQLite single-row
// insert rate their figures are compared with, the server they start as a
// child process, and the writer figures they read from its /metrics.
package benchkit

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

// FreshSchema creates a schema named prefix_<random> in the PostgreSQL
// database at base and returns a URL whose search_path is that schema,
// and a function that drops it.
func FreshSchema(base, prefix string) (string, func(), error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := prefix + "_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		return "", nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); admin.Close() }, nil
}

// RawInserts times n one-row write transactions (WAL, synchronous=FULL,
// as the platform runs) on a new SQLite file at path and returns rows/s:
// the disk's and SQLite's own limit, beside which a service's rate is read.
func RawInserts(path string, n, bodySize int) (float64, error) {
	d, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	d.SetMaxOpenConns(1)
	if _, err := d.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL, at INTEGER NOT NULL)`); err != nil {
		return 0, err
	}
	body := strings.Repeat("x", bodySize)
	start := time.Now()
	for i := range n {
		tx, err := d.Begin()
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(`INSERT INTO t (body, at) VALUES ($1, $2)`, body, i); err != nil {
			tx.Rollback()
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
