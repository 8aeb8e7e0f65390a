/* klic — the admin side: the ledger (SQLite), eligibility, issuing licenses
 * and building responses (spec/PROTOCOL.md 5.3, 5.6; schema spec/ledger.sql).
 * Library code: never prints, never prompts, never exits.  Every function
 * returns 0 or a negative KLIC_ERR_* code with a detail (klic_error_set). */
#ifndef KLIC_RESPONSE_H
#define KLIC_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"
#include "klic_error.h"
#include "klic_keys.h"
#include "klic_util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_LEDGER_VERSION 10 /* PRAGMA user_version this code writes */
#define KLIC_LICENSE_DAYS 60  /* offline license lifetime */
#define KLIC_LEDGER_FILE "ledger.sqlite"
#define KLIC_GNUPG_DIR "gnupg"
#define KLIC_MEMBERS_DIR "members"    /* public keys of the members (verification only) */
#define KLIC_VENDOR_FILE "vendor.asc" /* the pinned vendor's public key */
/* A shared (PostgreSQL) ledger: this admin's issuer key fingerprint and
 * GNUPGHOME (the ledger's meta holds those of the admin who made it). */
#define KLIC_ISSUER_FILE "issuer_fpr"
#define KLIC_GNUPGHOME_FILE "gnupghome"
/* The ledger to use instead of <state>/ledger.sqlite (klic-admin --ledger):
 * a postgresql:// or postgres:// URL, or a SQLite path. */
#define KLIC_LEDGER_ENV "KLIC_LEDGER"

/* ---- ledger ------------------------------------------------------------- */
struct klic_ledger;

/* Where the ledger of state is: $KLIC_LEDGER when set and not empty, else
 * <state>/ledger.sqlite. */
int klic_ledger_where(char *out, size_t outsz, const char *state);
/* The ledger at where as it may be shown: a SQLite path as it is, a
 * PostgreSQL URL as "ledger postgresql://user@host:port/db" (never its
 * password). */
void klic_ledger_display(char *out, size_t outsz, const char *where);
/* Copy every row of from into the empty ledger to (ledger migrate, spec/
 * LEDGER.md), in one transaction of to: the audit chain and the seat
 * counters are verified on from (one snapshot) and on to before its
 * commit.  KLIC_ERR_EXISTS when to holds any row.  *rows: rows copied;
 * *audit_rows: the chain's length. */
int klic_ledger_copy(struct klic_ledger *to, struct klic_ledger *from, int64_t *rows,
		     int64_t *audit_rows);

#define KLIC_LEDGER_CREATE 0x1 /* create the file and apply every migration */

/* Open (or with KLIC_LEDGER_CREATE create) the ledger at path: WAL,
 * foreign_keys=ON, busy_timeout 10 s, synchronous=FULL; applies pending
 * migrations.  A ledger whose user_version is newer than
 * KLIC_LEDGER_VERSION, or 0 when not creating, is refused (KLIC_ERR_LEDGER).
 * Without the flag a missing file is KLIC_ERR_NOT_FOUND. */
int klic_ledger_open(struct klic_ledger **out, const char *path, int flags);
void klic_ledger_free(struct klic_ledger *l);

/* Schema version stored in the file. */
int klic_ledger_version(struct klic_ledger *l, int *out);

/* meta(key) into out (NUL-terminated); KLIC_ERR_NOT_FOUND when absent. */
int klic_ledger_meta_get(struct klic_ledger *l, const char *key, char *out, size_t outsz);
int klic_ledger_meta_set(struct klic_ledger *l, const char *key, const char *value);

/* The renewal window (spec 5.3.4): a license may be renewed in the last
 * *days days before it expires; meta KLIC_META_RENEW_WINDOW, default 14. */
#define KLIC_META_RENEW_WINDOW "renew_window_days"
#define KLIC_RENEW_WINDOW_DEFAULT 14
#define KLIC_RENEW_WINDOW_MAX 59
int klic_ledger_renew_window(struct klic_ledger *l, unsigned *days);
/* klic-admin policy --renew-window DAYS (1-59): stored in meta with a
 * 'policy' audit row, in one transaction; *changed 0 when it already was
 * DAYS (nothing written). */
int klic_ledger_renew_window_set(struct klic_ledger *l, int *changed, unsigned days, int64_t now);

/* Run one statement list (tests and init); no result rows. */
int klic_ledger_exec(struct klic_ledger *l, const char *sql);
/* A read command's one snapshot (PostgreSQL REPEATABLE READ READ ONLY,
 * SQLite BEGIN DEFERRED), ended by klic_ledger_read_end. */
