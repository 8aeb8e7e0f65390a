-- klic-admin ledger, migration 4: schema version 3 -> 4 (normative;
-- spec/PROTOCOL.md 3.6, 5.3.1).  Applied inside one transaction, then
-- PRAGMA user_version = 4.
--
-- Protocol version 2: what the organization bought is a vendor-signed
-- entitlement (.kent), imported with `klic-admin entitlement import`, and
-- every license issued carries it.
--  1. entitlements.kent: the exact text of the .kent file (the bytes every
--     issued response embeds); kent_id: its entitlement_id (32 lower-case
--     hex), unique, so an import is idempotent; valid_from / valid_until:
--     its period [valid_from, valid_until) in Unix seconds.  The columns of
--     schema 1 (product, model, billing, seats, until = the last valid day,
--     i.e. the day of valid_until - 1 s, ref, created) are filled from the
--     .kent as before, so the seat counts and reports keep working.
--  2. Rows of schema 1-3 (hand-typed with the removed `entitlement add`)
--     keep kent, kent_id, valid_from and valid_until NULL: they still count
--     the seats of the licenses issued from them, but no new license is
--     issued from them (a version 2 license must carry its .kent).
--  3. The vendor key is pinned in meta (vendor_fpr) by `klic-admin init
--     --vendor`; its armored public key is the file vendor.asc of the state
--     folder.  Imports are audited as event 'entitlement-add' with detail
--     "import <kent_id> ..." (the audit event list of schema 1 is kept).

ALTER TABLE entitlements ADD COLUMN kent TEXT;
ALTER TABLE entitlements ADD COLUMN kent_id TEXT
	CHECK (kent_id IS NULL OR (length(kent_id) = 32 AND kent IS NOT NULL));
ALTER TABLE entitlements ADD COLUMN valid_from INTEGER;
ALTER TABLE entitlements ADD COLUMN valid_until INTEGER
	CHECK (valid_until IS NULL OR valid_until > valid_from);
CREATE UNIQUE INDEX entitlements_kent_id ON entitlements(kent_id);
