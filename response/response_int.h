/* klic response/ — internal helpers shared by the library's files. */
#ifndef KLIC_RESPONSE_INT_H
#define KLIC_RESPONSE_INT_H

#include "klic_response.h"
#include "ledger_db.h"

/* spec/ledger.sql and spec/ledger-N.sql, generated at build time. */
extern const char klic_ledger_sql[];
extern const char klic_ledger2_sql[];
extern const char klic_ledger3_sql[];
extern const char klic_ledger4_sql[];
extern const char klic_ledger5_sql[];
extern const char klic_ledger6_sql[];
extern const char klic_ledger7_sql[];
extern const char klic_ledger8_sql[];
extern const char klic_ledger9_sql[];  /* indexes of the license list */
extern const char klic_ledger10_sql[]; /* licenses.issuer_fpr */
/* spec/ledger-pg.sql: the PostgreSQL schema at its base version (7), and
 * the PostgreSQL side of the migrations after it. */
extern const char klic_ledger_pg_sql[];
extern const char klic_ledger_pg8_sql[];
extern const char klic_ledger_pg9_sql[];
extern const char klic_ledger_pg10_sql[];

/* The ledger's database connection (ledger_db.h). */
struct klic_db *klic_ledger_db(struct klic_ledger *l);
/* The ledger as it may be shown (a path, or a URL without password). */
const char *klic_ledger_name(const struct klic_ledger *l);
/* 1 when the ledger is PostgreSQL. */
int klic_ledger_is_pg(const struct klic_ledger *l);
/* Record the engine's last failure as KLIC_ERR_LEDGER (KLIC_ERR_IO for
 * SQLite's disk errors) with what + the engine's message. */
int klic_ledger_err(struct klic_ledger *l, const char *what);
/* Rows changed by the last INSERT/UPDATE/DELETE. */
int64_t klic_ledger_changes(struct klic_ledger *l);
/* This admin's issuer key, for klic_ledger_keep_mine (copied). */
void klic_ledger_set_issuer(struct klic_ledger *l, const char *fpr);
const char *klic_ledger_issuer(const struct klic_ledger *l);
/* A shared (PostgreSQL) ledger holds the entitlements every admin
 * imported: one whose .kent does not name this admin's issuer key in
 * org_keys backs no license of this admin (the runtime's chain check, spec
 * 3.4, refuses it), so it is taken out of ents[0..*n) (order kept).  A
 * SQLite ledger, or one without an issuer set, is left as it is (import
 * checks that each .kent names its admin's key). */
int klic_ledger_keep_mine(struct klic_ledger *l, struct klic_entitlement *ents, size_t *n);
/* A prepared statement for sql from the connection's cache (keyed by the
 * address of sql, checked against its text), to be given back with
 * klic_ledger_stmt_done(), which resets it and clears its bindings (or
 * finalizes one the cache had no room for).  The same sql in use twice at
 * once is prepared afresh. */
int klic_ledger_stmt(struct klic_ledger *l, struct klic_stmt **st, const char *sql);
void klic_ledger_stmt_done(struct klic_ledger *l, struct klic_stmt *st);
/* The writer / COMMIT / ROLLBACK (rollback never fails loudly): begin is
 * the one ledger-wide writer (klic_db_begin_write), begin_read one
 * snapshot for a read command (klic_db_begin_read). */
int klic_ledger_begin(struct klic_ledger *l);
int klic_ledger_commit(struct klic_ledger *l);
void klic_ledger_rollback(struct klic_ledger *l);
/* Checkpoints of this connection's WAL are no longer made inside its
 * commits (SQLite's autocheckpoint, which would run them while the caller
 * holds its writer lock) but only by klic_ledger_checkpoint. */
void klic_ledger_defer_checkpoints(struct klic_ledger *l);
/* A passive checkpoint when the WAL has grown past SQLite's autocheckpoint
 * threshold at this connection's last commit.  Call it outside any
 * transaction and writer lock. */
void klic_ledger_checkpoint(struct klic_ledger *l);
/* 1 when the connection to the ledger's server is gone (klic_db_lost). */
int klic_ledger_lost(struct klic_ledger *l);
/* A long-running user of the ledger (the web console) before each
 * request: one trivial statement finds out whether the connection is
 * still there; a lost one is replaced by a new session (its cached
 * statements finalized first).  0 when the ledger is usable, else the
 * error of the attempt (the next call tries again).  Never inside a
 * transaction: a transaction the old session held is gone with it. */