int klic_ledger_begin_read(struct klic_ledger *l);
void klic_ledger_read_end(struct klic_ledger *l);

/* ---- entitlements ------------------------------------------------------- */
struct klic_entitlement {
	int64_t id;
	char product[4];
	char model[16];  /* "node-locked" | "floating" */
	char billing[8]; /* "yearly" | "monthly" */
	unsigned seats;
	char until[11];     /* YYYY-MM-DD: last day of validity (UTC) */
	int64_t valid_from; /* start of the period (0: a hand-typed row of schema 1-3) */
	int64_t until_end;  /* end of the period, exclusive: the .kent's valid_until
			     * (hand-typed rows: 00:00:00Z of the day after `until`) */
	char kent_id[33];   /* the .kent's entitlement_id; "" for a hand-typed row,
			     * from which nothing is issued any more */
	char ref[KLIC_MAX_TEXT_LEN + 1];
	char created[KLIC_TIME_LEN + 1];
	unsigned used; /* licenses of this entitlement not yet expired at `now` */
};

/* Record a vendor entitlement already verified (klic_admin_entitlement_import
 * judges it): its fields and its exact text[0..len), with an audit row
 * (event entitlement-add, detail "import <kent_id> ...").  Idempotent:
 * *added 0 and the existing row's id when the same text was imported
 * before; KLIC_ERR_EXISTS when another document has the same
 * entitlement_id (nothing changed). */
int klic_ledger_entitlement_import(struct klic_ledger *l, int *added, int64_t *id_out,
				   const struct klic_kent *e, const char *text, size_t len,
				   int64_t now);
/* The row id of the entitlement kent_id (KLIC_ERR_NOT_FOUND when absent). */
int klic_ledger_entitlement_find(struct klic_ledger *l, int64_t *id_out, const char *kent_id);
/* The .kent text (NUL-terminated, len bytes) and entitlement_id of row id;
 * KLIC_ERR_LEDGER when the row has none (hand-typed) or is missing. */
int klic_ledger_entitlement_kent(struct klic_ledger *l, char kent_id[33], char *text, size_t textsz,
				 size_t *len, int64_t id);

/* All entitlements (product NULL) or one product's, with `used` at now.
 * *out is a malloc'ed array (free()). */
int klic_ledger_entitlements(struct klic_ledger *l, struct klic_entitlement **out, size_t *n,
			     const char *product, int64_t now);

/* ---- members ------------------------------------------------------------- */
/* Insert (idempotent: *added = 0 when already present) with an audit row. */
int klic_ledger_member_add(struct klic_ledger *l, int *added, const char *fpr, const char *name,
			   const char *email, int64_t now);
/* Calls fn with each member's fingerprint (a non-zero return stops and is
 * returned). */
int klic_ledger_members(struct klic_ledger *l, int (*fn)(void *ctx, const char *fpr), void *ctx);
/* 0 when fpr is a registered member, KLIC_ERR_NOT_FOUND when not. */
int klic_ledger_is_member(struct klic_ledger *l, const char *fpr);
/* The user ID "name <email>" of member fpr into uid ("" when not a member). */
int klic_ledger_member_name(struct klic_ledger *l, char *uid, size_t uidsz, const char *fpr);

/* ---- audit --------------------------------------------------------------- */
/* Append one hash-chained row; must run inside the caller's write
 * transaction (or alone).  Text fields that are not printable are stored
 * with '?' for each offending byte. */
int klic_ledger_audit_append(struct klic_ledger *l, int64_t now, const char *event,
			     const char *digest, const char *detail);
/* Recompute the chain.  0 with *rows = number of rows when intact; else
 * KLIC_ERR_LEDGER with *bad_seq = the first broken row. */
int klic_ledger_audit_verify(struct klic_ledger *l, int64_t *rows, int64_t *bad_seq);

/* Within the caller's write transaction: record, for every entitlement
 * of `product`, the seats used at `now` (entitlement_usage,
 * spec/ledger-3.sql), so later counts only look at licenses expiring
 * after `now`. */
int klic_ledger_usage_refresh(struct klic_ledger *l, const char *product, int64_t now);

/* Recount every entitlement_usage row from the licenses (the counter the
 * free-seat count relies on).  0 when all agree, else KLIC_ERR_LEDGER
 * naming the first entitlement whose counter is wrong. */
