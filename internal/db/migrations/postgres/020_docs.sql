-- Signed documents (package docs): signing keys and the register of issued documents.

CREATE TABLE doc_keys (
	kid TEXT PRIMARY KEY CHECK (length(kid) BETWEEN 8 AND 64),
	alg TEXT NOT NULL CHECK (alg = 'EdDSA'),
	public_key TEXT NOT NULL UNIQUE,        -- base64url of the 32-byte Ed25519 public key
	private_sealed TEXT NOT NULL,           -- the 32-byte seed, AES-256-GCM under a key derived from the master secret
	signing SMALLINT UNIQUE CHECK (signing = 1), -- 1 for the one key that signs now, NULL once rotated out
	created_at TIMESTAMP NOT NULL,
	retired_at TIMESTAMP,                   -- stopped signing; still published and accepted
	CHECK ((signing IS NULL) = (retired_at IS NOT NULL))
);

CREATE TABLE documents (
	id TEXT PRIMARY KEY,                    -- the token's jti
	type TEXT NOT NULL CHECK (length(type) BETWEEN 2 AND 16),
	number TEXT NOT NULL CHECK (number <> ''),
	subject_id BIGINT REFERENCES people(id),
	kid TEXT NOT NULL REFERENCES doc_keys(kid),
	token_hash TEXT NOT NULL UNIQUE,
	issued_at TIMESTAMP NOT NULL,
	not_before TIMESTAMP,
	expires_at TIMESTAMP,
	revoked_at TIMESTAMP,
	revoke_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX documents_number ON documents (type, number, issued_at);
CREATE INDEX documents_revoked ON documents (type, revoked_at) WHERE revoked_at IS NOT NULL;
