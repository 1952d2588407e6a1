-- Mipui Aw: grievance categories (Open311 services), grievances (one per
-- workflow case), their photos, extra attribute values and supporters, and
-- a full-text index for officers' search.

INSERT INTO roles (code) VALUES ('grievance_officer'), ('field_officer'), ('helpdesk');

CREATE TABLE grv_categories (
	id INTEGER PRIMARY KEY,
	code TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 2 AND 40),
	department_id INTEGER NOT NULL REFERENCES departments(id),
	name TEXT NOT NULL CHECK (name <> ''),
	name_lus TEXT NOT NULL CHECK (name_lus <> ''),
	description TEXT NOT NULL DEFAULT '',
	description_lus TEXT NOT NULL DEFAULT '',
	keywords TEXT NOT NULL DEFAULT '',
	sla_days INTEGER NOT NULL DEFAULT 21 CHECK (sla_days BETWEEN 1 AND 365),
	-- Open311 attributes: a JSON array of {code, datatype, required, description, description_lus, order, values:[{key, name, name_lus}]}
	attributes TEXT NOT NULL DEFAULT '[]',
	active BOOLEAN NOT NULL DEFAULT TRUE,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
CREATE INDEX grv_categories_dept ON grv_categories (department_id, code);

CREATE TABLE grv_grievances (
	case_id INTEGER PRIMARY KEY REFERENCES wf_cases(id),
	ref TEXT NOT NULL UNIQUE,
	category_id INTEGER NOT NULL REFERENCES grv_categories(id),
	district_id INTEGER NOT NULL REFERENCES districts(id),
	village_id INTEGER REFERENCES villages(id),
	description TEXT NOT NULL CHECK (description <> '' AND length(description) <= 4000),
	lat REAL CHECK (lat IS NULL OR lat BETWEEN -90 AND 90),
	lng REAL CHECK (lng IS NULL OR lng BETWEEN -180 AND 180),
	address TEXT NOT NULL DEFAULT '' CHECK (length(address) <= 300),
	lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'lus')),
	anonymous BOOLEAN NOT NULL DEFAULT FALSE,
	citizen_id INTEGER REFERENCES people(id),
	caller_name TEXT NOT NULL DEFAULT '',
	filed_by INTEGER REFERENCES people(id),
	channel TEXT NOT NULL CHECK (channel IN ('web', 'api', 'helpdesk', 'open311')),
	api_client TEXT NOT NULL DEFAULT '',
	token TEXT UNIQUE,
	supporters INTEGER NOT NULL DEFAULT 0 CHECK (supporters >= 0),
	merged_into INTEGER REFERENCES grv_grievances(case_id) CHECK (merged_into IS NULL OR merged_into <> case_id),
	rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5),
	rating_comment TEXT NOT NULL DEFAULT '',
	rated_at TIMESTAMP,
	resolved_at TIMESTAMP,
	reopened INTEGER NOT NULL DEFAULT 0 CHECK (reopened >= 0),
	appealed_at TIMESTAMP,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	CHECK ((lat IS NULL) = (lng IS NULL))
);
CREATE INDEX grv_grievances_citizen ON grv_grievances (citizen_id, created_at);
CREATE INDEX grv_grievances_category ON grv_grievances (category_id, created_at);
CREATE INDEX grv_grievances_district ON grv_grievances (district_id, created_at);
CREATE INDEX grv_grievances_created ON grv_grievances (created_at, case_id);
CREATE INDEX grv_grievances_updated ON grv_grievances (updated_at, case_id);
CREATE INDEX grv_grievances_merged ON grv_grievances (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE grv_attribute_values (
	grievance_id INTEGER NOT NULL REFERENCES grv_grievances(case_id),
	code TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (grievance_id, code, value)
);

CREATE TABLE grv_photos (
	grievance_id INTEGER NOT NULL REFERENCES grv_grievances(case_id),
	position INTEGER NOT NULL CHECK (position BETWEEN 1 AND 3),
	file_id INTEGER NOT NULL REFERENCES files(id),
	PRIMARY KEY (grievance_id, position)
);

CREATE TABLE grv_supporters (
	grievance_id INTEGER NOT NULL REFERENCES grv_grievances(case_id),
	person_id INTEGER NOT NULL REFERENCES people(id),
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (grievance_id, person_id)
);
CREATE INDEX grv_supporters_person ON grv_supporters (person_id);

-- Officers' search: FTS5 over the grievance's own text, kept in step by triggers.
CREATE VIRTUAL TABLE grv_fts USING fts5(ref, description, address, content='grv_grievances', content_rowid='case_id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER grv_fts_insert AFTER INSERT ON grv_grievances BEGIN
	INSERT INTO grv_fts (rowid, ref, description, address) VALUES (new.case_id, new.ref, new.description, new.address);
END;
CREATE TRIGGER grv_fts_update AFTER UPDATE OF ref, description, address ON grv_grievances BEGIN
	INSERT INTO grv_fts (grv_fts, rowid, ref, description, address) VALUES ('delete', old.case_id, old.ref, old.description, old.address);
	INSERT INTO grv_fts (rowid, ref, description, address) VALUES (new.case_id, new.ref, new.description, new.address);
END;
CREATE TRIGGER grv_fts_delete AFTER DELETE ON grv_grievances BEGIN
	INSERT INTO grv_fts (grv_fts, rowid, ref, description, address) VALUES ('delete', old.case_id, old.ref, old.description, old.address);
END;