int klic_ledger_usage_verify(struct klic_ledger *l, int64_t *rows);

/* ---- licenses issued ------------------------------------------------------ */

/* A new license ID (spec/PROTOCOL.md 1): the current time in milliseconds
 * since the Unix epoch as 6 big-endian bytes, then 10 bytes from the CSPRNG;
 * 32 lower-case hex characters into out.  Time first, so that the ledger's
 * index of license IDs grows at its end instead of at a random page. */
int klic_license_id_new(char out[33]);

struct klic_license_row {
	char license_id[33];
	char product[4];
	char machine_id[KLIC_MACHINE_ID_LEN + 1];
	char member_fpr[KLIC_FPR_HEX_LEN + 1];
	char request_digest[KLIC_SHA256_HEX_LEN + 1];
	unsigned seat;
	char file[KLIC_MAX_NAME_LEN + 1]; /* the .lic name it is installed under */
	int64_t issued, expires;
	int64_t entitlement_id;
	int64_t ended;      /* when it ended before it expired (spec/ledger-7.sql), 0: not */
	char end_reason[9]; /* "renewed" | "returned" | "" */
	char issuer_fpr[KLIC_FPR_HEX_LEN + 1]; /* the key that signed it; "": before schema 10 */
};

struct klic_list_filter {
	const char *product, *machine_id, *member_fpr; /* NULL: any */
	int active; /* 1: holding a seat at now only (expires > now, not ended);
		     * -1: the others only; 0: all */
	int64_t now;
};

/* Calls fn for each license row (ordered by issued, license_id); a non-zero
 * return from fn stops and is returned. */
typedef int (*klic_license_row_fn)(void *ctx, const struct klic_license_row *row);
int klic_ledger_list(struct klic_ledger *l, const struct klic_list_filter *f,
		     klic_license_row_fn fn, void *ctx);

/* ---- eligibility (pure; spec 5.3.1) --------------------------------------- */
struct klic_decision {
	int issue; /* 1: issue from entitlement_id; 0: deny */
	int64_t entitlement_id;
	int64_t expires;      /* issue: license expiry */
	char reason_code[32]; /* deny */
	char reason[KLIC_MAX_TEXT_LEN + 1];
};

/* Decide for `seats` of `product` at `now` among ents[0..n) (the product's
 * entitlements with `used` at now).  Only vendor entitlements (kent_id set)
 * in force at now (valid_from <= now < until_end) can issue.  Always
 * succeeds for valid input. */
int klic_eligibility_decide(struct klic_decision *out, const struct klic_entitlement *ents,
			    size_t n, const char *product, unsigned seats, int64_t now);

/* A renewal (spec 5.3.4): the request names req->n_renews licenses; old[i]
 * is the ledger's row of req->renews[i] when found[i].  Decided instead of
 * eligibility, in order: renewal-unknown, renewal-not-yours,
 * renewal-inactive, renewal-too-early (now < expires - window_days), then
 * the licenses' one entitlement among ents[0..n) (malformed-request when
 * they draw on several; entitlement-expired when it has ended).  Granted:
 * out->issue, the old licenses' entitlement, expires min(now + 60 days,
 * its end); no seat is counted (the seats carry over).  Always succeeds
 * for valid input. */
int klic_renewal_decide(struct klic_decision *out, const struct klic_request *req,
			const struct klic_license_row *old, const int *found,
			unsigned window_days, const struct klic_entitlement *ents, size_t n,
			int64_t now);

/* min(now + 60 days, until_end) (until_end: the entitlement's valid_until). */
int64_t klic_license_expiry(int64_t now, int64_t until_end);

/* Request semantics (step 6): 0, or fills a malformed-request denial and
 * returns 1. */
int klic_request_semantics(struct klic_decision *out, const struct klic_request *r);

/* ---- the admin state ------------------------------------------------------ */
struct klic_admin {
	char state[4096];
	char ledger_path[4096];  /* the ledger as shown (klic_ledger_display) */
	char ledger_where[4096]; /* the ledger as opened (path or URL) */
	char gnupghome[4096];
	char org[KLIC_MAX_TEXT_LEN + 1];
	char issuer_fpr[KLIC_FPR_HEX_LEN + 1];
	char vendor_fpr[KLIC_FPR_HEX_LEN + 1]; /* "" when no vendor is pinned (a ledger
						* made before protocol version 2) */
	const char *passphrase_file;           /* borrowed, may be NULL */
	struct klic_ledger *ledger;
	struct klic_keyring *kr;      /* the issuer's GNUPGHOME: signing only */
	struct klic_keyring *members; /* <state>/members: the members' public keys,
				       * where requests are verified (no secret key) */
};

