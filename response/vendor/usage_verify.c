/* klic-vendor — the true-up of an organization's usage export (.kusage):
 * who signed it, the audit chain, each license tied to its audit row, and
 * the peak seats in use per entitlement.  The offline checks of a product
 * see one machine at a time; only this count over the organization's whole
 * ledger can tell that more seats were used than were sold. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "klic_armor.h"
#include "klic_usage.h"
#include "klic_vendor.h"

void klic_vendor_usage_report_dispose(struct klic_vendor_usage_report *rep)
{
	if (rep == NULL)
		return;
	free(rep->ents);
	free(rep->findings);
	memset(rep, 0, sizeof(*rep));
}

/* Record one finding (a printable line). */
__attribute__((format(printf, 2, 3))) static int finding(struct klic_vendor_usage_report *rep,
							 const char *fmt, ...)
{
	char raw[KLIC_VENDOR_FINDING_LEN];
	va_list ap;

	if (rep->n_findings == rep->cap_findings) {
		size_t cap = rep->cap_findings ? rep->cap_findings * 2 : 16;
		void *p = realloc(rep->findings, cap * sizeof(*rep->findings));
		if (p == NULL)
			return klic_error_set(KLIC_ERR_NOMEM, "usage findings");
		rep->findings = p;
		rep->cap_findings = cap;
	}
	va_start(ap, fmt);
	(void)vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	klic_printable_copy(rep->findings[rep->n_findings++], KLIC_VENDOR_FINDING_LEN, raw,
			    SIZE_MAX);
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	(void)remove(path);
	return 0;
}

static int allow_issuer(void *ctx, const char *fpr)
{
	const char *want = ctx;

	if (strcmp(fpr, want) == 0)
		return 0;
	return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "signed by %s, not by its issuer_fpr %s", fpr,
			      want);
}

/* The signature over parts->body: by u->issuer_fpr, whose key is
 * u->issuer_key, in a scratch verify-only keyring removed afterwards. */
static int check_signature(const struct klic_usage *u, const struct klic_lic_parts *parts)
{
	char dir[] = "/tmp/klic-kusage-XXXXXX", fpr[KLIC_FPR_HEX_LEN + 1];
	uint8_t key[KLIC_MAX_ISSUER_KEY_B64];
	struct klic_keyring *kr = NULL;
	struct klic_sig_info info;
	size_t keylen = 0;
	int r;

	if ((r = klic_base64_decode(key, sizeof key, &keylen, u->issuer_key,
				    strlen(u->issuer_key))) != 0)
		return r;
	if (mkdtemp(dir) == NULL)
		return klic_error_set(KLIC_ERR_IO, "scratch keyring: %s", strerror(errno));
	if ((r = klic_keyring_open(&kr, dir, KLIC_KEYRING_VERIFY_ONLY)) != 0 ||
	    (r = klic_key_import(kr, fpr, key, keylen)) != 0)
		goto out;
	if (strcmp(fpr, u->issuer_fpr) != 0) {
		r = klic_error_set(KLIC_ERR_MISMATCH, "issuer_key is %s, issuer_fpr says %s", fpr,
				   u->issuer_fpr);
		goto out;
	}
	if ((r = klic_verify_detached_info(kr, &info, parts->sig, parts->sig_len, parts->body,
					   parts->body_len, allow_issuer,
					   (void *)(uintptr_t)u->issuer_fpr)) != 0)
		goto out;
	if (info.sig_class != 0x01 || info.hash_bits != parts->hash_bits)
		r = klic_error_set(KLIC_ERR_SIG_BAD,
				   "not a text-mode signature with the digest of its Hash line");
out:
	klic_keyring_free(kr);
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}

/* Each embedded entitlement checked against this vendor; 0 when at least
 * one anchors the issuer, else KLIC_ERR_NOT_ENTITLED. */
static int check_ents(struct klic_vendor *v, const struct klic_usage *u,
		      struct klic_vendor_usage_report *rep)
{
	size_t anchored = 0;
	int r;

