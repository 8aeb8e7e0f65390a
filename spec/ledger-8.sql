-- klic-admin ledger, migration 8: schema version 7 -> 8 (normative;
-- spec/PROTOCOL.md 5.3.6).  Applied inside one transaction, then
-- PRAGMA user_version = 8.
--
-- A return receipt (.kret, spec 3.8) applied by `klic-admin return`: its
-- exact bytes under their SHA-256 (hex), the receipt's idempotency key,
-- and when it was applied (Unix seconds).  In the same transaction every
-- license it frees gets its license_ends row (reason 'returned', by_digest
-- the receipt's digest, ended = at) and an audit row 'returned' (digest
-- the receipt's, detail "<license_id> returned by receipt <digest> (...)");
-- a license another receipt returned gets nothing more (5.3.6 #6), and a
-- receipt that frees nothing is not recorded.
-- Append-only, like the licenses and their ends.
CREATE TABLE returns (
	digest  TEXT PRIMARY KEY NOT NULL CHECK (length(digest) = 64),
	receipt BLOB NOT NULL,
	at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER returns_no_update BEFORE UPDATE ON returns
BEGIN SELECT RAISE(ABORT, 'returns are append-only'); END;
CREATE TRIGGER returns_no_delete BEFORE DELETE ON returns
BEGIN SELECT RAISE(ABORT, 'returns are append-only'); END;
