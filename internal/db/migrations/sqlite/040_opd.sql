-- e-OPD: hospitals, clinical departments, doctors, weekly templates, holidays,
-- OPD sessions with an online capacity and a counter quota, patients (an
-- account's family), hospital patient ids (UHID) and bookings with tokens.
-- Capacity, token order and "one booking per patient, department and day"
-- are kept by the constraints below, not by the program.

INSERT INTO roles (code) VALUES ('opd_counter');

CREATE TABLE opd_hospitals (
	id INTEGER PRIMARY KEY,
	code TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 2 AND 8 AND code = upper(code)),
	name TEXT NOT NULL CHECK (name <> ''),
	name_lus TEXT NOT NULL CHECK (name_lus <> ''),
	department_id INTEGER REFERENCES departments(id),
	district_id INTEGER NOT NULL REFERENCES districts(id),
	address TEXT NOT NULL DEFAULT '',
	phone TEXT NOT NULL DEFAULT '',
	book_days_ahead INTEGER NOT NULL DEFAULT 7 CHECK (book_days_ahead BETWEEN 0 AND 90),
	book_opens_minute INTEGER NOT NULL DEFAULT 480 CHECK (book_opens_minute BETWEEN 0 AND 1439),
	plan_days_ahead INTEGER NOT NULL DEFAULT 14 CHECK (plan_days_ahead BETWEEN 1 AND 120),
	last_uhid INTEGER NOT NULL DEFAULT 0 CHECK (last_uhid >= 0),
	active BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE opd_departments (
	id INTEGER PRIMARY KEY,
	hospital_id INTEGER NOT NULL REFERENCES opd_hospitals(id),
	code TEXT NOT NULL CHECK (length(code) BETWEEN 2 AND 12 AND code = upper(code)),
	name TEXT NOT NULL CHECK (name <> ''),
	name_lus TEXT NOT NULL CHECK (name_lus <> ''),
	room TEXT NOT NULL DEFAULT '',
	active BOOLEAN NOT NULL DEFAULT TRUE,
	UNIQUE (hospital_id, code)
);

CREATE TABLE opd_doctors (
	id INTEGER PRIMARY KEY,
	department_id INTEGER NOT NULL REFERENCES opd_departments(id),
	name TEXT NOT NULL CHECK (name <> ''),
	qualification TEXT NOT NULL DEFAULT '',
	active BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE opd_templates (
	id INTEGER PRIMARY KEY,
	department_id INTEGER NOT NULL REFERENCES opd_departments(id),
	doctor_id INTEGER REFERENCES opd_doctors(id),
	weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
	start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
	end_minute INTEGER NOT NULL CHECK (end_minute > start_minute AND end_minute <= 1440),
	online_capacity INTEGER NOT NULL CHECK (online_capacity BETWEEN 0 AND 100000),
	counter_quota INTEGER NOT NULL CHECK (counter_quota BETWEEN 0 AND 100000),
	active BOOLEAN NOT NULL DEFAULT TRUE,
	created_at TIMESTAMP NOT NULL
);

CREATE TABLE opd_holidays (
	hospital_id INTEGER NOT NULL REFERENCES opd_hospitals(id),
	day TEXT NOT NULL CHECK (length(day) = 10),
	name TEXT NOT NULL CHECK (name <> ''),
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (hospital_id, day)
);

CREATE TABLE opd_sessions (
	id INTEGER PRIMARY KEY,
	hospital_id INTEGER NOT NULL REFERENCES opd_hospitals(id),
	department_id INTEGER NOT NULL REFERENCES opd_departments(id),
	doctor_id INTEGER REFERENCES opd_doctors(id),
	template_id INTEGER REFERENCES opd_templates(id),
	day TEXT NOT NULL CHECK (length(day) = 10),
	starts_at TIMESTAMP NOT NULL,
	ends_at TIMESTAMP NOT NULL,
	opens_at TIMESTAMP NOT NULL,
	online_capacity INTEGER NOT NULL CHECK (online_capacity BETWEEN 0 AND 100000),
	counter_quota INTEGER NOT NULL CHECK (counter_quota BETWEEN 0 AND 100000),
	online_booked INTEGER NOT NULL DEFAULT 0,
	counter_booked INTEGER NOT NULL DEFAULT 0,
	last_token INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
	closed_reason TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	CHECK (ends_at > starts_at),
	CHECK (online_booked BETWEEN 0 AND online_capacity),
	CHECK (counter_booked BETWEEN 0 AND counter_quota),
	CHECK (last_token >= online_booked + counter_booked),
	UNIQUE (template_id, day)
);
CREATE INDEX opd_sessions_department_day ON opd_sessions (department_id, day);
CREATE INDEX opd_sessions_hospital_day ON opd_sessions (hospital_id, day);

CREATE TABLE opd_patients (
	id INTEGER PRIMARY KEY,
	account_id INTEGER REFERENCES people(id),
	relation TEXT NOT NULL CHECK (relation IN ('self', 'spouse', 'child', 'parent', 'sibling', 'other', 'walkin')),
	name TEXT NOT NULL CHECK (name <> ''),
	sex TEXT NOT NULL CHECK (sex IN ('female', 'male', 'other')),
	birth_year INTEGER NOT NULL CHECK (birth_year BETWEEN 1900 AND 2100),
	phone TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	CHECK ((account_id IS NULL) = (relation = 'walkin'))
);
CREATE UNIQUE INDEX opd_patients_self ON opd_patients (account_id) WHERE relation = 'self';
CREATE INDEX opd_patients_account ON opd_patients (account_id);

CREATE TABLE opd_registrations (
	patient_id INTEGER NOT NULL REFERENCES opd_patients(id),
	hospital_id INTEGER NOT NULL REFERENCES opd_hospitals(id),
	uhid TEXT NOT NULL UNIQUE,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (patient_id, hospital_id)
);

CREATE TABLE opd_bookings (
	id INTEGER PRIMARY KEY,
	refno TEXT NOT NULL UNIQUE,
	session_id INTEGER NOT NULL REFERENCES opd_sessions(id),
	department_id INTEGER NOT NULL REFERENCES opd_departments(id),
	day TEXT NOT NULL,
	patient_id INTEGER NOT NULL REFERENCES opd_patients(id),
	booked_by INTEGER REFERENCES people(id),
	channel TEXT NOT NULL CHECK (channel IN ('online', 'counter')),
	token INTEGER NOT NULL CHECK (token > 0),
	status TEXT NOT NULL CHECK (status IN ('booked', 'checked_in', 'in_consultation', 'done', 'no_show', 'cancelled')),
	created_at TIMESTAMP NOT NULL,
	checked_in_at TIMESTAMP,
	called_at TIMESTAMP,
	done_at TIMESTAMP,
	cancelled_at TIMESTAMP,
	cancel_reason TEXT NOT NULL DEFAULT '',
	UNIQUE (session_id, token)
);
-- One active booking per patient, department and day: a cancelled one frees it.
CREATE UNIQUE INDEX opd_bookings_one_a_day ON opd_bookings (patient_id, department_id, day) WHERE status <> 'cancelled';
CREATE INDEX opd_bookings_session ON opd_bookings (session_id, status, token);
CREATE INDEX opd_bookings_patient ON opd_bookings (patient_id, day);

-- Aizawl Civil Hospital (Civil Hospital Aizawl), the state's main referral
-- hospital, with its OPD specialities. Its government department is set by
-- an administrator (or the demo) once the department exists.
INSERT INTO opd_hospitals (id, code, name, name_lus, district_id, address, phone) VALUES
	(1, 'CHA', 'Aizawl Civil Hospital', 'Aizawl Civil Hospital', 1, 'Aizawl, Mizoram', '');
INSERT INTO opd_departments (hospital_id, code, name, name_lus, room) VALUES
	(1, 'MED', 'Medicine', 'Medicine (Natna chi hrang hrang)', 'OPD Block, Ground Floor'),
	(1, 'SURG', 'Surgery', 'Surgery (Zai lam)', 'OPD Block, Ground Floor'),
	(1, 'OBG', 'Obstetrics & Gynaecology', 'Nu leh Nau Enkawlna (Obs & Gynae)', 'OPD Block, First Floor'),
	(1, 'PAED', 'Paediatrics', 'Naupang Enkawlna (Paediatrics)', 'OPD Block, First Floor'),
	(1, 'ORTH', 'Orthopaedics', 'Ruh lam (Orthopaedics)', 'OPD Block, Ground Floor'),
	(1, 'DERM', 'Dermatology', 'Vun lam (Dermatology)', 'OPD Block, Second Floor'),
	(1, 'OPHT', 'Ophthalmology', 'Mit lam (Ophthalmology)', 'Eye Wing'),
	(1, 'ENT', 'ENT', 'Beng, Hnar leh Hrawk (ENT)', 'OPD Block, Second Floor'),
	(1, 'ONCO', 'Oncology', 'Cancer lam (Oncology)', 'Cancer Wing');