	if (u->n_ents > 0 && (rep->ents = calloc(u->n_ents, sizeof(*rep->ents))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "usage");
	rep->n_ents = u->n_ents;
	for (size_t i = 0; i < u->n_ents; i++) {
		struct klic_vendor_usage_ent *e = &rep->ents[i];
		struct klic_kent k;
		int recorded = 0;

		memcpy(e->entitlement_id, u->ents[i].entitlement_id, sizeof e->entitlement_id);
		e->seats = u->ents[i].seats;
		r = klic_vendor_kent_check(v, &k, &recorded, (const uint8_t *)u->ents[i].kent,
					   u->ents[i].kent_len);
		if (r != 0) {
			r = finding(rep, "entitlement %s: not this vendor's: %s: %s",
				    e->entitlement_id, klic_strerror(r), klic_error_detail());
		} else if (!recorded) {
			r = finding(rep, "entitlement %s: not the entitlement this vendor recorded",
				    e->entitlement_id);
		} else if (strcmp(k.org, u->org) != 0) {
			r = finding(rep, "entitlement %s: granted to \"%s\", not \"%s\"",
				    e->entitlement_id, k.org, u->org);
		} else {
			memcpy(e->product, k.product, sizeof e->product);
			e->anchored = klic_kent_names_key(&k, u->issuer_fpr) >= 0;
			anchored += e->anchored != 0;
			r = 0;
		}
		klic_error_clear();
		if (r != 0)
			return r;
	}
	if (anchored == 0)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED,
				      "signed by %s, a key no entitlement of this vendor names",
				      u->issuer_fpr);
	return 0;
}

/* Every hash of the audit chain and its head. */
static int check_chain(const struct klic_usage *u, struct klic_vendor_usage_report *rep)
{
	char prev[KLIC_SHA256_HEX_LEN + 1], h[KLIC_SHA256_HEX_LEN + 1];
	int r;

	memcpy(prev, KLIC_AUDIT_ZERO, sizeof prev);
	rep->chain_ok = 1;
	for (size_t i = 0; i < u->n_audit; i++) {
		const struct klic_usage_audit *a = &u->audit[i];

		if ((r = klic_audit_hash(h, prev, a->seq, a->at, a->event, a->digest, a->detail)) !=
		    0)
			return r;
		if (strcmp(h, a->hash) != 0) {
			rep->chain_ok = 0;
			return finding(rep, "audit row %lld: hash mismatch (the chain is broken)",
				       (long long)a->seq);
		}
		memcpy(prev, h, sizeof prev);
	}
	if (strcmp(prev, u->audit_head) != 0) {
		rep->chain_ok = 0;
		return finding(rep, "audit_head is not the hash of the last audit row");
	}
	return 0;
}

/* ---- licenses and their audit rows ------------------------------------- */

struct issued_row {
	const struct klic_usage_audit *a;
	unsigned granted; /* seats the row says it issued */
	unsigned used;    /* licenses tied to it */
};

static int cmp_issued(const void *x, const void *y)
{
	return strcmp(((const struct issued_row *)x)->a->digest,
		      ((const struct issued_row *)y)->a->digest);
}

/* The seat count that starts an issued row's detail, or 0. */
static unsigned granted_seats(const char *detail)
{
	char *end = NULL;
	unsigned long n;

	if (detail[0] < '1' || detail[0] > '9')
		return 0;
	errno = 0;
	n = strtoul(detail, &end, 10);
	if (errno != 0 || end == NULL || *end != ' ' || n > KLIC_MAX_SEATS)
		return 0;
	return (unsigned)n;
}

