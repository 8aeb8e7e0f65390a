-- klic-admin ledger, migration 9: schema version 8 -> 9 (normative;
-- spec/PROTOCOL.md 5.3).  Applied inside one transaction, then
-- PRAGMA user_version = 9.  Indexes only: no table, row or trigger changes.
--
-- The license list a page at a time (the web console's Offline licenses
-- page, response/ledger_report.c): a page is LIMIT rows at an OFFSET of the
-- list in its order (issued, request_digest, seat), with a count of the
-- whole filtered list.  Each index below ends in that order, so a page is
-- read from an index without sorting the list and without reading the rows
-- it skips:
--  1. licenses_list: no filter, and "expired" (expires and license_id in it
--     decide the state without the row);
--  2. licenses_list_product, licenses_list_member: the product and member
--     filters (the machine filter has licenses_machine, migration 2);
--  3. licenses_expiry: the active licenses (expires > now), found and
--     counted by their expiry, then sorted.
CREATE INDEX licenses_list ON licenses(issued, request_digest, seat, expires, license_id);
CREATE INDEX licenses_list_product ON licenses(product, issued, request_digest, seat);
CREATE INDEX licenses_list_member ON licenses(member_fpr, issued, request_digest, seat);
CREATE INDEX licenses_expiry ON licenses(expires, issued, request_digest, seat, license_id);
