-- ILP Online (package permits): dated permit-type rules, applications with
-- their people, sponsors with a capped number of active sponsorships,
-- issued permits, and check-gate events.

INSERT INTO roles (code) VALUES ('ilp_officer'), ('police');

-- Rules are rows with dates: a change is a new row from its date; rows are
-- never rewritten once in force, and applications keep the row they used.
CREATE TABLE permit_types (
	id INTEGER PRIMARY KEY,
	code TEXT NOT NULL CHECK (code IN ('TEMP', 'STAY', 'REGULAR', 'TRADER') OR (length(code) BETWEEN 2 AND 12 AND code = upper(code))),
	name TEXT NOT NULL CHECK (name <> ''),
	name_lus TEXT NOT NULL CHECK (name_lus <> ''),
	validity_days INTEGER NOT NULL CHECK (validity_days BETWEEN 1 AND 1095),
	fee_paise INTEGER NOT NULL CHECK (fee_paise >= 0),
	sponsor_required BOOLEAN NOT NULL,
	gst_required BOOLEAN NOT NULL,
	purposes TEXT NOT NULL CHECK (purposes <> ''),          -- comma-separated purpose codes allowed
	max_extensions INTEGER NOT NULL CHECK (max_extensions BETWEEN 0 AND 10),
	extension_fee_paise INTEGER NOT NULL CHECK (extension_fee_paise >= 0),
	renew_min_days INTEGER NOT NULL CHECK (renew_min_days BETWEEN 0 AND 60), -- apply at least this many days before expiry
	effective_from TIMESTAMP NOT NULL,
	effective_to TIMESTAMP,
	created_at TIMESTAMP NOT NULL,
	created_by INTEGER REFERENCES people(id),
	UNIQUE (code, effective_from),
	CHECK (effective_to IS NULL OR effective_to > effective_from)
);

-- A sponsor is a local resident who registered their EPIC (voter ID) from
-- their own account. active counts their active sponsorships; the CHECK is
-- the cap, so concurrent confirmations cannot pass it.
CREATE TABLE permit_sponsors (
	person_id INTEGER PRIMARY KEY REFERENCES people(id),
	epic TEXT NOT NULL UNIQUE CHECK (length(epic) = 10),
	name TEXT NOT NULL CHECK (name <> ''),
	locality TEXT NOT NULL CHECK (locality <> ''),
	district_id INTEGER NOT NULL REFERENCES districts(id),
	active INTEGER NOT NULL DEFAULT 0 CHECK (active BETWEEN 0 AND 10),
	created_at TIMESTAMP NOT NULL
);

CREATE TABLE permit_applications (
	id INTEGER PRIMARY KEY,
	number TEXT NOT NULL UNIQUE,                    -- MZ-ILA-2627-000123-7
	kind TEXT NOT NULL CHECK (kind IN ('new', 'extension')),
	parent_id INTEGER REFERENCES permit_applications(id), -- the application an extension extends
	applicant_id INTEGER NOT NULL REFERENCES people(id),
	type_id INTEGER NOT NULL REFERENCES permit_types(id),
	type_code TEXT NOT NULL,
	validity_days INTEGER NOT NULL CHECK (validity_days > 0),
	fee_paise INTEGER NOT NULL CHECK (fee_paise >= 0),     -- per person, as the rule said when applied
	purpose TEXT NOT NULL,
	places TEXT NOT NULL,
	entry_point TEXT NOT NULL,
	district_id INTEGER REFERENCES districts(id),   -- of the entry point's issuing office; NULL for Mizoram Houses outside the state
	entry_date TIMESTAMP NOT NULL,                  -- IST midnight of the day of entry
	local_contact TEXT NOT NULL DEFAULT '',
	gst_number TEXT NOT NULL DEFAULT '',
	sponsor_epic TEXT NOT NULL DEFAULT '',
	sponsor_id INTEGER REFERENCES permit_sponsors(person_id),
	sponsor_at TIMESTAMP,
	status TEXT NOT NULL CHECK (status IN ('draft', 'sponsor_pending', 'sponsor_declined', 'submitted', 'under_verification',
		'correction', 'approved', 'rejected', 'issued', 'cancelled', 'revoked')),
	status_note TEXT NOT NULL DEFAULT '',           -- correction asked for, or reason of rejection
	case_id INTEGER REFERENCES wf_cases(id),            -- the issuing office's case, once submitted
	demand_id INTEGER REFERENCES pay_demands(id),
	version INTEGER NOT NULL DEFAULT 1,
	created_at TIMESTAMP NOT NULL,
	submitted_at TIMESTAMP,
	decided_at TIMESTAMP,
	updated_at TIMESTAMP NOT NULL
);
CREATE INDEX permit_applications_applicant ON permit_applications (applicant_id, id);
CREATE INDEX permit_applications_status ON permit_applications (status, district_id, submitted_at);
CREATE INDEX permit_applications_sponsor ON permit_applications (sponsor_epic, status);