/* Why license l does not match its issued row, or NULL. */
static const char *mismatch(const struct klic_usage_lic *l, const struct issued_row *ir)
{
	char t[KLIC_TIME_LEN + 1], want[KLIC_MACHINE_ID_LEN + 16], exp[KLIC_TIME_LEN + 16];
	const char *d = ir->a->detail;
	size_t dl = strlen(d), el;

	if (klic_time_format(t, l->issued) != 0 || strcmp(t, ir->a->at) != 0)
		return "issued at another time than its audit row";
	snprintf(want, sizeof want, " machine %s ", l->machine_id);
	if (strstr(d, want) == NULL)
		return "its audit row names another machine";
	if (klic_time_format(t, l->expires) != 0)
		return "bad expiry";
	snprintf(exp, sizeof exp, ", expires %s", t);
	el = strlen(exp);
	/* a request denied before and issued when decided again carries the
	 * suffix " (decided again; denied before: CODE)" (spec 5.3 #7) */
	{
		const char *sfx = strstr(d, " (decided again; denied before: ");
		if (sfx != NULL && d[dl - 1] == ')' && strchr(sfx + 2, '(') == NULL)
			dl = (size_t)(sfx - d);
	}
	if (dl < el || strncmp(d + dl - el, exp, el) != 0)
		return "its audit row names another expiry";
	if (ir->granted == 0 || l->seat > ir->granted)
		return "seat beyond the seats its audit row issued";
	if (ir->used >= ir->granted)
		return "more licenses than its audit row issued";
	return NULL;
}

