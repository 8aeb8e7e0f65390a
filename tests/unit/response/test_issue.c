/* Unit tests for response/ issuing with real gpg keyrings in /tmp:
 * not-member denial (not recorded), idempotent re-issue (same bytes,
 * nothing spent), crash recovery (a spent request without a stored
 * response is rebuilt from the ledger rows with the same license IDs),
 * eligibility denials stored and repeated; the chain to the vendor: a
 * real vendor-signed .kent imported (idempotent, refused when it is not
 * this admin's), carried by every issued response with the issuer key;
 * requests verified in the members' keyring, which holds no secret key.
 * The engine comes from KLIC_TEST_LEDGER: unset, a SQLite ledger in each
 * test's state folder; a postgresql:// URL (tests/pg/with_pg.sh), that
 * database, emptied before each test and given to the admin as
 * $KLIC_LEDGER. */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "klic_armor.h"
#include "klic_members.h"
#include "klic_response.h"
#include "response_int.h"
#include "test_pg.h"

/* the PostgreSQL database of KLIC_TEST_LEDGER, or NULL: SQLite */
static const char *pg_url;

struct fx {
	char root[32];
	char state[64];
	char user[64];
	char user_fpr[KLIC_FPR_HEX_LEN + 1];
	char vendor[64];
	char vendor_fpr[KLIC_FPR_HEX_LEN + 1];
	struct klic_admin *a;
	struct klic_keyring *ukr, *vkr;
	struct klic_kent kent;
	struct klic_issue_result last;
	size_t reports;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Run argv (argv[0] from PATH) with stdin, stdout and stderr on
 * /dev/null; 0 when it exited 0. */
static int run_quiet(char *const argv[])
{
	pid_t pid = fork();
	int st = -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void kill_agent(const char *home)
{
	char h[256], gpgconf[] = "gpgconf", hd[] = "--homedir", kill[] = "--kill", all[] = "all";
	char *argv[] = {gpgconf, hd, h, kill, all, NULL};
	snprintf(h, sizeof h, "%s", home);
	(void)run_quiet(argv);
}

/* gpg --homedir home --batch --yes --delete-keys fpr; 0 when it did */
static int delete_key(const char *home, const char *fpr)
{
	char h[256], k[KLIC_FPR_HEX_LEN + 1], gpg[] = "gpg", hd[] = "--homedir", batch[] = "--batch",
							yes[] = "--yes", del[] = "--delete-keys";
	char *argv[] = {gpg, hd, h, batch, yes, del, k, NULL};
	snprintf(h, sizeof h, "%s", home);
	snprintf(k, sizeof k, "%s", fpr);
	return run_quiet(argv);
}

static int setup_fail(const char *what)
{
	fprintf(stderr, "setup: %s: %s\n", what, klic_error_detail());
	return -1;
}

/* A .kent signed by the unit vendor, written to root/NAME.kent. */
static int write_kent(struct fx *f, const char *name, const struct klic_kent *e)
{
	char *body = NULL, path[128];
	uint8_t *signed_ = NULL;
	size_t blen = 0, slen = 0;
	int r;

	snprintf(path, sizeof path, "%s/%s.kent", f->root, name);
	if ((r = klic_kent_body_build(&body, &blen, e)) == 0 &&
	    (r = klic_sign_clear(f->vkr, &signed_, &slen, f->vendor_fpr, (const uint8_t *)body,
				 blen)) == 0)
		r = klic_write_atomic(path, signed_, slen, 0644, 0);
	free(body);
	free(signed_);
	return r;
}

/* The vendor's key in root/vendor (exported to root/vendor.asc) and the
 * terms of the unit entitlement: 3 KRE node-locked yearly seats for
 * "Unit Org" naming issuer. */
static int make_vendor(struct fx *f)
{
	char path[128];
	uint8_t *key = NULL;
	size_t len = 0;
	int r;

	snprintf(f->vendor, sizeof f->vendor, "%s/vendor", f->root);
	snprintf(path, sizeof path, "%s/vendor.asc", f->root);
	if ((r = klic_keyring_open(&f->vkr, f->vendor, 1)) != 0 ||
	    (r = klic_key_generate(f->vkr, f->vendor_fpr, "Unit Vendor", "v@unit.invalid")) != 0 ||
	    (r = klic_key_export(f->vkr, &key, &len, f->vendor_fpr, 1)) != 0)
		return r;
	r = klic_write_atomic(path, key, len, 0644, 0);
	free(key);
	return r;
}

static void kent_terms(struct fx *f, const char *issuer)
{
	uint8_t id[16];
	struct klic_kent *e = &f->kent;

	memset(e, 0, sizeof *e);
	(void)klic_random(id, sizeof id);
	klic_hex(e->entitlement_id, id, sizeof id);
	snprintf(e->org, sizeof e->org, "Unit Org");
	snprintf(e->org_keys[0], sizeof e->org_keys[0], "%s", issuer);
	e->n_org_keys = 1;
	snprintf(e->product, sizeof e->product, "KRE");
	snprintf(e->model, sizeof e->model, KLIC_MODEL_NODE_LOCKED);
	snprintf(e->billing, sizeof e->billing, KLIC_BILLING_YEARLY);
	e->seats = 3;
	e->created = klic_now();
	e->valid_from = e->created - 3600;
	e->valid_until = e->created + 400 * 86400;
	snprintf(e->ref, sizeof e->ref, "unit");
	memcpy(e->vendor_fpr, f->vendor_fpr, sizeof e->vendor_fpr);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct klic_admin_init_opts o;
	char fpr[KLIC_FPR_HEX_LEN + 1], fpr2[KLIC_FPR_HEX_LEN + 1], vpath[128], kpath[128];
	struct klic_kent got;
	int64_t id;
	int added = 0;

	if (f == NULL)
		return -1;
	if (pg_url != NULL && test_pg_reset(pg_url) != 0) {
		free(f);
		return -1;
	}
	snprintf(f->root, sizeof f->root, "/tmp/klic-XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->state, sizeof f->state, "%s/admin", f->root);
	snprintf(f->user, sizeof f->user, "%s/user", f->root);
	*state = f;
	memset(&o, 0, sizeof o);
	o.state = f->state;
	o.org = "Unit Org";
	o.name = "Unit Admin";
	o.email = "admin@unit.invalid";
	snprintf(vpath, sizeof vpath, "%s/vendor.asc", f->root);
	if (make_vendor(f) != 0)
		return setup_fail("vendor key");
	if (klic_admin_init(fpr, &o) != KLIC_ERR_INVALID_ARG)
		return setup_fail("init without a vendor not refused");
	o.vendor = vpath;
	if (klic_admin_init(fpr, &o) != 0) {
		fprintf(stderr, "init: %s\n", klic_error_detail());
		return -1;
	}
	if (klic_admin_init(fpr2, &o) != KLIC_ERR_EXISTS)
		return setup_fail("re-init not refused");
	if (klic_admin_open(&f->a, f->state, NULL, NULL) != 0)
		return setup_fail("admin open");
	if (strcmp(f->a->issuer_fpr, fpr) != 0)
		return setup_fail("issuer fpr");
	if ((pg_url != NULL) != (klic_ledger_is_pg(f->a->ledger) != 0))
		return setup_fail("the ledger is not on the engine KLIC_TEST_LEDGER names");
	kent_terms(f, fpr);
	snprintf(kpath, sizeof kpath, "%s/unit.kent", f->root);
	if (write_kent(f, "unit", &f->kent) != 0 ||
	    klic_admin_entitlement_import(f->a, &got, &id, &added, kpath) != 0 || added != 1)
		return setup_fail("entitlement import");
	if (klic_keyring_open(&f->ukr, f->user, 1) != 0 ||
	    klic_key_generate(f->ukr, f->user_fpr, "Unit User", "user@unit.invalid") != 0)
		return setup_fail("user key");
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char g[96];
	klic_admin_free(f->a);
	klic_keyring_free(f->ukr);
	klic_keyring_free(f->vkr);
	snprintf(g, sizeof g, "%s/gnupg", f->state);
	kill_agent(g);
	kill_agent(f->user);
	kill_agent(f->vendor);
	nftw(f->root, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A signed request by the unit user; writes root/NAME.kreq, digest out. */
static void make_request(struct fx *f, const char *name, const char *product, unsigned seats,
			 char digest[KLIC_SHA256_HEX_LEN + 1])
{
	struct klic_request r;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	uint8_t *key = NULL, *sig = NULL, *bundle = NULL, nonce[32];
	size_t keylen = 0, siglen = 0, blen = 0, mlen = 0;
	char *man = NULL, path[128];

	memset(&r, 0, sizeof r);
	snprintf(r.product, sizeof r.product, "%s", product);
	r.seats = seats;
	assert_int_equal(
	    klic_machine_id_derive(r.machine_id, "0123456789abcdef0123456789abcdef\n", 33), 0);
	assert_int_equal(klic_random(nonce, sizeof nonce), 0);
	klic_hex(r.nonce, nonce, sizeof nonce);
	r.created = klic_now();
	memcpy(r.requester_fpr, f->user_fpr, sizeof r.requester_fpr);
	snprintf(r.hostname, sizeof r.hostname, "unit-host");
	assert_int_equal(klic_key_export(f->ukr, &key, &keylen, f->user_fpr, 0), 0);
	assert_int_equal(klic_sha256_hex(r.requester_key_sha256, key, keylen), 0);
	assert_int_equal(klic_request_manifest_build(&man, &mlen, &r), 0);
	assert_int_equal(klic_sha256_hex(digest, man, mlen), 0);
	assert_int_equal(
	    klic_sign_detached(f->ukr, &sig, &siglen, f->user_fpr, (uint8_t *)man, mlen), 0);
	assert_int_equal(klic_archive_add(&ar, "manifest.json", man, mlen), 0);
	assert_int_equal(klic_archive_add(&ar, "manifest.sig", sig, siglen), 0);
	assert_int_equal(klic_archive_add(&ar, "requester.pgp", key, keylen), 0);
	assert_int_equal(klic_archive_write(&bundle, &blen, &ar), 0);
	snprintf(path, sizeof path, "%s/%s.kreq", f->root, name);
	assert_int_equal(klic_write_atomic(path, bundle, blen, 0644, 0), 0);
	klic_archive_dispose(&ar);
	free(key);
	free(sig);
	free(bundle);
	free(man);
}

static void on_report(void *ctx, const struct klic_issue_result *r)
{
	struct fx *f = ctx;
	f->last = *r;
	f->reports++;
}

/* Issue root/NAME.kreq once, with verified (NULL: none) as the plan of an
 * earlier run; the outcome. */
static enum klic_issue_outcome issue_after(struct fx *f, const char *name,
					   const struct klic_issue_result *verified)
{
	struct klic_issue_opts o;
	struct klic_issue_tally t;
	char path[128], out[128];
	const char *paths[1] = {path};

	snprintf(path, sizeof path, "%s/%s.kreq", f->root, name);
	snprintf(out, sizeof out, "%s/out", f->root);
	memset(&o, 0, sizeof o);
	o.outdir = out;
	o.jobs = 1;
	o.report = on_report;
	o.ctx = f;
	o.verified = verified;
	o.n_verified = verified != NULL;
	f->reports = 0;
	assert_int_equal(klic_issue_batch(f->a, paths, 1, &o, &t), 0);
	assert_int_equal(f->reports, 1);
	return f->last.outcome;
}

static void issue_one(struct fx *f, const char *name)
{
	if (issue_after(f, name, NULL) == KLIC_OUTCOME_ERROR)
		fail_msg("%s: %s: %s", name, klic_strerror(f->last.err), f->last.detail);
}

static int count_cb(void *ctx, const struct klic_license_row *row)
{
	(void)row;
	(*(size_t *)ctx)++;
	return 0;
}

static size_t n_licenses(struct fx *f)
{
	struct klic_list_filter flt;
	size_t n = 0;
	memset(&flt, 0, sizeof flt);
	flt.now = klic_now();
	assert_int_equal(klic_ledger_list(f->a->ledger, &flt, count_cb, &n), 0);
	return n;
}

static uint8_t *read_out(struct fx *f, const char *name, size_t *len)
{
	char path[128];
	uint8_t *b = NULL;
	snprintf(path, sizeof path, "%s/out/%s.kresp", f->root, name);
	assert_int_equal(klic_read_file(&b, len, path, KLIC_MAX_BUNDLE_BYTES), 0);
	return b;
}

static void parse_resp(const uint8_t *b, size_t len, struct klic_response *resp,
		       struct klic_archive *ar)
{
	const struct klic_member *m;
	assert_int_equal(klic_archive_read(ar, KLIC_KIND_RESPONSE, b, len), 0);
	m = klic_archive_get(ar, "manifest.json");
	assert_non_null(m);
	assert_int_equal(klic_response_manifest_parse(resp, m->data, m->len), 0);
}

/* The license ID and file name of the first license in out/NAME.kresp. */
static void first_license(struct fx *f, const char *name, char id[33], const char *file_suffix)
{
	static struct klic_response lresp;
	struct klic_response resp;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	struct klic_lic_parts parts;
	struct klic_license lic;
	const struct klic_member *m;
	uint8_t *b;
	size_t l;

	b = read_out(f, name, &l);
	parse_resp(b, l, &resp, &ar);
	m = klic_archive_get(&ar, resp.lic[0].file);
	assert_non_null(m);
	assert_int_equal(klic_license_split(&parts, m->data, m->len), 0);
	assert_int_equal(klic_response_manifest_parse(&lresp, parts.body, parts.body_len), 0);
	assert_int_equal(klic_license_from_response(&lic, &lresp, m->name), 0);
	memcpy(id, lic.license_id, 33);
	if (file_suffix != NULL)
		/* r1's two active licenses hold the first two names of this
		 * machine: r2's license gets the third */
		assert_non_null(strstr(m->name, file_suffix));
	klic_archive_dispose(&ar);
	free(b);
}

/* An issued response carries the exact .kent and the issuer's key. */
static void check_chain(struct fx *f, const struct klic_response *resp)
{
	char path[128], b64[KLIC_MAX_ISSUER_KEY_B64 + 1];
	uint8_t *kent = NULL, *key = NULL;
	size_t klen = 0, keylen = 0;

	snprintf(path, sizeof path, "%s/unit.kent", f->root);
	assert_int_equal(klic_read_file(&kent, &klen, path, KLIC_MAX_KENT_BYTES), 0);
	assert_int_equal(resp->entitlement_len, klen);
	assert_memory_equal(resp->entitlement, kent, klen);
	assert_string_equal(resp->entitlement_id, f->kent.entitlement_id);
	assert_int_equal(klic_key_export(f->a->kr, &key, &keylen, f->a->issuer_fpr, 0), 0);
	assert_int_equal(klic_base64_encode(b64, sizeof b64, key, keylen), 0);
	assert_string_equal(resp->issuer_key, b64);
	assert_true(resp->expires <= f->kent.valid_until);
	assert_true(resp->expires <= resp->created + KLIC_LICENSE_DAYS * 86400);
	free(kent);
	free(key);
}

/* Not a member yet: a signed not-member denial, nothing recorded; then
 * registered from the same request. */
static void idempotent_not_member(struct fx *f, const char *d1)
{
	char fpr[41], uid[KLIC_MAX_UID_LEN + 1], path[128];
	struct klic_response resp;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	uint8_t *b1;
	size_t l1;
	int added = -1;

	issue_one(f, "r1");
	assert_int_equal(f->last.outcome, KLIC_OUTCOME_DENIED);
	assert_string_equal(f->last.reason_code, "not-member");
	b1 = read_out(f, "r1", &l1);
	parse_resp(b1, l1, &resp, &ar);
	assert_string_equal(resp.status, "denied");
	assert_string_equal(resp.reason_code, "not-member");
	assert_string_equal(resp.request_digest, d1);
	klic_archive_dispose(&ar);
	free(b1);
	assert_int_equal(n_licenses(f), 0);

	snprintf(path, sizeof path, "%s/r1.kreq", f->root);
	assert_int_equal(klic_admin_member_add_request(f->a, fpr, uid, &added, path), 0);
	assert_int_equal(added, 1);
	assert_string_equal(fpr, f->user_fpr);
}

/* Issued: 2 seats, 2 license rows; the same request again: the same
 * bytes, nothing spent. */
static void idempotent_issue_twice(struct fx *f)
{
	struct klic_response resp;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	uint8_t *b1, *b2;
	size_t l1, l2;

	issue_one(f, "r1");
	assert_int_equal(f->last.outcome, KLIC_OUTCOME_ISSUED);
	assert_int_equal(f->last.seats, 2);
	assert_int_equal(n_licenses(f), 2);
	b1 = read_out(f, "r1", &l1);
	parse_resp(b1, l1, &resp, &ar);
	assert_string_equal(resp.status, "issued");
	assert_int_equal(resp.n_licenses, 2);
	assert_non_null(klic_archive_get(&ar, resp.lic[1].file));
	check_chain(f, &resp);
	klic_archive_dispose(&ar);

	issue_one(f, "r1");
	assert_int_equal(f->last.outcome, KLIC_OUTCOME_REISSUED);
	assert_int_equal(f->last.rebuilt, 0);
	b2 = read_out(f, "r1", &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	assert_int_equal(n_licenses(f), 2);
	free(b1);
	free(b2);
}

/* Crash between the seat transaction and storing the response:
 * simulated by clearing the stored response (trigger dropped); the re-run
 * rebuilds it from the rows with the same license. */
static void idempotent_rebuild(struct fx *f, const char *d2)
{
	char id_before[33], id_after[33], sql[256];
	struct klic_db *db = NULL;

	issue_one(f, "r2");
	assert_int_equal(f->last.outcome, KLIC_OUTCOME_ISSUED);
	first_license(f, "r2", id_before, "_3.lic");
	assert_int_equal(klic_db_open(&db, pg_url != NULL ? pg_url : f->a->ledger_path, 0), 0);
	snprintf(sql, sizeof sql,
		 "DROP TRIGGER requests_response_once%s; UPDATE requests SET response = NULL "
		 "WHERE digest = '%s';",
		 pg_url != NULL ? " ON requests" : "", d2);
	assert_int_equal(klic_db_exec(db, sql), 0);
	klic_db_close(db);
	issue_one(f, "r2");
	assert_int_equal(f->last.outcome, KLIC_OUTCOME_REISSUED);
	assert_int_equal(f->last.rebuilt, 1);
	assert_int_equal(n_licenses(f), 3);
	first_license(f, "r2", id_after, NULL);
	assert_string_equal(id_after, id_before);
}

/* All 3 seats used: a stored no-seats denial, repeated as is. */
static void idempotent_stored_denial(struct fx *f)
{
	uint8_t *b2, *b3;
	size_t l2, l3;

	issue_one(f, "r3");
	assert_int_equal(f->last.outcome, KLIC_OUTCOME_DENIED);
	assert_string_equal(f->last.reason_code, "no-seats");
	b3 = read_out(f, "r3", &l3);
	issue_one(f, "r3");
	assert_int_equal(f->last.outcome, KLIC_OUTCOME_REISSUED);
	assert_string_equal(f->last.status, "denied");
	b2 = read_out(f, "r3", &l2);
	assert_int_equal(l2, l3);
	assert_memory_equal(b2, b3, l3);
	free(b2);
	free(b3);
	assert_int_equal(n_licenses(f), 3);
}

static void test_issue_idempotent_and_rebuild(void **state)
{
	struct fx *f = *state;
	char d1[65], d2[65], d3[65];
	int64_t rows = 0, bad = 0;

	make_request(f, "r1", "KRE", 2, d1);
	idempotent_not_member(f, d1);
	idempotent_issue_twice(f);
	make_request(f, "r2", "KRE", 1, d2);
	idempotent_rebuild(f, d2);
	make_request(f, "r3", "KRE", 1, d3);
	idempotent_stored_denial(f);

	assert_int_equal(klic_ledger_audit_verify(f->a->ledger, &rows, &bad), 0);
	assert_true(rows >= 7);
}

static void test_issuer_never_member(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len = 0;
	char path[128], fpr[41], uid[KLIC_MAX_UID_LEN + 1];
	int added = -1;

	assert_int_equal(klic_admin_export_key(f->a, &key, &len), 0);
	snprintf(path, sizeof path, "%s/issuer.asc", f->root);
	assert_int_equal(klic_write_atomic(path, key, len, 0644, 0), 0);
	free(key);
	assert_int_equal(klic_admin_member_add_key(f->a, fpr, uid, &added, path),
			 KLIC_ERR_SIG_WRONG_KEY);
	assert_int_equal(klic_ledger_is_member(f->a->ledger, f->a->issuer_fpr), KLIC_ERR_NOT_FOUND);
}

/* Import: the same file again changes nothing; refused (ledger unchanged)
 * when it names another key, another org, has ended, or is tampered with;
 * a not-yet-started one imports but issues nothing. */
static void import_expect(struct fx *f, const char *name, int code)
{
	char path[128];
	struct klic_kent got;
	int64_t id = 0, rows0 = 0, rows1 = 0, bad = 0;
	int added = -1;

	snprintf(path, sizeof path, "%s/%s.kent", f->root, name);
	assert_int_equal(klic_ledger_audit_verify(f->a->ledger, &rows0, &bad), 0);
	assert_int_equal(klic_admin_entitlement_import(f->a, &got, &id, &added, path), code);
	assert_int_equal(klic_ledger_audit_verify(f->a->ledger, &rows1, &bad), 0);
	assert_int_equal(rows1, rows0 + (code == 0 && added == 1));
}

static void test_import(void **state)
{
	struct fx *f = *state;
	struct klic_kent e = f->kent;
	struct klic_entitlement *ents = NULL;
	struct klic_decision d;
	char path[128];
	size_t n = 0;
	FILE *fp;

	import_expect(f, "unit", 0); /* again: already imported */
	snprintf(e.org_keys[0], sizeof e.org_keys[0], "%s", f->vendor_fpr);
	assert_int_equal(write_kent(f, "otherkey", &e), 0);
	import_expect(f, "otherkey", KLIC_ERR_NOT_ENTITLED);
	e = f->kent;
	snprintf(e.org, sizeof e.org, "Other Org");
	assert_int_equal(write_kent(f, "otherorg", &e), 0);
	import_expect(f, "otherorg", KLIC_ERR_NOT_ENTITLED);
	e = f->kent;
	e.valid_from -= 800 * 86400;
	e.valid_until = klic_now() - 1;
	assert_int_equal(write_kent(f, "ended", &e), 0);
	import_expect(f, "ended", KLIC_ERR_NOT_ENTITLED);
	e = f->kent;
	e.seats = 4; /* same entitlement_id, another document */
	assert_int_equal(write_kent(f, "sameid", &e), 0);
	import_expect(f, "sameid", KLIC_ERR_EXISTS);
	snprintf(path, sizeof path, "%s/garbage.kent", f->root);
	assert_non_null(fp = fopen(path, "w"));
	fputs("not an entitlement\n", fp);
	fclose(fp);
	import_expect(f, "garbage", KLIC_ERR_LICENSE_FORMAT);
	/* not yet started: imported, but nothing is issued from it */
	kent_terms(f, f->a->issuer_fpr);
	f->kent.product[1] = 'S'; /* KSE */
	f->kent.valid_from = klic_now() + 86400;
	assert_int_equal(write_kent(f, "later", &f->kent), 0);
	import_expect(f, "later", 0);
	assert_int_equal(klic_ledger_entitlements(f->a->ledger, &ents, &n, "KSE", klic_now()), 0);
	assert_int_equal(n, 1);
	assert_int_equal(klic_eligibility_decide(&d, ents, n, "KSE", 1, klic_now()), 0);
	assert_int_equal(d.issue, 0);
	assert_string_equal(d.reason_code, "no-entitlement");
	assert_int_equal(klic_eligibility_decide(&d, ents, n, "KSE", 1, klic_now() + 2 * 86400), 0);
	assert_int_equal(d.issue, 1);
	free(ents);
}

/* The members' keyring holds public keys only: no secret key there. */
static int keep_plan(void *ctx, const struct klic_issue_result *plan, size_t n, unsigned total)
{
	(void)total;
	assert_int_equal(n, 1);
	*(struct klic_issue_result *)ctx = plan[0];
	return KLIC_ERR_DENIED; /* a preview: nothing spent */
}


/* A request root/NAME.kreq by the unit user, the user made a member from
 * it, then a preview of it (the plan kept, nothing spent). */
static void member_preview(struct fx *f, const char *name, char digest[KLIC_SHA256_HEX_LEN + 1],
			   struct klic_issue_result *plan)
{
	struct klic_issue_opts o;
	struct klic_issue_tally t;
	char fpr[KLIC_FPR_HEX_LEN + 1], uid[KLIC_MAX_UID_LEN + 1], path[128], out[128];
	const char *paths[1] = {path};
	int added = 0;

	make_request(f, name, "KRE", 1, digest);
	snprintf(path, sizeof path, "%s/%s.kreq", f->root, name);
	snprintf(out, sizeof out, "%s/out", f->root);
	assert_int_equal(klic_admin_member_add_request(f->a, fpr, uid, &added, path), 0);
	memset(&o, 0, sizeof o);
	memset(plan, 0, sizeof *plan);
	o.outdir = out;
	o.jobs = 1;
	o.confirm = keep_plan;
	o.confirm_always = 1;
	o.ctx = plan;
	assert_int_equal(klic_issue_batch(f->a, paths, 1, &o, &t), KLIC_ERR_DENIED);
	assert_int_equal(plan->member_signed, 1);
	assert_string_equal(plan->digest, digest);
}

/* The web console's preview, then its confirmation (klic_issue_opts.
 * verified): the same bytes are not verified by gpg again, but a member
 * removed meanwhile is denied, and other bytes are verified in full. */
static void test_verified_by_preview(void **state)
{
	struct fx *f = *state;
	struct klic_issue_result plan;
	char d1[KLIC_SHA256_HEX_LEN + 1], d2[KLIC_SHA256_HEX_LEN + 1], d3[65];
	char uid[KLIC_MAX_UID_LEN + 1];

	/* a member removed after the preview: denied not-member, nothing spent
	 * (in the same process: the members' keyring is opened again) */
	member_preview(f, "p4", d2, &plan);
	assert_int_equal(klic_admin_member_remove(f->a, uid, f->user_fpr, NULL, NULL), 0);
	assert_int_equal(issue_after(f, "p4", &plan), KLIC_OUTCOME_DENIED);
	assert_string_equal(f->last.reason_code, "not-member");
	assert_int_equal(n_licenses(f), 0);

	/* the preview: the member's signature verified, its digest kept */
	member_preview(f, "p1", d1, &plan);
	assert_int_equal(n_licenses(f), 0);
	/* the member's key gone from the members' keyring, still a member in
	 * the ledger: with the preview's plan the same bytes are issued; on
	 * SQLite, without it the signature cannot be checked (on PostgreSQL a
	 * ledger member's embedded key is accepted: issue.c, step 5) */
	assert_int_equal(delete_key(klic_keyring_home(f->a->members), f->user_fpr), 0);
	if (pg_url == NULL) {
		make_request(f, "p2", "KRE", 1, d2);
		assert_int_not_equal(issue_after(f, "p2", NULL), KLIC_OUTCOME_ISSUED);
		assert_int_equal(n_licenses(f), 0);
	}
	assert_int_equal(issue_after(f, "p1", &plan), KLIC_OUTCOME_ISSUED);
	assert_string_equal(f->last.digest, d1);
	/* other bytes under the previewed name: a new request, verified in
	 * full (on SQLite refused: the key is gone) */
	make_request(f, "p1", "KRE", 1, d3);
	assert_string_not_equal(d3, d1);
	(void)issue_after(f, "p1", &plan);
	assert_string_equal(f->last.digest, d3);
	if (pg_url == NULL)
		assert_int_not_equal(f->last.outcome, KLIC_OUTCOME_ISSUED);
}

static void test_members_keyring(void **state)
{
	struct fx *f = *state;
	char fpr[41];
	uint8_t *key = NULL;
	size_t len = 0;

	assert_int_equal(klic_key_secret_fpr(f->a->members, fpr), KLIC_ERR_NOT_FOUND);
	assert_int_equal(klic_key_export(f->a->members, &key, &len, f->a->issuer_fpr, 0),
			 KLIC_ERR_NOT_FOUND);
	free(key);
	assert_string_not_equal(klic_keyring_home(f->a->members), klic_keyring_home(f->a->kr));
}

int main(void)
{
	pg_url = test_pg_url();
	if (pg_url != NULL && setenv("KLIC_LEDGER", pg_url, 1) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_members_keyring, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_idempotent_and_rebuild, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issuer_never_member, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verified_by_preview, setup, teardown),
	};
	if (klic_keys_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
