-- Workflow engine: the current state of each case (one row, versioned for
-- optimistic locking), its append-only history, and the holiday calendar
-- that working-day SLAs skip.

CREATE TABLE wf_cases (
	id INTEGER PRIMARY KEY,
	type TEXT NOT NULL CHECK (type <> ''),
	ref TEXT NOT NULL CHECK (ref <> ''),
	state TEXT NOT NULL,
	version INTEGER NOT NULL CHECK (version > 0),
	open BOOLEAN NOT NULL,
	paused BOOLEAN NOT NULL DEFAULT FALSE,
	department_id INTEGER REFERENCES departments(id),
	district_id INTEGER REFERENCES districts(id),
	owner_id INTEGER REFERENCES people(id),
	assignee_id INTEGER REFERENCES people(id),
	assigned_role TEXT NOT NULL DEFAULT '',
	level INTEGER NOT NULL DEFAULT 0 CHECK (level >= 0),
	priority INTEGER NOT NULL DEFAULT 0,
	sla TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	state_since TIMESTAMP NOT NULL,
	state_due TIMESTAMP,
	due_at TIMESTAMP,
	paused_at TIMESTAMP,
	return_state TEXT NOT NULL DEFAULT '',
	closed_at TIMESTAMP,
	CHECK (NOT open OR state_due IS NOT NULL),
	CHECK (open OR closed_at IS NOT NULL)
);
CREATE UNIQUE INDEX wf_cases_ref ON wf_cases (type, ref);
CREATE INDEX wf_cases_mine ON wf_cases (assignee_id, state_due, id) WHERE open;
CREATE INDEX wf_cases_team ON wf_cases (type, assigned_role, department_id, district_id, state_due, id) WHERE open AND assignee_id IS NULL;
CREATE INDEX wf_cases_due ON wf_cases (type, state_due, id) WHERE open;
CREATE INDEX wf_cases_dept_due ON wf_cases (type, department_id, state_due, id) WHERE open;
CREATE INDEX wf_cases_district_due ON wf_cases (type, district_id, state_due, id) WHERE open;
CREATE INDEX wf_cases_priority ON wf_cases (type, priority DESC, state_due, id) WHERE open;
CREATE INDEX wf_cases_state ON wf_cases (type, state, state_due, id);
CREATE INDEX wf_cases_created ON wf_cases (type, created_at, id);
CREATE INDEX wf_cases_overall_due ON wf_cases (type, due_at, department_id, district_id) WHERE open AND NOT paused;
CREATE INDEX wf_cases_owner ON wf_cases (owner_id, created_at);

CREATE TABLE wf_history (
	id INTEGER PRIMARY KEY,
	case_id INTEGER NOT NULL REFERENCES wf_cases(id),
	seq INTEGER NOT NULL,
	at TIMESTAMP NOT NULL,
	actor_id INTEGER REFERENCES people(id),
	actor TEXT NOT NULL,
	role TEXT NOT NULL,
	action TEXT NOT NULL,
	from_state TEXT NOT NULL,
	to_state TEXT NOT NULL,
	comment TEXT NOT NULL DEFAULT '',
	attachments TEXT NOT NULL DEFAULT '',
	public BOOLEAN NOT NULL,
	assignee_id INTEGER REFERENCES people(id),
	assigned_role TEXT NOT NULL DEFAULT '',
	department_id INTEGER REFERENCES departments(id),
	district_id INTEGER REFERENCES districts(id),
	level INTEGER NOT NULL DEFAULT 0,
	state_due TIMESTAMP,
	UNIQUE (case_id, seq)
);
CREATE INDEX wf_history_at ON wf_history (at, id);

CREATE TRIGGER wf_history_no_update BEFORE UPDATE ON wf_history
BEGIN SELECT RAISE(ABORT, 'wf_history is append-only'); END;
CREATE TRIGGER wf_history_no_delete BEFORE DELETE ON wf_history
BEGIN SELECT RAISE(ABORT, 'wf_history is append-only'); END;

CREATE TABLE wf_holidays (
	day TEXT PRIMARY KEY CHECK (length(day) = 10),
	name TEXT NOT NULL CHECK (name <> '')
);