/* State directory: opt (--state) > $KLIC_ADMIN_HOME > ~/.local/share/klic-admin. */
int klic_admin_state_dir(char *out, size_t outsz, const char *opt);

struct klic_admin_init_opts {
	const char *state;           /* resolved state dir */
	const char *gnupghome;       /* NULL: <state>/gnupg */
	const char *passphrase_file; /* NULL: none */
	const char *org, *name, *email;
	const char *key_fpr; /* NULL: generate; else adopt this secret key */
	const char *vendor;  /* the vendor's public key file (required) */
};
/* Create the ledger and the issuer key and pin the vendor (its key, one
 * public key, stored as <state>/vendor.asc and its primary fingerprint in
 * meta vendor_fpr; it is never imported into the issuer's keyring);
 * refuses an existing ledger (KLIC_ERR_EXISTS).  On failure no ledger file
 * is left behind. */
int klic_admin_init(char fpr_out[KLIC_FPR_HEX_LEN + 1], const struct klic_admin_init_opts *o);

/* Open the state (ledger + keyrings).  gnupghome NULL: the one recorded at
 * init, else <state>/gnupg.  The members' keyring <state>/members is made
 * on first use (a ledger older than protocol version 2: the registered
 * members' public keys are copied there from the issuer's keyring). */
int klic_admin_open(struct klic_admin **out, const char *state, const char *gnupghome,
		    const char *passphrase_file);
void klic_admin_free(struct klic_admin *a);

/* klic-admin ledger migrate --to: copy the ledger of state (klic_ledger_where)
 * into the empty ledger at to (klic_ledger_copy; its schema is made when the
 * database is empty) and, for a PostgreSQL target, record this admin's issuer
 * key and GNUPGHOME in the state folder.  *shown the target as it may be
 * shown. */
int klic_admin_ledger_migrate(const char *state, const char *to, int64_t *rows,
			      int64_t *audit_rows, char *shown, size_t shownsz);

/* Armored issuer public key.  *out owned by the caller. */
int klic_admin_export_key(struct klic_admin *a, uint8_t **out, size_t *outlen);

/* Register a member from a public key file (binary or armored), or from a
 * request whose signature verifies with its own embedded key.  Refuses the
 * issuer's key.  fpr/uid of the key; *added 0 when already a member. */
int klic_admin_member_add_key(struct klic_admin *a, char fpr[KLIC_FPR_HEX_LEN + 1],
			      char uid[KLIC_MAX_UID_LEN + 1], int *added, const char *path);
int klic_admin_member_add_request(struct klic_admin *a, char fpr[KLIC_FPR_HEX_LEN + 1],
				  char uid[KLIC_MAX_UID_LEN + 1], int *added, const char *path);

/* Pin the vendor of a ledger that has none (made before protocol version
 * 2): the same checks and files as init --vendor.  KLIC_ERR_EXISTS when a
 * vendor is pinned already. */
int klic_admin_vendor_set(struct klic_admin *a, const char *path);
/* audit verify: every imported entitlement row against its stored .kent,
 * whose vendor signature is checked again with the pinned vendor key; a
 * row whose fields differ from the signed text (edited by hand) is
 * KLIC_ERR_LEDGER naming the row and field.  *rows: rows checked;
 * *unsigned_rows: hand-typed rows of schema 1-3 (no .kent to check). */
int klic_admin_entitlements_verify(struct klic_admin *a, int64_t *rows, int64_t *unsigned_rows);

/* Import the vendor entitlement in the file at path: its vendor signature
 * (only the pinned vendor key, in a scratch keyring), it names this
 * admin's issuer key, its org is this ledger's, it has not ended.  *e the
 * entitlement; *added 0 when it was imported before (same document). */
int klic_admin_entitlement_import(struct klic_admin *a, struct klic_kent *e, int64_t *id,
				  int *added, const char *path);

/* Make a scratch GNUPGHOME under /tmp holding only `key` and verify
 * sig over data by exactly `expected_fpr` with it; the scratch directory is
 * removed afterwards.  (Step 5 of 5.3, member add --from-request.) */
int klic_verify_with_embedded_key(const uint8_t *key, size_t keylen, const char *expected_fpr,
				  const uint8_t *sig, size_t siglen, const uint8_t *data,
				  size_t len);

