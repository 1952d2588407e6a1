-- Mipui Aw public dashboard: figures pre-aggregated so that the page reads a
-- few thousand rows however many grievances there are. A periodic job
-- (grievance.DashRefreshArgs) recomputes the months whose grievances changed
-- since its last run, and the open-case snapshot, from wf_cases, wf_history
-- and grv_grievances. Months are calendar months in India Standard Time,
-- stored as YYYYMM.

-- Flow figures by the month they happened in.
CREATE TABLE grv_dash_month (
	month INTEGER NOT NULL CHECK (month BETWEEN 200001 AND 299912),
	department_id BIGINT NOT NULL REFERENCES departments(id),
	district_id BIGINT NOT NULL REFERENCES districts(id),
	received INTEGER NOT NULL DEFAULT 0 CHECK (received >= 0),         -- filed in the month
	resolved INTEGER NOT NULL DEFAULT 0 CHECK (resolved >= 0),         -- closed in the month as resolved or appeal_decided
	rejected INTEGER NOT NULL DEFAULT 0 CHECK (rejected >= 0),         -- closed in the month as rejected
	sla_closed INTEGER NOT NULL DEFAULT 0 CHECK (sla_closed >= 0),     -- closed in the month as resolved or rejected
	sla_met INTEGER NOT NULL DEFAULT 0 CHECK (sla_met BETWEEN 0 AND sla_closed), -- of those, closed by their due time
	days TEXT NOT NULL DEFAULT '',                                     -- days to resolve of the resolved: "days:count …"
	rating_sum INTEGER NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),     -- ratings given in the month
	rating_count INTEGER NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
	appeals INTEGER NOT NULL DEFAULT 0 CHECK (appeals >= 0),           -- appeals made in the month
	PRIMARY KEY (month, department_id, district_id)
);

-- The open grievances now, by department and district.
CREATE TABLE grv_dash_open (
	department_id BIGINT NOT NULL REFERENCES departments(id),
	district_id BIGINT NOT NULL REFERENCES districts(id),
	pending INTEGER NOT NULL CHECK (pending >= 0),
	waiting INTEGER NOT NULL CHECK (waiting BETWEEN 0 AND pending),    -- waiting for the citizen (clock stopped)
	overdue INTEGER NOT NULL CHECK (overdue BETWEEN 0 AND pending),
	PRIMARY KEY (department_id, district_id)
);

-- When the figures were last refreshed, and from when the next refresh looks for changes.
CREATE TABLE grv_dash_state (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	built BOOLEAN NOT NULL,
	mark TIMESTAMPTZ,
	refreshed_at TIMESTAMPTZ
);
INSERT INTO grv_dash_state (id, built) VALUES (1, FALSE);

-- What the refresh reads by time: closures, ratings and appeals of a month.
CREATE INDEX wf_cases_closed ON wf_cases (type, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX wf_history_action ON wf_history (action, at);
CREATE INDEX grv_grievances_rated ON grv_grievances (rated_at) WHERE rated_at IS NOT NULL;

-- Officers' inboxes (workflow.Engine.Inbox) at a million cases. A role's
-- queue without a jurisdiction (the administrator's) is read in due order
-- (wf_cases_team serves a role in one department and district); a closed
-- state in one office is read newest first.
CREATE INDEX wf_cases_role_due ON wf_cases (type, assigned_role, state_due, id) WHERE open AND assignee_id IS NULL;
CREATE INDEX wf_cases_scope_state ON wf_cases (type, department_id, district_id, state, created_at, id);