CREATE TABLE permit_members (
	id INTEGER PRIMARY KEY,
	application_id INTEGER NOT NULL REFERENCES permit_applications(id),
	seq INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 20),   -- 1 is the lead applicant
	name TEXT NOT NULL CHECK (length(name) BETWEEN 2 AND 100),
	gender TEXT NOT NULL CHECK (gender IN ('f', 'm', 'x')),
	birth_date TIMESTAMP NOT NULL,
	phone TEXT NOT NULL DEFAULT '',
	address TEXT NOT NULL CHECK (address <> ''),
	id_type TEXT NOT NULL CHECK (id_type IN ('epic', 'aadhaar', 'pan', 'passport', 'dl')),
	id_number TEXT NOT NULL CHECK (id_number <> ''),
	id_masked TEXT NOT NULL,
	photo_file_id INTEGER REFERENCES files(id),          -- the person's photo (files package)
	id_scan_file_id INTEGER REFERENCES files(id),        -- a scan of the identity document
	UNIQUE (application_id, seq)
);

-- Each sponsored person takes one of the sponsor's ten places while active.
CREATE TABLE permit_sponsorships (
	member_id INTEGER PRIMARY KEY REFERENCES permit_members(id),
	sponsor_id INTEGER NOT NULL REFERENCES permit_sponsors(person_id),
	application_id INTEGER NOT NULL REFERENCES permit_applications(id),
	confirmed_at TIMESTAMP NOT NULL,
	released_at TIMESTAMP,
	release_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX permit_sponsorships_active ON permit_sponsorships (sponsor_id) WHERE released_at IS NULL;

CREATE TABLE permits (
	id INTEGER PRIMARY KEY,
	number TEXT NOT NULL UNIQUE,                     -- MZ-ILP-2627-000123-7
	application_id INTEGER NOT NULL REFERENCES permit_applications(id),
	member_id INTEGER NOT NULL UNIQUE REFERENCES permit_members(id),
	holder_id INTEGER NOT NULL REFERENCES people(id), -- the account that applied
	type_code TEXT NOT NULL,
	holder_name TEXT NOT NULL,
	id_masked TEXT NOT NULL,
	district_id INTEGER REFERENCES districts(id),
	entry_point TEXT NOT NULL,
	valid_from TIMESTAMP NOT NULL,
	valid_to TIMESTAMP NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('active', 'cancelled', 'revoked')),
	status_reason TEXT NOT NULL DEFAULT '',
	doc_id TEXT NOT NULL REFERENCES documents(id),   -- the current signed document
	token TEXT NOT NULL,                             -- its compact JWS (printed in the QR code; not a secret)
	extensions INTEGER NOT NULL DEFAULT 0,
	issued_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	CHECK (valid_to > valid_from)
);
CREATE INDEX permits_valid ON permits (status, valid_to);
CREATE INDEX permits_holder ON permits (holder_id);

-- Entry and exit at check gates. event_id is made by the gate's browser, so
-- events queued offline and sent twice are kept once.
CREATE TABLE permit_gate_events (
	id INTEGER PRIMARY KEY,
	event_id TEXT NOT NULL UNIQUE CHECK (length(event_id) BETWEEN 8 AND 64),
	permit_id INTEGER NOT NULL REFERENCES permits(id),
	gate TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('entry', 'exit')),
	result TEXT NOT NULL,                             -- what the gate was shown: valid, expired …
	at TIMESTAMP NOT NULL,                            -- when it happened at the gate
	recorded_at TIMESTAMP NOT NULL,                   -- when the server heard of it
	officer_id INTEGER NOT NULL REFERENCES people(id),
	offline BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX permit_gate_events_permit ON permit_gate_events (permit_id, at);
CREATE INDEX permit_gate_events_at ON permit_gate_events (at);

-- Today's permit types, in force since the fee notification of 4 February 2020
-- (No. F.22018/1/2020-HM(ILP)); administrators change them from a date onwards.
INSERT INTO permit_types (code, name, name_lus, validity_days, fee_paise, sponsor_required, gst_required, purposes,
	max_extensions, extension_fee_paise, renew_min_days, effective_from, created_at) VALUES
	('TEMP', 'Temporary ILP', 'ILP rei lo (Temporary)', 7, 15000, FALSE, FALSE, 'tourism,visit,business,medical,official', 1, 15000, 0,
		'2020-02-03 18:30:00', '2020-02-03 18:30:00'),
	('STAY', 'Temporary Stay Permit', 'Awm rei lo phalna (Temporary Stay Permit)', 30, 20000, FALSE, FALSE, 'work,business,medical,official', 1, 20000, 0,
		'2020-02-03 18:30:00', '2020-02-03 18:30:00'),
	('REGULAR', 'Regular ILP', 'ILP pangngai (Regular)', 180, 200000, TRUE, FALSE, 'work,business', 2, 200000, 7,
		'2020-02-03 18:30:00', '2020-02-03 18:30:00'),
	('TRADER', 'Trader Permit', 'Sumdawng ILP (Trader)', 730, 2000000, FALSE, TRUE, 'trade', 1, 2000000, 7,
		'2020-02-03 18:30:00', '2020-02-03 18:30:00');
