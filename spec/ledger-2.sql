-- klic-admin ledger, migration 2: schema version 1 -> 2 (normative;
-- spec/PROTOCOL.md 3.4, 5.3).  Applied inside one transaction after
-- spec/ledger.sql, then PRAGMA user_version = 2.
--
-- A response is one signed document that every license file of it renders,
-- and the admin allocates license file names per machine:
--  1. licenses.file: the .lic name the seat is installed under.  Rows of
--     schema 1 get the name schema 1 gave them (seat k -> _k).
--  2. licenses_machine: finds a machine's active licenses of a product (the
--     names in use) without a table scan.
--  3. Responses stored under schema 1 were in the draft format (one
--     signature per license): they are dropped, and the next `klic-admin
--     issue` of their request rebuilds the response from its license rows
--     (same license IDs, nothing spent).
-- The append-only triggers are re-created exactly as they were.

DROP TRIGGER licenses_no_update;
ALTER TABLE licenses ADD COLUMN file TEXT NOT NULL DEFAULT '';
UPDATE licenses SET file = product || '_' || machine_id ||
	CASE WHEN seat = 1 THEN '.lic' ELSE '_' || seat || '.lic' END;
CREATE TRIGGER licenses_no_update BEFORE UPDATE ON licenses
BEGIN SELECT RAISE(ABORT, 'licenses are append-only'); END;

CREATE INDEX licenses_machine ON licenses(machine_id, product, expires);

DROP TRIGGER requests_response_once;
UPDATE requests SET response = NULL WHERE response IS NOT NULL;
CREATE TRIGGER requests_response_once BEFORE UPDATE ON requests
WHEN OLD.response IS NOT NULL OR NEW.response IS NULL
  OR NEW.digest IS NOT OLD.digest OR NEW.member_fpr IS NOT OLD.member_fpr
  OR NEW.machine_id IS NOT OLD.machine_id OR NEW.product IS NOT OLD.product
  OR NEW.seats IS NOT OLD.seats OR NEW.status IS NOT OLD.status
  OR NEW.reason_code IS NOT OLD.reason_code OR NEW.reason IS NOT OLD.reason
  OR NEW.entitlement_id IS NOT OLD.entitlement_id OR NEW.created IS NOT OLD.created
BEGIN SELECT RAISE(ABORT, 'a request row only gains its response, once'); END;
