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
	pool   *Pool
	missed []string // SQL to prepare once the connection is free again
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
