/* klic — the one chain check of a license (design14.md "Chain check",
 * spec/PROTOCOL.md): a .lic is valid only when it chains to a vendor key the
 * caller supplies.  Steps 0-11 in this order; every check context has its
 * own scratch keyring (mkdtemp under /tmp, 0700, no gpg-agent) holding only
 * the anchors and the keys the licenses carry, removed by klic_chain_free().
 * Never reads the user's keyring or pinned issuers. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_int.h"
#include "klic_armor.h"

#define CHAIN_CACHE 8
#define CHAIN_DAY 86400
#define CHAIN_LICENSE_DAYS 60 /* the offline license lifetime (design14.md step 8) */

/* Steps 0-9 for exactly these bytes, this machine and this time. */
struct chain_entry {
	uint8_t sha[KLIC_SHA256_LEN];
	char mid[KLIC_MACHINE_ID_LEN + 1];
	int64_t now;
	int code; /* verdict of steps 0-9 */
	char detail[512];
	int chained; /* steps 0-4 passed: resp and vendor are the chain's */
	struct klic_response *resp;
	size_t vendor; /* index of the anchor that signed the entitlement */
};

struct klic_chain {
	char dir[32]; /* the scratch keyring */
	struct klic_keyring *kr;
	struct klic_anchor anchor[KLIC_MAX_ANCHORS];
	uint8_t *key[KLIC_MAX_ANCHORS]; /* as given, for the user IDs */
	size_t key_len[KLIC_MAX_ANCHORS];
	size_t n_anchors;
	int uids_known;
	struct chain_entry cache[CHAIN_CACHE];
	size_t n_cache, next_cache;
	size_t gpg_checks; /* entries computed (tests and bench: identical bytes once) */
};

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(p);
	return 0;
}

void klic_chain_free(struct klic_chain *c)
{
	if (c == NULL)
		return;
	klic_keyring_free(c->kr);
	if (c->dir[0] != '\0')
		(void)nftw(c->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < c->n_cache; i++)
		free(c->cache[i].resp);
	for (size_t i = 0; i < c->n_anchors; i++)
		free(c->key[i]);
	free(c);
}