int klic_ledger_revive(struct klic_ledger *l);

/* A text column of the current row ("" for NULL), valid until the next
 * step or reset. */
const char *klic_ledger_col_text(struct klic_stmt *st, int i);
/* The same, copied into dst (truncated to dstsz - 1 bytes). */
void klic_ledger_col_copy(char *dst, size_t dstsz, struct klic_stmt *st, int i);

/* ---- the rows `issue` reads and writes (ledger_issue.c) ------------------- */

/* One row of `requests`. */
struct klic_request_row {
	int found;
	char status[8];
	char member_fpr[KLIC_FPR_HEX_LEN + 1];
	char machine_id[KLIC_MACHINE_ID_LEN + 1];
	char product[4];
	unsigned seats;
	char reason_code[32];
	char reason[KLIC_MAX_TEXT_LEN + 1];
	int64_t created;
	int64_t entitlement_id; /* issued: the entitlement it draws on */
	uint8_t *response;      /* owned */
	size_t response_len;
};

/* The request recorded under digest: row->found 0 when there is none;
 * row->response is malloc'ed (or NULL when none is stored). */
int klic_ledger_request_get(struct klic_ledger *l, struct klic_request_row *row,
			    const char *digest);

/* The licenses of an issued request into resp->lic (ordered by seat),
 * checked against its row: seats numbered 1..n, issued at its creation,
 * one expiry, as many as its seats. */
int klic_ledger_request_licenses(struct klic_ledger *l, struct klic_response *resp,
				 const char *digest, const struct klic_request_row *row);

/* The licenses of machine_id and product still active at now: used[k] = 1
 * for each seat number k its file name carries, *active their count. */
int klic_ledger_active_files(struct klic_ledger *l, unsigned char used[KLIC_MAX_SEATS + 1],
			     unsigned *active, const char *machine_id, const char *product,
			     int64_t now);

/* Inside the caller's write transaction: the request row (status and, for
 * a denial, reason from row; for an issue, d's entitlement), created at
 * the time text `created`, with its signed response. */
int klic_ledger_request_insert(struct klic_ledger *l, const char *digest,
			       const struct klic_request *req, const struct klic_request_row *row,
			       const struct klic_decision *d, const char *created,
			       const uint8_t *response, size_t len);

/* Inside the caller's write transaction: remove the row of a request that
 * was denied (it is decided afresh and its new answer recorded in the same
 * transaction, spec/ledger-5.sql); an issued row is never removed. */
int klic_ledger_request_forget_denial(struct klic_ledger *l, const char *digest);

/* Inside the caller's write transaction: one licenses row per entry of
 * resp, issued at now from d's entitlement. */
int klic_ledger_licenses_insert(struct klic_ledger *l, const char *digest,
				const struct klic_request *req, const struct klic_response *resp,
				const struct klic_decision *d, int64_t now);

/* Inside the caller's write transaction: store the response of a request
 * that has none; *stored 0 when one was stored before (nothing changed). */
int klic_ledger_response_store(struct klic_ledger *l, int *stored, const char *digest,
			       const uint8_t *response, size_t len);

/* ---- renewals (ledger_issue.c; spec 5.3.4, spec/ledger-7.sql) -------------- */

/* The license license_id with its end, if any (*found 0: none). */
int klic_ledger_license_get(struct klic_ledger *l, struct klic_license_row *row, int *found,
			    const char *license_id);

/* Inside the caller's write transaction: license_id ends at `ended`
 * ("renewed" | "returned"), by the request or receipt by_digest. */
int klic_ledger_license_end(struct klic_ledger *l, const char *license_id, int64_t ended,
			    const char *reason, const char *by_digest);

/* ---- returns (ledger_return.c; spec 5.3.6, spec/ledger-8.sql) -------------- */

/* The receipt applied under digest: *found 0 when none, else *at when. */
int klic_ledger_return_find(struct klic_ledger *l, int *found, int64_t *at, const char *digest);

/* Inside the caller's write transaction: record the receipt's exact bytes
 * under digest, applied at `at`. */
int klic_ledger_return_insert(struct klic_ledger *l, const char *digest, const uint8_t *receipt,
			      size_t len, int64_t at);

