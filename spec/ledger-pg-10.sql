-- klic-admin ledger on PostgreSQL, migration 10: schema version 9 -> 10,
-- the pair of spec/ledger-10.sql (normative; spec/LEDGER.md 6): the issuer
-- key of each license.  Applied inside one transaction under the writer
-- lock, then meta ledger_version = 10.
ALTER TABLE licenses ADD COLUMN issuer_fpr TEXT NOT NULL DEFAULT ''
	CHECK (issuer_fpr ~ '^([0-9A-F]{40})?$');