/* Import one anchor key (armored or binary) from key[0..len). */
static int anchor_add(struct klic_chain *c, const uint8_t *key, size_t len)
{
	struct klic_anchor *a;
	int r;

	if (c->n_anchors >= KLIC_MAX_ANCHORS)
		return klic_error_set(KLIC_ERR_TOO_BIG, "more than %d vendor keys",
				      KLIC_MAX_ANCHORS);
	a = &c->anchor[c->n_anchors];
	/* the user ID is looked up only when asked for (klic_chain_anchors):
	 * the runtime never needs it, and it costs a gpg run */
	if ((r = klic_key_import(c->kr, a->fpr, key, len)) != 0)
		return r;
	if ((c->key[c->n_anchors] = malloc(len)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "vendor key");
	memcpy(c->key[c->n_anchors], key, len);
	c->key_len[c->n_anchors] = len;
	c->n_anchors++;
	return 0;
}

/* A buffer may hold several armored keys, one after the other. */
static int anchors_add(struct klic_chain *c, const uint8_t *buf, size_t len)
{
	static const char begin[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
	const char *p = (const char *)buf, *e = p + len, *next;
	int r;

	if (len == 0)
		return klic_error_set(KLIC_ERR_KEY, "empty vendor key");
	if (len < sizeof(begin) - 1 || memcmp(p, begin, sizeof(begin) - 1) != 0)
		return anchor_add(c, buf, len); /* binary, or one armored key after text */
	while (p < e) {
		next = memmem(p + 1, (size_t)(e - p - 1), begin, sizeof(begin) - 1);
		if (next == NULL)
			next = e;
		if ((r = anchor_add(c, (const uint8_t *)p, (size_t)(next - p))) != 0)
			return r;
		p = next;
	}
	return 0;
}

int klic_chain_new(struct klic_chain **out, const uint8_t *const *keys, const size_t *lens,
		   size_t n)
{
	struct klic_chain *c = NULL;
	int r;

	*out = NULL;
	if (n == 0 || keys == NULL)
		return klic_error_set(KLIC_ERR_NO_VENDOR, "no vendor key given");
	if ((r = klic_keys_init()) != 0)
		return r;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "chain check");
	snprintf(c->dir, sizeof(c->dir), "/tmp/klic-chain-XXXXXX");
	if (mkdtemp(c->dir) == NULL) {
		c->dir[0] = '\0';
		r = klic_error_set(KLIC_ERR_IO, "scratch keyring in /tmp: %s", strerror(errno));
		goto out;
	}
	if ((r = klic_keyring_open(&c->kr, c->dir, KLIC_KEYRING_VERIFY_ONLY)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t len = lens != NULL ? lens[i] : (keys[i] ? strlen((const char *)keys[i]) : 0);
		if (keys[i] == NULL) {
			r = klic_error_set(KLIC_ERR_NO_VENDOR, "vendor key %zu is NULL", i);
			goto out;
		}
		if ((r = anchors_add(c, keys[i], len)) != 0)
			goto out;
	}
	*out = c;
	c = NULL; /* transferred */
	r = 0;
out:
	klic_chain_free(c);
	return r;
}

size_t klic_chain_anchors(struct klic_chain *c, const struct klic_anchor **out)
{
	char fpr[KLIC_FPR_HEX_LEN + 1];

	for (size_t i = 0; !c->uids_known && i < c->n_anchors; i++) {
		struct klic_anchor *a = &c->anchor[i];
		if (klic_key_inspect(c->kr, fpr, a->uid, c->key[i], c->key_len[i]) != 0 ||
		    strcmp(fpr, a->fpr) != 0)
			snprintf(a->uid, sizeof(a->uid), "?");
		(void)klic_printable_copy(a->uid, sizeof(a->uid), a->uid, SIZE_MAX);
	}
	c->uids_known = 1;
	klic_error_clear();
	*out = c->anchor;
	return c->n_anchors;
}

size_t klic_chain_gpg_checks(const struct klic_chain *c)
{
	return c->gpg_checks;
}

static int anchor_allow(void *ctx, const char *fpr)
{
	const struct klic_chain *c = ctx;
	for (size_t i = 0; i < c->n_anchors; i++)
		if (strcmp(c->anchor[i].fpr, fpr) == 0)
			return 0;
	return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "entitlement signed by %s, not a vendor key",
			      fpr);
}

static int issuer_allow(void *ctx, const char *fpr)
{
	const struct klic_response *resp = ctx;
	if (strcmp(resp->issuer_fpr, fpr) == 0)
		return 0;
	return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "license signed by %s, it names issuer %s",
			      fpr, resp->issuer_fpr);
}

/* Keep the code, prefix the detail. */
static int prefixed(int r, const char *what)
{
	char d[512];
	snprintf(d, sizeof(d), "%s", klic_error_detail());
	return klic_error_set(r, "%s: %s", what, d);
}

/* Step 2: the license's own signature, by the key it carries. */
static int step_license_sig(struct klic_chain *c, struct klic_response *resp,
			    const struct klic_lic_parts *parts)
{
	uint8_t key[KLIC_MAX_ISSUER_KEY_B64];
	char fpr[KLIC_FPR_HEX_LEN + 1];
	struct klic_sig_info info;
	size_t keylen = 0;
	char d[400];
	int r;

	if (klic_base64_decode(key, sizeof(key), &keylen, resp->issuer_key,
			       strlen(resp->issuer_key)) != 0)
		return klic_error_set(KLIC_ERR_FIELD, "issuer_key is not canonical base64");
	if ((r = klic_key_import(c->kr, fpr, key, keylen)) != 0)
		return prefixed(r, "issuer_key");
	if (strcmp(fpr, resp->issuer_fpr) != 0)
		return klic_error_set(KLIC_ERR_MISMATCH, "issuer_key is %s, issuer_fpr says %s", fpr,
				      resp->issuer_fpr);
	r = klic_verify_detached_info(c->kr, &info, parts->sig, parts->sig_len, parts->body,
				      parts->body_len, issuer_allow, resp);
	if (r == KLIC_ERR_SIG_UNKNOWN_KEY) {
		snprintf(d, sizeof(d), "%s", klic_error_detail());
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY,
				      "license not signed by the issuer key it carries (%s): %s",
				      resp->issuer_fpr, d);
	}
	if (r != 0)
		return r;
	return klic_rq_check_response_sig(&info, parts->hash_bits);
}

