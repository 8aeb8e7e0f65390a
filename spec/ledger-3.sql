-- klic-admin ledger, migration 3: schema version 2 -> 3 (normative;
-- spec/PROTOCOL.md 5.3.1).  Applied inside one transaction, then
-- PRAGMA user_version = 3.
--
-- Free seats without counting every active license: entitlement_usage
-- keeps, per entitlement, the number of its licenses that were active at a
-- time as_of.  The seats used at any time `now` are then
--   active - (licenses with as_of < expires <= now)     when now >= as_of
--   active + (licenses with now < expires <= as_of)     when now <  as_of
-- two range scans of licenses_ent_exp over the short window since as_of
-- instead of one over every active license.  `klic-admin issue` moves
-- as_of to its own time inside each seat transaction; an entitlement
-- without a row is counted in full.  The trigger keeps `active` exact for
-- every license inserted, whoever inserts it (licenses are append-only),
-- and `klic-admin audit verify` recomputes every row.

CREATE TABLE entitlement_usage (
	entitlement_id INTEGER PRIMARY KEY NOT NULL REFERENCES entitlements(id),
	as_of          INTEGER NOT NULL,                    -- Unix seconds
	active         INTEGER NOT NULL CHECK (active >= 0) -- licenses with expires > as_of
);

CREATE TRIGGER licenses_usage AFTER INSERT ON licenses
BEGIN
	UPDATE entitlement_usage SET active = active + 1
	WHERE entitlement_id = NEW.entitlement_id AND NEW.expires > as_of;
END;
