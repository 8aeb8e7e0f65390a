-- klic-admin ledger, schema version 1 (normative; spec/PROTOCOL.md 5.3, 5.6).
--
-- This file is compiled into klic-admin (response/CMakeLists.txt turns it
-- into a C string) and applied as migration 1 inside one transaction, after
-- which PRAGMA user_version = 1.  A ledger whose user_version is newer than
-- the tool knows is refused.  Connections use journal_mode=WAL,
-- foreign_keys=ON, busy_timeout=10000, synchronous=FULL.
--
-- Times: meta/created, members/added, requests/created, audit/at are
-- RFC 3339 UTC text ("2026-11-22T18:00:00Z"); licenses/issued and
-- licenses/expires are Unix seconds (INTEGER) so the free-seat count
--   SELECT count(*) FROM licenses WHERE entitlement_id = ? AND expires > ?
-- is a range scan of licenses_ent_exp.

-- key/value facts about this ledger: org, issuer_fpr, created, gnupghome.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY NOT NULL,
	value TEXT NOT NULL
) WITHOUT ROWID;

-- What the organization bought.  Only node-locked + yearly can back
-- offline licenses; the others exist so a denial can say why.
CREATE TABLE entitlements (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	product TEXT NOT NULL CHECK (product IN ('KRE', 'KSE')),
	model   TEXT NOT NULL CHECK (model IN ('node-locked', 'floating')),
	billing TEXT NOT NULL CHECK (billing IN ('yearly', 'monthly')),
	seats   INTEGER NOT NULL CHECK (seats > 0),
	until   TEXT NOT NULL CHECK (length(until) = 10), -- YYYY-MM-DD, last valid day (UTC)
	ref     TEXT NOT NULL DEFAULT '',
	created TEXT NOT NULL
);
CREATE INDEX entitlements_product ON entitlements(product);

-- Registered members: the only keys whose requests are honoured.
CREATE TABLE members (
	fingerprint TEXT PRIMARY KEY NOT NULL CHECK (length(fingerprint) = 40),
	name        TEXT NOT NULL,
	email       TEXT NOT NULL,
	added       TEXT NOT NULL
) WITHOUT ROWID;

-- Every request processed (issued or denied by eligibility), keyed by the
-- request digest (SHA-256 of manifest.json): the idempotency key.
-- response holds the exact signed .kresp bytes once they were made; a row
-- with response NULL (crash between the seat transaction and storing the
-- response) is rebuilt from the rows below on the next run.
CREATE TABLE requests (
	digest         TEXT PRIMARY KEY NOT NULL CHECK (length(digest) = 64),
	member_fpr     TEXT NOT NULL,
	machine_id     TEXT NOT NULL,
	product        TEXT NOT NULL,
	seats          INTEGER NOT NULL,          -- issued: licenses; denied: asked
	status         TEXT NOT NULL CHECK (status IN ('issued', 'denied')),
	reason_code    TEXT,
	reason         TEXT,
	entitlement_id INTEGER REFERENCES entitlements(id),
	created        TEXT NOT NULL,
	response       BLOB
) WITHOUT ROWID;

-- One row per license (seat) issued.  Seats come back when expires passes.
CREATE TABLE licenses (
	license_id     TEXT PRIMARY KEY NOT NULL CHECK (length(license_id) = 32),
	request_digest TEXT NOT NULL REFERENCES requests(digest),
	seat           INTEGER NOT NULL CHECK (seat >= 1),
	machine_id     TEXT NOT NULL,
	product        TEXT NOT NULL,
	issued         INTEGER NOT NULL,
	expires        INTEGER NOT NULL CHECK (expires > issued),
	entitlement_id INTEGER NOT NULL REFERENCES entitlements(id),
	member_fpr     TEXT NOT NULL,
	UNIQUE (request_digest, seat)
);
CREATE INDEX licenses_ent_exp ON licenses(entitlement_id, expires);
CREATE INDEX licenses_expires ON licenses(expires);

-- Append-only, hash-chained audit log.
--   hash = hex(SHA-256(prev_hash || text)), prev_hash of row 1 = 64 x '0',
--   text = seq TAB at TAB event TAB digest TAB detail   (seq in decimal)
-- seq starts at 1 and has no gaps.  `klic-admin audit verify` recomputes it.
CREATE TABLE audit (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	at        TEXT NOT NULL,
	event     TEXT NOT NULL CHECK (event IN ('issued', 'denied', 'reissued', 'member-add',
	                                         'entitlement-add')),
	digest    TEXT NOT NULL DEFAULT '',
	detail    TEXT NOT NULL DEFAULT '',
	prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
	hash      TEXT NOT NULL CHECK (length(hash) = 64)
);

-- Issued is irreversible: no row of licenses or audit changes or goes away.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER licenses_no_update BEFORE UPDATE ON licenses
BEGIN SELECT RAISE(ABORT, 'licenses are append-only'); END;
CREATE TRIGGER licenses_no_delete BEFORE DELETE ON licenses
BEGIN SELECT RAISE(ABORT, 'licenses are append-only'); END;
-- A request row only ever gains its response, once.
CREATE TRIGGER requests_no_delete BEFORE DELETE ON requests
BEGIN SELECT RAISE(ABORT, 'requests are append-only'); END;
CREATE TRIGGER requests_response_once BEFORE UPDATE ON requests
WHEN OLD.response IS NOT NULL OR NEW.response IS NULL
  OR NEW.digest IS NOT OLD.digest OR NEW.member_fpr IS NOT OLD.member_fpr
  OR NEW.machine_id IS NOT OLD.machine_id OR NEW.product IS NOT OLD.product
  OR NEW.seats IS NOT OLD.seats OR NEW.status IS NOT OLD.status
  OR NEW.reason_code IS NOT OLD.reason_code OR NEW.reason IS NOT OLD.reason
  OR NEW.entitlement_id IS NOT OLD.entitlement_id OR NEW.created IS NOT OLD.created
BEGIN SELECT RAISE(ABORT, 'a request row only gains its response, once'); END;