/* Steps 3-4: the vendor's entitlement names the license's signer. */
static int step_entitlement(struct klic_chain *c, const struct klic_response *resp,
			    struct klic_kent *kent, size_t *vendor)
{
	char d[400];
	int r;

	r = klic_kent_verify(c->kr, kent, (const uint8_t *)resp->entitlement, resp->entitlement_len,
			     anchor_allow, c);
	if (r == KLIC_ERR_SIG_UNKNOWN_KEY) { /* only the anchors are there to know */
		snprintf(d, sizeof(d), "%s", klic_error_detail());
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY,
				      "entitlement: not signed by a vendor key (checked against %s%s): "
				      "%s",
				      c->anchor[0].fpr, c->n_anchors > 1 ? " ..." : "", d);
	}
	if (r != 0)
		return prefixed(r, "entitlement");
	for (*vendor = 0; *vendor < c->n_anchors; (*vendor)++)
		if (strcmp(c->anchor[*vendor].fpr, kent->vendor_fpr) == 0)
			break;
	if (*vendor == c->n_anchors)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "entitlement: %s is not a vendor key",
				      kent->vendor_fpr);
	if (klic_kent_names_key(kent, resp->issuer_fpr) < 0)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED,
				      "signed by %s, a key the entitlement does not name",
				      resp->issuer_fpr);
	if (strcmp(kent->org, resp->issuer_org) != 0)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED,
				      "entitlement of %s, license issued by %s", kent->org,
				      resp->issuer_org);
	if (strcmp(kent->entitlement_id, resp->entitlement_id) != 0)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED,
				      "license draws on entitlement %s, it carries %s",
				      resp->entitlement_id, kent->entitlement_id);
	return 0;
}

/* Steps 5-9: the terms. */
static int step_terms(const struct klic_response *resp, const struct klic_kent *k,
		      const char *mid, int64_t now)
{
	char a[KLIC_TIME_LEN + 1] = "?", b[KLIC_TIME_LEN + 1] = "?", t[KLIC_TIME_LEN + 1] = "?";
	int64_t limit;

	if (strcmp(resp->product, k->product) != 0)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED, "product %s, entitlement is for %s",
				      resp->product, k->product);
	if (strcmp(resp->machine_id, mid) != 0)
		return klic_error_set(KLIC_ERR_WRONG_MACHINE, "license is for %s, this machine is %s",
				      resp->machine_id, mid);
	if (strcmp(k->model, KLIC_MODEL_NODE_LOCKED) != 0 ||
	    strcmp(k->billing, KLIC_BILLING_YEARLY) != 0)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED,
				      "entitlement is %s/%s (only node-locked/yearly licenses run "
				      "offline)",
				      k->model, k->billing);
	(void)klic_time_format(a, k->valid_from);
	(void)klic_time_format(b, k->valid_until);
	(void)klic_time_format(t, resp->created);
	if (now < k->valid_from)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED, "entitlement not yet started (from %s)",
				      a);
	if (resp->created < k->valid_from || resp->created >= k->valid_until)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED,
				      "license issued %s outside the entitlement's period %s..%s", t,
				      a, b);
	limit = resp->created + (int64_t)CHAIN_LICENSE_DAYS * CHAIN_DAY;
	if (k->valid_until < limit)
		limit = k->valid_until;
	if (resp->expires > limit) {
		(void)klic_time_format(t, resp->expires);
		(void)klic_time_format(a, limit);
		return klic_error_set(KLIC_ERR_NOT_ENTITLED,
				      "license expires %s after min(created + 60 days, entitlement "
				      "end) %s",
				      t, a);
	}
	if (resp->seats > k->seats)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED, "%u seats, entitlement grants %u",
				      resp->seats, k->seats);
	return 0;
}

/* Steps 0-9 into e (computed once per bytes, machine and time). */
static void chain_compute(struct klic_chain *c, struct chain_entry *e, const uint8_t *buf,
			  size_t len)
{
	struct klic_lic_parts parts;
	struct klic_kent kent;
	int r;

	c->gpg_checks++;
	if ((e->resp = malloc(sizeof(*e->resp))) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "license");
		goto out;
	}
	/* 0: shape and strict document, an issued response */
	if ((r = klic_license_split(&parts, buf, len)) != 0 ||
	    (r = klic_response_manifest_parse(e->resp, parts.body, parts.body_len)) != 0)
		goto out;
	if (strcmp(e->resp->status, KLIC_STATUS_ISSUED) != 0) {
		r = klic_error_set(KLIC_ERR_FIELD, "not an issued license (status %s)",
				   e->resp->status);
		goto out;
	}
	/* 1 is the context's scratch keyring; 2-4 */
	if ((r = step_license_sig(c, e->resp, &parts)) != 0 ||
	    (r = step_entitlement(c, e->resp, &kent, &e->vendor)) != 0)
		goto out;
	e->chained = 1;
	r = step_terms(e->resp, &kent, e->mid, e->now);