/* ---- the seat report's queries (ledger_report.c) -------------------------- */

/* Per entitlement with licenses: licenses expiring within 7 and within 30
 * days of now, and all its licenses.  A non-zero return from fn stops and
 * is returned. */
typedef int (*klic_report_count_fn)(void *ctx, int64_t entitlement_id, int64_t exp7, int64_t exp30,
				    int64_t all);
int klic_ledger_report_counts(struct klic_ledger *l, int64_t now, klic_report_count_fn fn,
			      void *ctx);
/* The earliest issue and the latest expiry of all licenses; *any 0 when
 * there is no license. */
int klic_ledger_license_span(struct klic_ledger *l, int *any, int64_t *first_issued,
			     int64_t *last_expires);
/* Every license's entitlement, issue and expiry time, for fn (a non-zero
 * return stops and is returned). */
typedef int (*klic_report_period_fn)(void *ctx, int64_t entitlement_id, int64_t issued,
				     int64_t expires);
int klic_ledger_license_periods(struct klic_ledger *l, klic_report_period_fn fn, void *ctx);

/* ---- one page of the license list (ledger_report.c) ----------------------- */

/* How many rows klic_ledger_list gives for f. */
int klic_ledger_list_count(struct klic_ledger *l, const struct klic_list_filter *f, uint64_t *n);
/* Rows [offset, offset + limit) of those klic_ledger_list gives for f, in
 * its order, for fn (a non-zero return stops and is returned); total: what
 * klic_ledger_list_count said (a page in the far half is read from the
 * end).  Nothing when offset >= total. */
int klic_ledger_list_page(struct klic_ledger *l, const struct klic_list_filter *f, uint64_t total,
			  uint64_t offset, unsigned limit, klic_license_row_fn fn, void *ctx);

/* A long-lived reader (klic-admin serve): keep up to mib MiB of the
 * ledger's pages in this connection's memory as they are read (SQLite's
 * page cache; 2 MiB by default), so that a page of a large license list
 * walks its index in memory instead of reading it again from the file. */
int klic_ledger_read_cache(struct klic_ledger *l, unsigned mib);

/* ---- opening a request (request_open.c) --------------------------------- */

/* A request read from its file: the archive and its three members, the
 * parsed manifest and the manifest's digest (the request's name in the
 * ledger). */
struct klic_opened_request {
	struct klic_archive ar;
	const struct klic_member *man, *sig, *key; /* in ar */
	struct klic_request req;
	char digest[KLIC_SHA256_HEX_LEN + 1];
};

/* Steps 1-3 of spec 5.3: read path (bounded), open the strict archive,
 * find its members, parse the manifest, check that the embedded key is
 * the one the manifest's requester_key_sha256 names.  Who signed it is
 * the caller's step 4/5.  Call klic_opened_request_dispose() afterwards,
 * also on failure. */
int klic_request_open(struct klic_opened_request *o, const char *path);
void klic_opened_request_dispose(struct klic_opened_request *o);

/* ---- keyrings (admin.c, admin_vendor.c) --------------------------------- */

/* Stop any gpg-agent of the scratch GNUPGHOME dir and remove it. */
void klic_scratch_remove(const char *dir);

/* A scratch VERIFY_ONLY keyring under /tmp (dir: "/tmp/klic-XXXXXX",
 * filled in) holding only the public key key[0..keylen); *fpr its primary
 * fingerprint.  Free with klic_keyring_free(), then klic_scratch_remove(dir)
 * when dir[0] != '\0' (also on failure). */
int klic_scratch_keyring(struct klic_keyring **kr, char dir[32], char fpr[KLIC_FPR_HEX_LEN + 1],
			 const uint8_t *key, size_t keylen);

/* The vendor key file at path: exactly one public key (read in a scratch
 * keyring, never imported anywhere else); its primary fingerprint and its
 * armored minimal export (*out owned by the caller). */
int klic_vendor_key_load(char fpr[KLIC_FPR_HEX_LEN + 1], uint8_t **out, size_t *outlen,
			 const char *path);

/* Open a->members (<state>/members), making it on first use with the
 * registered members' public keys copied from the issuer's keyring. */
int klic_members_open(struct klic_admin *a);

/* Split a "Name <email>" user ID. */
void klic_uid_split(char *name, size_t namesz, char *email, size_t emailsz, const char *uid);

#endif
