package db

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// Pool is a connection pool that, on SQLite, keeps prepared statements for
// the SQL texts it sees, so that hot queries are parsed once rather than on
// every call (pgx already does this for PostgreSQL).
type Pool struct {
	*sql.DB
	cache bool
	stmts sync.Map // string → *sql.Stmt
	count atomic.Int32
}

const maxCachedStmts = 1000

func (p *Pool) stmt(ctx context.Context, query string) *sql.Stmt {
	if !p.cache {
		return nil
	}
	if s, ok := p.stmts.Load(query); ok {
		return s.(*sql.Stmt)
	}
	if p.count.Load() >= maxCachedStmts {
		return nil
	}
	s, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil // the uncached call reports the error
	}
	if prev, loaded := p.stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt)
	}
	p.count.Add(1)
	return s
}

// QueryContext runs a query, prepared once per SQL text.
func (p *Pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns one row.
func (p *Pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement.
func (p *Pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.DB.ExecContext(ctx, query, args...)
}

// Close closes the cached statements and the pool.
func (p *Pool) Close() error {
	p.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	return p.DB.Close()
}

// Tx is a write transaction whose statements reuse the pool's prepared
// statements. Pass Tx.Tx where a *sql.Tx is required.
type Tx struct {
	*sql.Tx
	pool     *Pool
	missed   []string // SQL to prepare once the connection is free again
	atCommit []commitItem
}

type commitItem struct {
	key   string
	item  any
	flush func(ctx context.Context, tx *Tx, items []any) error
}

// AtCommit adds item to the transaction's list under key. Just before the
// transaction commits, flush runs once per key (in the order keys were
// first used) with every item added under it: work that can be shared by
// many changes, such as one job that delivers every notification of a
// group-commit batch. Items added by a group call that fails are dropped
// with its savepoint. A flush error fails the whole transaction.
func (t *Tx) AtCommit(key string, item any, flush func(ctx context.Context, tx *Tx, items []any) error) {
	t.atCommit = append(t.atCommit, commitItem{key, item, flush})
}

// runAtCommit runs the flushes of AtCommit.
func (t *Tx) runAtCommit(ctx context.Context) error {
	for len(t.atCommit) > 0 {
		items := t.atCommit
		t.atCommit = nil // a flush may add more (run in a next round)
		var keys []string
		byKey := map[string][]any{}
		flush := map[string]func(context.Context, *Tx, []any) error{}
		for _, c := range items {
			if _, ok := flush[c.key]; !ok {
				keys = append(keys, c.key)
				flush[c.key] = c.flush
			}
			byKey[c.key] = append(byKey[c.key], c.item)
		}
		for _, k := range keys {
			if err := flush[k](ctx, t, byKey[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// cached returns the pool's prepared statement for query, bound to the
// transaction. It never prepares: on SQLite the transaction holds the only
// writer connection, so preparing on the pool now would wait for ourselves.
func (t *Tx) cached(ctx context.Context, query string) *sql.Stmt {
	if !t.pool.cache {
		return nil
	}
	if s, ok := t.pool.stmts.Load(query); ok {
		return t.Tx.StmtContext(ctx, s.(*sql.Stmt))
	}
	t.missed = append(t.missed, query)
	return nil
}

// warm prepares the statements the transaction ran uncached.
func (t *Tx) warm(ctx context.Context) {
	for _, q := range t.missed {
		t.pool.stmt(ctx, q)
	}
}

// ExecContext runs a statement in the transaction.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.cached(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.cached(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns one row in the transaction.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.cached(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
