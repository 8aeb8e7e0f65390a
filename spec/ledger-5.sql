-- klic-admin ledger, migration 5: schema version 4 -> 5 (normative;
-- spec/PROTOCOL.md 5.3).  Applied inside one transaction, then
-- PRAGMA user_version = 5.
--
-- A denial spends nothing, so a request that was denied is decided afresh
-- every time it is answered again: when the new decision is the same
-- denial (same reason code and reason), the stored response is delivered
-- again; when it differs (seats were added, an entitlement imported, a
-- member added ...), the denied row is replaced, in the transaction that
-- records the new answer, by the new one.  Only an issued request is
-- append-only: its row can never be removed.  The audit log keeps every
-- decision (the earlier denial's 'denied' row stays).

DROP TRIGGER requests_no_delete;
CREATE TRIGGER requests_no_delete BEFORE DELETE ON requests
WHEN OLD.status IS NOT 'denied'
BEGIN SELECT RAISE(ABORT, 'issued requests are append-only'); END;
