-- klic-admin ledger, migration 7: schema version 6 -> 7 (normative;
-- spec/PROTOCOL.md 5.3.4).  Applied inside one transaction, then
-- PRAGMA user_version = 7.
--
-- A license can end before it expires: renewed (a renewal request gave
-- its machine a new license for the same seat and file name, spec 5.3.4)
-- or returned (its seat given back).  Licenses stay append-only; the end
-- is a row of its own, at most one per license, never changed or removed.
-- A license holds a seat of its entitlement from `issued` until
--   min(expires, ended)
-- so the seats used at `now` are the licenses with expires > now and no
-- end at or before now.  by_digest is the request (renewal) or receipt
-- that ended it.
CREATE TABLE license_ends (
	license_id TEXT PRIMARY KEY NOT NULL REFERENCES licenses(license_id),
	ended      INTEGER NOT NULL,                                 -- Unix seconds
	reason     TEXT NOT NULL CHECK (reason IN ('renewed', 'returned')),
	by_digest  TEXT NOT NULL CHECK (length(by_digest) = 64)
) WITHOUT ROWID;
CREATE INDEX license_ends_ended ON license_ends(ended);
CREATE TRIGGER license_ends_no_update BEFORE UPDATE ON license_ends
BEGIN SELECT RAISE(ABORT, 'license ends are append-only'); END;
CREATE TRIGGER license_ends_no_delete BEFORE DELETE ON license_ends
BEGIN SELECT RAISE(ABORT, 'license ends are append-only'); END;
-- An end lies within the license's life: not before it was issued.
CREATE TRIGGER license_ends_in_life BEFORE INSERT ON license_ends
WHEN NEW.ended < (SELECT issued FROM licenses WHERE license_id = NEW.license_id)
BEGIN SELECT RAISE(ABORT, 'a license cannot end before it was issued'); END;
-- The seat counter of migration 3 (entitlement_usage.active: licenses
-- holding a seat at as_of) stays exact: a license that held a seat at
-- as_of (expires > as_of) and now ends at or before as_of no longer does.
-- An end after as_of is counted when the count is moved past it
-- (response/ledger_ent.c), like an expiry.
CREATE TRIGGER license_ends_usage AFTER INSERT ON license_ends
BEGIN
	UPDATE entitlement_usage SET active = active - 1
	WHERE entitlement_id = (SELECT entitlement_id FROM licenses
	                        WHERE license_id = NEW.license_id)
	  AND (SELECT expires FROM licenses WHERE license_id = NEW.license_id) > as_of
	  AND NEW.ended <= as_of;
END;
-- The renewal window (days before expiry a license may be renewed) is the
-- meta key renew_window_days (1-59); absent: 14.
