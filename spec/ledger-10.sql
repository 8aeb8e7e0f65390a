-- klic-admin ledger, migration 10: schema version 9 -> 10 (normative;
-- spec/PROTOCOL.md 5.3, spec/LEDGER.md 6).  Applied inside one transaction,
-- then PRAGMA user_version = 10.
--
-- licenses.issuer_fpr: the fingerprint (40 upper-case hex) of the issuer
-- key that signed the response the license is in.  On a ledger several
-- admins share (spec/LEDGER.md 6) it tells whose workstation issued each
-- license.  Rows written before this migration keep '' (not recorded): no
-- value is guessed for them, since a ledger copied out of a shared one
-- (`ledger migrate`) names only the copying admin's key in meta.  Adding a
-- column with a default rewrites no row; licenses stay append-only.  The
-- evidence of who issued a license stays its stored response, signed by
-- that key (requests.response); this column is what `list` reads.
-- The value is '' or exactly 40 upper-case hex digits: nothing a reader
-- (the web console's CSV, a terminal) would have to quote or escape.
ALTER TABLE licenses ADD COLUMN issuer_fpr TEXT NOT NULL DEFAULT ''
	CHECK (issuer_fpr = '' OR (length(issuer_fpr) = 40 AND issuer_fpr NOT GLOB '*[^0-9A-F]*'));
