-- klic-admin ledger on PostgreSQL, migration 9: schema version 8 -> 9, the
-- pair of spec/ledger-9.sql (normative; spec/LEDGER.md 3): the same
-- indexes for the license list a page at a time.  Applied inside one
-- transaction under the writer lock, then meta ledger_version = 9.
CREATE INDEX licenses_list ON licenses(issued, request_digest, seat, expires, license_id);
CREATE INDEX licenses_list_product ON licenses(product, issued, request_digest, seat);
CREATE INDEX licenses_list_member ON licenses(member_fpr, issued, request_digest, seat);
CREATE INDEX licenses_expiry ON licenses(expires, issued, request_digest, seat, license_id);
