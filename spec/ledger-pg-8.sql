-- klic-admin ledger on PostgreSQL, migration 8: schema version 7 -> 8, the
-- pair of spec/ledger-8.sql (normative; spec/LEDGER.md 3, spec/PROTOCOL.md
-- 5.3.6).  Applied inside one transaction under the writer lock, then meta
-- ledger_version = 8.  The applied return receipts: their exact bytes
-- under their SHA-256 (hex), append-only.
CREATE TABLE returns (
	digest  TEXT PRIMARY KEY NOT NULL CHECK (length(digest) = 64),
	receipt BYTEA NOT NULL,
	at      BIGINT NOT NULL
);
CREATE TRIGGER returns_no_update BEFORE UPDATE ON returns
	FOR EACH ROW EXECUTE FUNCTION klic_refuse('returns are append-only');
CREATE TRIGGER returns_no_delete BEFORE DELETE ON returns
	FOR EACH ROW EXECUTE FUNCTION klic_refuse('returns are append-only');
CREATE TRIGGER returns_no_truncate BEFORE TRUNCATE ON returns
	FOR EACH STATEMENT EXECUTE FUNCTION klic_refuse('returns are append-only');