static int check_lics(const struct klic_usage *u, struct klic_vendor_usage_report *rep)
{
	struct issued_row *rows = NULL, key, *hit;
	struct klic_usage_audit probe;
	size_t n = 0;
	int r = 0;

	if (u->n_audit > 0 && (rows = calloc(u->n_audit, sizeof(*rows))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "usage");
	for (size_t i = 0; i < u->n_audit; i++)
		if (strcmp(u->audit[i].event, "issued") == 0) {
			rows[n].a = &u->audit[i];
			rows[n++].granted = granted_seats(u->audit[i].detail);
		}
	if (n > 0)
		qsort(rows, n, sizeof(*rows), cmp_issued);
	for (size_t i = 0; r == 0 && i < u->n_lics; i++) {
		const struct klic_usage_lic *l = &u->lics[i];
		const char *why = "no \"issued\" audit row for its request";

		memcpy(probe.digest, l->request_digest, sizeof probe.digest);
		key.a = &probe;
		hit = n > 0 ? bsearch(&key, rows, n, sizeof(*rows), cmp_issued) : NULL;
		if (hit != NULL && (why = mismatch(l, hit)) == NULL) {
			hit->used++;
			continue;
		}
		r = finding(rep, "license %s (machine %s, seat %u): unaudited: %s", l->license_id,
			    l->machine_id, l->seat, why);
	}
	/* the ledger records a request's licenses with its audit row: fewer in
	 * the export means licenses were left out of it */
	for (size_t i = 0; r == 0 && i < n; i++)
		if (rows[i].used != rows[i].granted)
			r = finding(rep,
				    "audit row %lld: issued %u seat(s), the export lists %u "
				    "license(s) of that request (licenses left out)",
				    (long long)rows[i].a->seq, rows[i].granted, rows[i].used);
	free(rows);
	return r;
}

/* ---- licenses ended early ---------------------------------------------------- */

static int cmp_lic_id(const void *key, const void *elem)
{
	return strcmp((const char *)key, ((const struct klic_usage_lic *)elem)->license_id);
}

/* Why the ended license l is not carried by the 'renewed' row a ("<old> ->
 * <new> ..."), or NULL: the row names l, at the time l ended, for a
 * license of this export issued then, from the same entitlement, for the
 * same machine, answering the row's request. */
static const char *renewal_mismatch(const struct klic_usage *u, const struct klic_usage_lic *l,
				    const struct klic_usage_audit *a)
{
	const struct klic_usage_lic *succ;
	char t[KLIC_TIME_LEN + 1], next[33];

	if (klic_time_format(t, l->ended) != 0 || strcmp(t, a->at) != 0)
		return "its 'renewed' audit row is at another time than it ended";
	if (strlen(a->detail) < 68 || memcmp(a->detail + 32, " -> ", 4) != 0 ||
	    !klic_is_hex(a->detail + 36, 32))
		return "its 'renewed' audit row does not name the license that replaced it";
	memcpy(next, a->detail + 36, 32);
	next[32] = '\0';
	succ = bsearch(next, u->lics, u->n_lics, sizeof(*u->lics), cmp_lic_id);
	if (succ == NULL)
		return "the license that replaced it is not in the export";
	if (succ->issued != l->ended || strcmp(succ->machine_id, l->machine_id) != 0 ||
	    strcmp(succ->entitlement_id, l->entitlement_id) != 0 ||
	    strcmp(succ->request_digest, a->digest) != 0)
		return "the license that replaced it was not issued then, for that machine, from "
		       "that entitlement, by that renewal";
	return NULL;
}

/* Why the returned license l is not carried by the 'returned' row a
 * ("<id> returned by receipt <digest> ..."), or NULL: the row names l and
 * the receipt (its digest column), at the time l ended, and l's
 * entitlement, as the vendor signed it, is returnable (spec 5.3.6). */
static const char *return_mismatch(const struct klic_usage *u, const struct klic_usage_lic *l,
				   const struct klic_usage_audit *a)
{
	static const char by[] = " returned by receipt ";
	const size_t bl = sizeof(by) - 1;
	char t[KLIC_TIME_LEN + 1];
	struct klic_lic_parts parts;
	struct klic_kent e;

	if (klic_time_format(t, l->ended) != 0 || strcmp(t, a->at) != 0)
		return "its 'returned' audit row is at another time than it ended";
	if (strlen(a->detail) < 32 + bl + 64 || memcmp(a->detail + 32, by, bl) != 0 ||
	    strlen(a->digest) != 64 || memcmp(a->detail + 32 + bl, a->digest, 64) != 0)
		return "its 'returned' audit row does not name the receipt";
	for (size_t k = 0; k < u->n_ents; k++) {
		if (strcmp(u->ents[k].entitlement_id, l->entitlement_id) != 0)
			continue;
		if (klic_clearsigned_split(&parts, (const uint8_t *)u->ents[k].kent,
					   u->ents[k].kent_len, KLIC_MAX_KENT_BYTES) != 0 ||
		    klic_kent_body_parse(&e, parts.body, parts.body_len) != 0) {
			klic_error_clear();
			return "its entitlement's .kent does not parse";
		}
		return e.returnable ? NULL
				    : "its entitlement is not returnable (offline licenses of it "
				      "are irreversible)";
	}
	return "its entitlement is not in the export";
}

typedef const char *(*end_row_check)(const struct klic_usage *u, const struct klic_usage_lic *l,
				     const struct klic_usage_audit *a);

/* Why l's end (an `event` row: "renewed" | "returned") is not accounted
 * for, or NULL: the first audit row of that event naming l, as check()
 * says; none (`none`); or more than one (a license ends once). */
static const char *audited_end(const struct klic_usage *u, const struct klic_usage_lic *l,
			       const char *event, const char *none, const char *twice,
			       end_row_check check)
{
	const char *why = none;
	size_t n = 0;

	for (size_t k = 0; k < u->n_audit; k++) {
		const struct klic_usage_audit *a = &u->audit[k];
		if (strcmp(a->event, event) != 0 || strncmp(a->detail, l->license_id, 32) != 0)
			continue;
		if (n++ == 0)
			why = check(u, l, a);
	}
	return n > 1 && why == NULL ? twice : why;
}

/* A license that ended before it expired holds its seat only until then
 * (spec/ledger-7.sql): the ledger must show why, once.  A renewed one needs
 * the 'renewed' audit row naming it and its successor (spec 5.3.4); a
 * returned one the 'returned' row naming it and its receipt, and an
 * entitlement the vendor made returnable (spec 5.3.6). */
static int check_ends(const struct klic_usage *u, struct klic_vendor_usage_report *rep)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < u->n_lics; i++) {
		const struct klic_usage_lic *l = &u->lics[i];
		const char *why;

		if (l->ended == 0)
			continue;
		if (strcmp(l->state, KLIC_USAGE_RENEWED) == 0)
			why = audited_end(u, l, "renewed", "no 'renewed' audit row names it",
					  "two 'renewed' audit rows name it (a license ends once)",
					  renewal_mismatch);
		else if (strcmp(l->state, KLIC_USAGE_RETURNED) == 0)
			why = audited_end(u, l, "returned", "no 'returned' audit row names it",
					  "two 'returned' audit rows name it (a license ends once)",
					  return_mismatch);
		else
			why = "no audit row this version of klic-vendor can check for that end";
		if (why != NULL)
			r = finding(rep, "license %s (machine %s, seat %u): ended early, unaudited: %s",
				    l->license_id, l->machine_id, l->seat, why);
	}
	return r;
}