/* ---- issuing (spec 5.3) ---------------------------------------------------- */
enum klic_issue_outcome {
	KLIC_OUTCOME_ERROR = 0,
	KLIC_OUTCOME_ISSUED,
	KLIC_OUTCOME_DENIED,
	KLIC_OUTCOME_REISSUED,
};

struct klic_issue_result {
	const char *path;    /* the request file (borrowed) */
	char out_path[4096]; /* the .kresp written ("" on error) */
	enum klic_issue_outcome outcome;
	int err;          /* KLIC_ERR_* when outcome is ERROR */
	char detail[512]; /* error detail */
	char status[8];   /* issued | denied (also for re-issues) */
	char member_fpr[KLIC_FPR_HEX_LEN + 1];
	char member_uid[KLIC_MAX_UID_LEN + 1]; /* plan: the member's user ID (from the ledger) */
	char machine_id[KLIC_MACHINE_ID_LEN + 1];
	char product[4];
	unsigned seats; /* issued: granted; denied: asked */
	unsigned spend; /* plan: seats this request would spend */
	char reason_code[32];
	char reason[KLIC_MAX_TEXT_LEN + 1];
	int rebuilt; /* re-issue rebuilt from the ledger rows */
	int renewal; /* the request renews licenses (spec 5.3.4): no seat spent */
	char digest[KLIC_SHA256_HEX_LEN + 1]; /* the request's (once it was read) */
	int member_signed; /* its signature was verified as a registered member's */
};

/* The report line of `klic-admin issue` (and of the web console) for an
 * answered request (outcome ISSUED, DENIED or REISSUED), without a newline:
 * "OK   PATH -> OUT: issued 2 KRE seat(s) to FPR machine ID" and so on.
 * path and out are shown as given (make them printable first).  Returns 0,
 * or -1 for an ERROR outcome (the caller words those: nothing written). */
int klic_issue_result_line(char *buf, size_t bufsz, const struct klic_issue_result *r,
			   const char *path, const char *out);

struct klic_issue_tally {
	size_t issued, denied, reissued, errors;
	/* not empty when the gpg worker program (klic_issue_worker_program)
	 * was there but did not start: why (the batch then ran with forked gpg
	 * workers; a broken installation, worth a warning) */
	char worker_warning[512];
};

/* Shown before spending: plan[0..n) (spend > 0 for those that would
 * spend seats).  Return 0 to proceed, or a KLIC_ERR_* code to stop with
 * nothing done. */
typedef int (*klic_issue_confirm_fn)(void *ctx, const struct klic_issue_result *plan, size_t n,
				     unsigned total_seats);
/* Called once per request, in input order, from any thread (serialized). */
typedef void (*klic_issue_report_fn)(void *ctx, const struct klic_issue_result *r);

struct klic_issue_opts {
	const char *outdir;  /* NULL: "." */
	const char *outfile; /* one request only: its response file (outdir ignored) */
	unsigned jobs;       /* jobs (threads) at once, 1..8 (0: three per online CPU, at most 8) */
	klic_issue_confirm_fn confirm; /* NULL: no confirmation (--yes) */
	klic_issue_report_fn report;
	void *ctx;
	int armor;          /* 1: write each .kresp as ASCII armor (spec/ARMOR.md) */
	int confirm_always; /* 1: call confirm even when no seat would be spent (a preview) */
	/* The plan of an earlier run of this process over the same files (the
	 * web console's preview, then its confirmation): a request whose bytes
	 * have the digest of an entry with member_signed is not verified by
	 * gpg again; that its signer is still a member is checked again. */
	const struct klic_issue_result *verified;
	size_t n_verified;
};

/* The gpg worker program klic-keys-worker that `issue` starts (keys/
 * workers.c): KLIC_WORKER_REL from the directory of this executable, as
 * installed and in the build tree.  0 with its real path in buf (size at
 * least PATH_MAX), or -1 when there is none (the workers are then forks of
 * klic-admin, which cost more per gpg process). */
int klic_issue_worker_program(char *buf, size_t size);

/* Answer every request in paths[0..n).  Returns 0 when it ran (per-request
 * errors are in the tally), or the confirm callback's code / a setup
 * error, in which case nothing was spent. */
int klic_issue_batch(struct klic_admin *a, const char *const *paths, size_t n,
		     const struct klic_issue_opts *o, struct klic_issue_tally *tally);

#ifdef __cplusplus
}
#endif
#endif
