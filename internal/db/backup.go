package db

import (
	"context"
	"errors"
	"fmt"
)

// Backup writes a consistent copy of a SQLite database to path with VACUUM
// INTO: it reads one snapshot while other connections, in this process or
// another, go on reading and writing. The copy is compact and complete.
func Backup(ctx context.Context, d *DB, path string) error {
	if d.Dialect != SQLite {
		return errors.New("backup copies SQLite databases; use pg_dump for PostgreSQL")
	}
	if _, err := d.w.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