out:
	e->code = r;
	snprintf(e->detail, sizeof(e->detail), "%s", r != 0 ? klic_error_detail() : "");
}

static struct chain_entry *chain_entry_get(struct klic_chain *c, const uint8_t *buf, size_t len,
					   const char *mid, int64_t now)
{
	uint8_t sha[KLIC_SHA256_LEN];
	struct chain_entry *e;

	if (klic_sha256(sha, buf, len) != 0)
		return NULL;
	for (size_t i = 0; i < c->n_cache; i++) {
		e = &c->cache[i];
		if (memcmp(e->sha, sha, sizeof(sha)) == 0 && strcmp(e->mid, mid) == 0 &&
		    e->now == now)
			return e;
	}
	e = &c->cache[c->next_cache];
	free(e->resp);
	memset(e, 0, sizeof(*e));
	c->next_cache = (c->next_cache + 1) % CHAIN_CACHE; /* a ring */
	if (c->n_cache < CHAIN_CACHE)
		c->n_cache++;
	memcpy(e->sha, sha, sizeof(sha));
	snprintf(e->mid, sizeof(e->mid), "%s", mid);
	e->now = now;
	chain_compute(c, e, buf, len);
	return e;
}

int klic_chain_check(struct klic_chain *c, struct klic_chain_result *res, const uint8_t *buf,
		     size_t len, const char *filename, const char *machine_id, int64_t now,
		     int64_t trusted)
{
	struct chain_entry *e;
	struct klic_license l;
	const char *base;
	char t[KLIC_TIME_LEN + 1] = "?";
	int r, named;

	memset(res, 0, sizeof(*res));
	if (c == NULL || buf == NULL || filename == NULL || machine_id == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "chain check");
	base = strrchr(filename, '/');
	base = base != NULL ? base + 1 : filename;
	if ((e = chain_entry_get(c, buf, len, machine_id, now)) == NULL)
		return klic_error_set(KLIC_ERR_INTERNAL, "sha256");
	named = e->chained && klic_license_from_response(&l, e->resp, base) == 0;
	if (e->chained)
		snprintf(res->vendor_fpr, sizeof(res->vendor_fpr), "%s", c->anchor[e->vendor].fpr);
	if (named) {
		res->lic = l; /* the chain verified and the name is listed */
		res->verified = 1;
	}
	if (e->code != 0)
		return klic_error_set(e->code, "%s", e->detail);
	/* 10: the file name is one the license lists */
	if (!named)
		return klic_license_from_response(&l, e->resp, base);
	/* 11: the clock */
	if (l.issued > now + KLIC_FUTURE_SKEW) {
		(void)klic_time_format(t, l.issued);
		return klic_error_set(KLIC_ERR_LICENSE_FUTURE, "issued %s", t);
	}
	if (l.expires <= now) {
		(void)klic_time_format(t, l.expires);
		return klic_error_set(KLIC_ERR_LICENSE_EXPIRED, "expired %s", t);
	}
	if ((r = klic_clock_rule(now, trusted)) != 0)
		return r;
	klic_error_clear();
	return 0;
}

int klic_chain_check_file(struct klic_chain *c, struct klic_chain_result *res, const char *path,
			  const char *name, const char *mid, int64_t now, int64_t trusted)
{
	char this_mid[KLIC_MACHINE_ID_LEN + 1];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	memset(res, 0, sizeof(*res));
	if (path == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "no license file given");
	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_LIC_BYTES)) != 0)
		goto out;
	if (mid == NULL) {
		if ((r = klic_this_machine_id(this_mid)) != 0)
			goto out;
		mid = this_mid;
	}
	r = klic_chain_check(c, res, buf, len, name != NULL ? name : path, mid, now, trusted);
out:
	free(buf);
	return r;
}