/* ---- peak seats ------------------------------------------------------------ */

struct edge {
	int64_t t;
	int d; /* +1 issued, -1 expires */
};

static int cmp_edge(const void *x, const void *y)
{
	const struct edge *a = x, *b = y;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->d - b->d; /* an expiry before an issue at the same second */
}

static int peaks(const struct klic_usage *u, struct klic_vendor_usage_report *rep)
{
	struct edge *ev = NULL;
	int r = 0;

	if (u->n_lics > 0 && (ev = calloc(2 * u->n_lics, sizeof(*ev))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "usage");
	for (size_t k = 0; r == 0 && k < rep->n_ents; k++) {
		struct klic_vendor_usage_ent *e = &rep->ents[k];
		size_t m = 0;
		long cur = 0, best = 0;

		for (size_t i = 0; i < u->n_lics; i++)
			if (strcmp(u->lics[i].entitlement_id, e->entitlement_id) == 0) {
				/* a seat is held until min(expires, ended) */
				int64_t end = u->lics[i].ended != 0 &&
						      u->lics[i].ended < u->lics[i].expires
						  ? u->lics[i].ended
						  : u->lics[i].expires;
				ev[m++] = (struct edge){u->lics[i].issued, +1};
				ev[m++] = (struct edge){end, -1};
			}
		if (m > 0)
			qsort(ev, m, sizeof(*ev), cmp_edge);
		for (size_t i = 0; i < m; i++)
			if ((cur += ev[i].d) > best)
				best = cur;
		e->n_lics = m / 2;
		e->peak = (unsigned)best;
		if (e->peak > e->seats)
			r = finding(rep, "entitlement %s: OVER-ISSUED: peak %u of %u seats",
				    e->entitlement_id, e->peak, e->seats);
	}
	for (size_t i = 0; r == 0 && i < u->n_lics; i++) {
		size_t k;
		for (k = 0; k < rep->n_ents; k++)
			if (strcmp(u->lics[i].entitlement_id, rep->ents[k].entitlement_id) == 0)
				break;
		if (k == rep->n_ents)
			r = finding(rep, "license %s: unknown entitlement \"%s\"",
				    u->lics[i].license_id, u->lics[i].entitlement_id);
	}
	free(ev);
	return r;
}

int klic_vendor_usage_verify(struct klic_vendor *v, struct klic_vendor_usage_report *rep,
			     const uint8_t *buf, size_t len)
{
	struct klic_lic_parts parts;
	struct klic_usage u;
	int r;

	memset(rep, 0, sizeof(*rep));
	memset(&u, 0, sizeof u);
	if (len > KLIC_MAX_KUSAGE_BYTES)
		return klic_error_set(KLIC_ERR_TOO_BIG, "larger than %u bytes",
				      KLIC_MAX_KUSAGE_BYTES);
	if ((r = klic_clearsigned_split(&parts, buf, len, KLIC_MAX_KUSAGE_BYTES)) != 0)
		return r;
	if ((r = klic_usage_body_parse(&u, parts.body, parts.body_len)) != 0 ||
	    (r = check_signature(&u, &parts)) != 0 || (r = check_ents(v, &u, rep)) != 0)
		goto out;
	memcpy(rep->org, u.org, sizeof rep->org);
	memcpy(rep->issuer_fpr, u.issuer_fpr, sizeof rep->issuer_fpr);
	rep->created = u.created;
	rep->n_lics = u.n_lics;
	rep->n_audit = u.n_audit;
	if ((r = check_chain(&u, rep)) != 0 || (r = check_lics(&u, rep)) != 0 ||
	    (r = check_ends(&u, rep)) != 0 || (r = peaks(&u, rep)) != 0)
		goto out;
	r = 0;
out:
	klic_usage_dispose(&u);
	return r;
}
