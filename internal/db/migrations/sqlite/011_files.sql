-- Uploaded files: one row per upload; the bytes live in a content-addressed
-- blob store (by SHA-256), so identical uploads share one blob.

CREATE TABLE files (
	id INTEGER PRIMARY KEY,
	sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
	size INTEGER NOT NULL CHECK (size > 0),
	type TEXT NOT NULL CHECK (type IN ('image/jpeg', 'image/png', 'application/pdf')),
	name TEXT NOT NULL DEFAULT '',
	width INTEGER NOT NULL DEFAULT 0,
	height INTEGER NOT NULL DEFAULT 0,
	owner_id INTEGER REFERENCES people(id),
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX files_owner ON files (owner_id, id);
CREATE INDEX files_sha256 ON files (sha256);
