-- Mipui Aw over Open311 GeoReport v2: what a client sent that the
-- grievance row does not hold, the updates a client posted (idempotent by
-- the client's own update_id), and an index for "updated since" queries.

CREATE TABLE grv_open311 (
	case_id BIGINT PRIMARY KEY REFERENCES grv_grievances(case_id),
	api_client TEXT NOT NULL CHECK (api_client <> ''),
	media_url TEXT NOT NULL DEFAULT '' CHECK (char_length(media_url) <= 500)
);

CREATE TABLE grv_open311_updates (
	api_client TEXT NOT NULL CHECK (api_client <> ''),
	update_id TEXT NOT NULL CHECK (char_length(update_id) BETWEEN 1 AND 100),
	case_id BIGINT NOT NULL REFERENCES grv_grievances(case_id),
	history_id BIGINT NOT NULL REFERENCES wf_history(id),
	created_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (api_client, update_id)
);

CREATE INDEX wf_cases_updated ON wf_cases (type, updated_at, id);
