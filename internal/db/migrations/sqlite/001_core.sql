-- Platform core: master data, people and access, audit, outbox, reference numbers.

CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE districts (
	id INTEGER PRIMARY KEY,
	lgd_code INTEGER NOT NULL UNIQUE,
	name TEXT NOT NULL,
	name_lus TEXT NOT NULL
);

INSERT INTO districts (id, lgd_code, name, name_lus) VALUES
	(1, 261, 'Aizawl', 'Aizawl'),
	(2, 262, 'Champhai', 'Champhai'),
	(3, 726, 'Hnahthial', 'Hnahthial'),
	(4, 728, 'Khawzawl', 'Khawzawl'),
	(5, 263, 'Kolasib', 'Kolasib'),
	(6, 264, 'Lawngtlai', 'Lawngtlai'),
	(7, 265, 'Lunglei', 'Lunglei'),
	(8, 266, 'Mamit', 'Mamit'),
	(9, 267, 'Siaha', 'Saiha'),
	(10, 727, 'Saitual', 'Saitual'),
	(11, 268, 'Serchhip', 'Serchhip');

CREATE TABLE blocks (
	id INTEGER PRIMARY KEY,
	code TEXT NOT NULL UNIQUE CHECK (code <> ''),
	district_id INTEGER NOT NULL REFERENCES districts(id),
	name TEXT NOT NULL CHECK (name <> '')
);

CREATE TABLE village_councils (
	id INTEGER PRIMARY KEY,
	code TEXT NOT NULL UNIQUE CHECK (code <> ''),
	district_id INTEGER NOT NULL REFERENCES districts(id),
	block_id INTEGER REFERENCES blocks(id),
	name TEXT NOT NULL CHECK (name <> '')
);

CREATE TABLE villages (
	id INTEGER PRIMARY KEY,
	code TEXT NOT NULL UNIQUE CHECK (code <> ''),
	district_id INTEGER NOT NULL REFERENCES districts(id),
	block_id INTEGER REFERENCES blocks(id),
	council_id INTEGER REFERENCES village_councils(id),
	name TEXT NOT NULL CHECK (name <> '')
);
CREATE INDEX villages_district ON villages (district_id, name);

CREATE TABLE departments (
	id INTEGER PRIMARY KEY,
	code TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 2 AND 16),
	name TEXT NOT NULL CHECK (name <> ''),
	name_lus TEXT NOT NULL CHECK (name_lus <> ''),
	active BOOLEAN NOT NULL DEFAULT TRUE,
	created_at TIMESTAMP NOT NULL
);

CREATE TABLE people (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL DEFAULT '',
	phone TEXT UNIQUE,
	email TEXT UNIQUE,
	lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'lus')),
	created_at TIMESTAMP NOT NULL,
	disabled_at TIMESTAMP
);

CREATE TABLE staff_accounts (
	person_id INTEGER PRIMARY KEY REFERENCES people(id),
	username TEXT NOT NULL UNIQUE CHECK (username = lower(username) AND length(username) BETWEEN 3 AND 64),
	password_hash TEXT NOT NULL,
	totp_secret TEXT NOT NULL,
	totp_last_step INTEGER NOT NULL DEFAULT 0,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	last_failed_at TIMESTAMP,
	locked_until TIMESTAMP,
	created_at TIMESTAMP NOT NULL
);

CREATE TABLE roles (
	code TEXT PRIMARY KEY
);
INSERT INTO roles (code) VALUES ('citizen'), ('officer'), ('hod'), ('admin'), ('auditor');

CREATE TABLE grants (
	id INTEGER PRIMARY KEY,
	person_id INTEGER NOT NULL REFERENCES people(id),
	role TEXT NOT NULL REFERENCES roles(code),
	department_id INTEGER REFERENCES departments(id),
	district_id INTEGER REFERENCES districts(id),
	created_at TIMESTAMP NOT NULL,
	created_by INTEGER REFERENCES people(id)
);
CREATE UNIQUE INDEX grants_unique ON grants (person_id, role, COALESCE(department_id, 0), COALESCE(district_id, 0));

CREATE TABLE sessions (
	id INTEGER PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	person_id INTEGER NOT NULL REFERENCES people(id),
	staff BOOLEAN NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('web', 'api')),
	created_at TIMESTAMP NOT NULL,
	last_seen_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	revoked_at TIMESTAMP,
	ip TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_person ON sessions (person_id);

CREATE TABLE api_keys (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL CHECK (name <> ''),
	prefix TEXT NOT NULL UNIQUE,
	key_hash TEXT NOT NULL,
	scopes TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	last_used_at TIMESTAMP,
	revoked_at TIMESTAMP
);

CREATE TABLE otps (
	id INTEGER PRIMARY KEY,
	target TEXT NOT NULL,
	code_hash TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	used_at TIMESTAMP
);
CREATE INDEX otps_target ON otps (target, created_at);

CREATE TABLE rate_limits (
	key TEXT NOT NULL,
	window_start TIMESTAMP NOT NULL,
	hits INTEGER NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	PRIMARY KEY (key, window_start)
);

CREATE TABLE audit_log (
	id INTEGER PRIMARY KEY,
	at TIMESTAMP NOT NULL,
	actor_id INTEGER,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	object_type TEXT NOT NULL,
	object_id TEXT NOT NULL,
	subject_id INTEGER,
	summary TEXT NOT NULL,
	request_id TEXT NOT NULL,
	ip TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject_id, id);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE TABLE outbox (
	id INTEGER PRIMARY KEY,
	channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
	recipient TEXT NOT NULL,
	template TEXT NOT NULL,
	lang TEXT NOT NULL,
	data TEXT NOT NULL,
	subject_id INTEGER,
	sensitive BOOLEAN NOT NULL DEFAULT FALSE,
	status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
	attempts INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	sent_at TIMESTAMP
);
CREATE INDEX outbox_status ON outbox (status, id);

CREATE TABLE refno_counters (
	service TEXT NOT NULL,
	fy TEXT NOT NULL,
	last INTEGER NOT NULL CHECK (last > 0),
	PRIMARY KEY (service, fy)
);

CREATE TABLE idempotency_keys (
	scope TEXT NOT NULL,
	key TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	status INTEGER NOT NULL,
	content_type TEXT NOT NULL,
	body TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (scope, key)
);
