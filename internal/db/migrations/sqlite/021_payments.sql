-- Payments (package payments): demands → bills → payments through a gateway → receipts.
-- Money is integer paise.

CREATE TABLE pay_demands (
	id INTEGER PRIMARY KEY,
	service TEXT NOT NULL CHECK (service <> ''),
	consumer_code TEXT NOT NULL CHECK (consumer_code <> ''),   -- the service's own reference (application number …)
	purpose TEXT NOT NULL CHECK (purpose <> ''),               -- e.g. "fee", "extension:2"
	payer_id INTEGER REFERENCES people(id),
	payer_name TEXT NOT NULL,
	description TEXT NOT NULL,
	amount_paise INTEGER NOT NULL CHECK (amount_paise > 0),
	status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'cancelled')),
	created_at TIMESTAMP NOT NULL,
	paid_at TIMESTAMP,
	UNIQUE (service, consumer_code, purpose)
);
CREATE INDEX pay_demands_payer ON pay_demands (payer_id, created_at);

CREATE TABLE pay_demand_lines (
	demand_id INTEGER NOT NULL REFERENCES pay_demands(id),
	head TEXT NOT NULL CHECK (head <> ''),                     -- tax head, e.g. ILP_FEE
	amount_paise INTEGER NOT NULL CHECK (amount_paise > 0),
	PRIMARY KEY (demand_id, head)
);

CREATE TABLE pay_payments (
	id INTEGER PRIMARY KEY,
	demand_id INTEGER NOT NULL REFERENCES pay_demands(id),
	txn_id TEXT NOT NULL UNIQUE,                               -- ours, sent to the gateway
	gateway TEXT NOT NULL,
	order_id TEXT,                                             -- the gateway's
	amount_paise INTEGER NOT NULL CHECK (amount_paise > 0),
	status TEXT NOT NULL CHECK (status IN ('pending', 'success', 'failed')),
	failure TEXT NOT NULL DEFAULT '',
	return_url TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	completed_at TIMESTAMP,
	UNIQUE (gateway, order_id)
);
-- A demand is paid at most once, however many attempts race.
CREATE UNIQUE INDEX pay_payments_one_success ON pay_payments (demand_id) WHERE status = 'success';
CREATE INDEX pay_payments_pending ON pay_payments (status, created_at) WHERE status = 'pending';

CREATE TABLE pay_receipts (
	number TEXT PRIMARY KEY,                                   -- MZ-RCP-2627-000123-7
	payment_id INTEGER NOT NULL UNIQUE REFERENCES pay_payments(id),
	demand_id INTEGER NOT NULL UNIQUE REFERENCES pay_demands(id),
	amount_paise INTEGER NOT NULL CHECK (amount_paise > 0),
	issued_at TIMESTAMP NOT NULL
);

-- Every gateway callback id is kept once: a replayed callback is refused.
CREATE TABLE pay_callbacks (
	gateway TEXT NOT NULL,
	callback_id TEXT NOT NULL,
	payment_id INTEGER REFERENCES pay_payments(id),
	received_at TIMESTAMP NOT NULL,
	PRIMARY KEY (gateway, callback_id)
);

-- The built-in TEST gateway's own book of orders (no money moves).
CREATE TABLE pay_test_orders (
	order_id TEXT PRIMARY KEY,
	txn_id TEXT NOT NULL UNIQUE,
	amount_paise INTEGER NOT NULL CHECK (amount_paise > 0),
	description TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('created', 'paid', 'failed')),
	callback_url TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL
);
