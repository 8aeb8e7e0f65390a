-- klic-admin ledger, migration 6: schema version 5 -> 6 (normative;
-- spec/PROTOCOL.md 5.3).  Applied inside one transaction, then
-- PRAGMA user_version = 6.
--
-- The license lifecycle adds audit events:
--   'member-remove'  a member's key is no longer honoured (its licenses
--                    already issued stay valid until they expire)
--   'renewed'        licenses renewed before they expire: new licenses,
--                    no new seat (the old ones end when the new begin)
--   'returned'       seats freed by a signed return receipt
--   'policy'         an admin policy changed (e.g. the renewal window)
-- SQLite cannot change a CHECK constraint in place, so the audit table is
-- rebuilt: the same columns, every row copied with its seq, prev_hash and
-- hash unchanged (the chain verifies exactly as before), the next seq
-- continuing from the last, and the same append-only triggers.

CREATE TABLE audit_v6 (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	at        TEXT NOT NULL,
	event     TEXT NOT NULL CHECK (event IN ('issued', 'denied', 'reissued', 'member-add',
	                                         'entitlement-add', 'member-remove', 'renewed',
	                                         'returned', 'policy')),
	digest    TEXT NOT NULL DEFAULT '',
	detail    TEXT NOT NULL DEFAULT '',
	prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
	hash      TEXT NOT NULL CHECK (length(hash) = 64)
);
INSERT INTO audit_v6 (seq, at, event, digest, detail, prev_hash, hash)
	SELECT seq, at, event, digest, detail, prev_hash, hash FROM audit ORDER BY seq;
DROP TRIGGER audit_no_update;
DROP TRIGGER audit_no_delete;
DROP TABLE audit;
ALTER TABLE audit_v6 RENAME TO audit;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
