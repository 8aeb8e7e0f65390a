/* klic response/ — the chain of trust on the admin side (spec/PROTOCOL.md
 * 3.6, 5.3): the pinned vendor key, importing vendor entitlements, and the
 * members' keyring where requests are verified (public keys only, never
 * the issuer's GNUPGHOME). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "response_int.h"

int klic_scratch_keyring(struct klic_keyring **kr, char dir[32], char fpr[KLIC_FPR_HEX_LEN + 1],
			 const uint8_t *key, size_t keylen)
{
	int r;

	*kr = NULL;
	snprintf(dir, 32, "%s", "/tmp/klic-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		r = klic_error_set(KLIC_ERR_IO, "scratch keyring: %s", strerror(errno));
		dir[0] = '\0';
		return r;
	}
	if ((r = klic_keyring_open(kr, dir, KLIC_KEYRING_VERIFY_ONLY)) != 0)
		return r;
	return klic_key_import(*kr, fpr, key, keylen);
}

int klic_vendor_key_load(char fpr[KLIC_FPR_HEX_LEN + 1], uint8_t **out, size_t *outlen,
			 const char *path)
{
	struct klic_keyring *kr = NULL;
	char dir[32] = "";
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	*outlen = 0;
	fpr[0] = '\0';
	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_KEY_BYTES * 4)) != 0)
		goto out;
	if ((r = klic_scratch_keyring(&kr, dir, fpr, buf, len)) != 0)
		goto out;
	r = klic_key_export(kr, out, outlen, fpr, 1);
out:
	if (r != 0)
		fpr[0] = '\0';
	klic_keyring_free(kr);
	if (dir[0] != '\0')
		klic_scratch_remove(dir);
	free(buf);
	return r;
}

/* ---- the members' keyring ------------------------------------------------- */

struct copy_ctx {
	struct klic_keyring *from, *to;
};

static int copy_member(void *vctx, const char *fpr)
{
	struct copy_ctx *c = vctx;
	char got[KLIC_FPR_HEX_LEN + 1];
	uint8_t *key = NULL;
	size_t len = 0;
	int r;

	if (klic_key_export(c->from, &key, &len, fpr, 0) != 0) {
		/* not in the issuer's keyring either: its requests cannot
		 * verify, as before */
		klic_error_clear();
		return 0;
	}
	r = klic_key_import(c->to, got, key, len);
	free(key);
	return r;
}

int klic_members_open(struct klic_admin *a)
{
	char path[4200], tmp[4200];
	struct copy_ctx c = {a->kr, NULL};
	struct stat st;
	int made = 0, r;

	if (snprintf(path, sizeof path, "%s/%s", a->state, KLIC_MEMBERS_DIR) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s/.%s-XXXXXX", a->state, KLIC_MEMBERS_DIR) >=
		(int)sizeof tmp)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: path too long", a->state);
	if (lstat(path, &st) == 0)
		return klic_keyring_open(&a->members, path, 0);
	if (errno != ENOENT)
		return klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
	/* first use (a new ledger, or one older than protocol version 2):
	 * made aside with the registered members' keys, then renamed */
	if (mkdtemp(tmp) == NULL)
		return klic_error_set(KLIC_ERR_IO, "%s: %s", tmp, strerror(errno));
	made = 1;
	if ((r = klic_keyring_open(&c.to, tmp, KLIC_KEYRING_VERIFY_ONLY)) != 0)
		goto out;
	if ((r = klic_ledger_members(a->ledger, copy_member, &c)) != 0)
		goto out;
	klic_keyring_free(c.to);
	c.to = NULL;
	if (rename(tmp, path) == 0)
		made = 0;
	else if (errno != ENOTEMPTY && errno != EEXIST) {
		r = klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	} /* else: another klic-admin made it meanwhile */
	r = klic_keyring_open(&a->members, path, 0);
out:
	klic_keyring_free(c.to);
	if (made)
		klic_scratch_remove(tmp);
	return r;
}

/* ---- the vendor ---------------------------------------------------------------- */

int klic_admin_vendor_set(struct klic_admin *a, const char *path)
{
	char vfpr[KLIC_FPR_HEX_LEN + 1], vpath[4200], detail[200];
	uint8_t *vkey = NULL;
	size_t vkeylen = 0;
	int r;

	if (a->vendor_fpr[0] != '\0')
		return klic_error_set(KLIC_ERR_EXISTS, "the vendor %s is pinned already",
				      a->vendor_fpr);
	if (snprintf(vpath, sizeof vpath, "%s/%s", a->state, KLIC_VENDOR_FILE) >= (int)sizeof vpath)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: path too long", a->state);
	if ((r = klic_vendor_key_load(vfpr, &vkey, &vkeylen, path)) != 0)
		goto out;
	if (strcmp(vfpr, a->issuer_fpr) == 0) {
		r = klic_error_set(KLIC_ERR_KEY, "the vendor key is the issuer key %s", vfpr);
		goto out;
	}
	if ((r = klic_write_atomic(vpath, vkey, vkeylen, 0644, 0)) != 0)
		goto out;
	snprintf(detail, sizeof detail, "vendor %s pinned", vfpr);
	if ((r = klic_ledger_begin(a->ledger)) != 0)
		goto out;
	if ((r = klic_ledger_meta_set(a->ledger, "vendor_fpr", vfpr)) != 0 ||
	    (r = klic_ledger_audit_append(a->ledger, klic_now(), "entitlement-add", "", detail)) !=
		0) {
		klic_ledger_rollback(a->ledger);
		goto out;
	}
	if ((r = klic_ledger_commit(a->ledger)) != 0)
		goto out;
	memcpy(a->vendor_fpr, vfpr, sizeof a->vendor_fpr);
out:
	free(vkey);
	return r;
}

static int allow_vendor(void *ctx, const char *fpr)
{
	const char *vendor = ctx;

	if (strcmp(fpr, vendor) != 0)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "signed by %s, not the vendor %s",
				      fpr, vendor);
	return 0;
}

/* The terms this admin checks at import: its key, its org, not ended. */
static int judge_terms(const struct klic_admin *a, const struct klic_kent *e, int64_t now)
{
	char t[KLIC_TIME_LEN + 1];

	if (klic_kent_names_key(e, a->issuer_fpr) < 0)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED,
				      "the entitlement names %zu issuer key(s) (the first %s), "
				      "not this admin's key %s",
				      e->n_org_keys, e->org_keys[0], a->issuer_fpr);
	if (strcmp(e->org, a->org) != 0)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED,
				      "entitlement of %s, this ledger is %s's", e->org, a->org);
	if (e->valid_until <= now) {
		if (klic_time_format(t, e->valid_until) != 0)
			t[0] = '\0';
		return klic_error_set(KLIC_ERR_NOT_ENTITLED, "the entitlement ended %s", t);
	}
	return 0;
}

int klic_admin_entitlement_import(struct klic_admin *a, struct klic_kent *e, int64_t *id,
				  int *added, const char *path)
{
	struct klic_keyring *kr = NULL;
	struct klic_lic_parts parts;
	char dir[32] = "", vpath[4200], vfpr[KLIC_FPR_HEX_LEN + 1];
	uint8_t *buf = NULL, *vkey = NULL;
	size_t len = 0, vkeylen = 0;
	int r;

	memset(e, 0, sizeof *e);
	*id = 0;
	*added = 0;
	if (a->vendor_fpr[0] == '\0')
		return klic_error_set(KLIC_ERR_NO_VENDOR,
				      "this ledger pins no vendor (made before protocol version "
				      "2): run klic-admin vendor set VENDOR.asc first");
	if (snprintf(vpath, sizeof vpath, "%s/%s", a->state, KLIC_VENDOR_FILE) >= (int)sizeof vpath)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: path too long", a->state);
	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_KENT_BYTES)) != 0)
		goto out;
	if (klic_license_split(&parts, buf, len) != 0) {
		char d[512];
		snprintf(d, sizeof d, "%s", klic_error_detail());
		r = klic_error_set(KLIC_ERR_LICENSE_FORMAT,
				   "not an entitlement (a strict clear-signed .kent): %s", d);
		goto out;
	}
	if ((r = klic_read_file(&vkey, &vkeylen, vpath, KLIC_MAX_KEY_BYTES * 4)) != 0)
		goto out;
	/* the vendor's signature, in a scratch keyring holding its key only */
	if ((r = klic_scratch_keyring(&kr, dir, vfpr, vkey, vkeylen)) != 0)
		goto out;
	if (strcmp(vfpr, a->vendor_fpr) != 0) {
		r = klic_error_set(KLIC_ERR_NO_VENDOR, "%s holds key %s, the ledger pins %s", vpath,
				   vfpr, a->vendor_fpr);
		goto out;
	}
	if ((r = klic_kent_verify(kr, e, buf, len, allow_vendor, a->vendor_fpr)) != 0)
		goto out;
	if ((r = judge_terms(a, e, klic_now())) != 0)
		goto out;
	r = klic_ledger_entitlement_import(a->ledger, added, id, e, (const char *)buf, len,
					   klic_now());
out:
	klic_keyring_free(kr);
	if (dir[0] != '\0')
		klic_scratch_remove(dir);
	free(buf);
	free(vkey);
	return r;
}

/* ---- audit verify: the entitlement rows against their signed .kent ----------- */

/* Row e says what k (its verified .kent) says, field by field. */
static int ent_matches(const struct klic_entitlement *e, const struct klic_kent *k)
{
	char last[KLIC_TIME_LEN + 1];
	const char *field = NULL;
	int r;

	if ((r = klic_time_format(last, k->valid_until - 1)) != 0)
		return r;
	last[10] = '\0';
	if (strcmp(e->kent_id, k->entitlement_id) != 0)
		field = "kent_id";
	else if (strcmp(e->product, k->product) != 0)
		field = "product";
	else if (strcmp(e->model, k->model) != 0)
		field = "model";
	else if (strcmp(e->billing, k->billing) != 0)
		field = "billing";
	else if (e->seats != k->seats)
		field = "seats";
	else if (e->valid_from != k->valid_from)
		field = "valid_from";
	else if (e->until_end != k->valid_until)
		field = "valid_until";
	else if (strcmp(e->until, last) != 0)
		field = "until";
	else if (strcmp(e->ref, k->ref) != 0)
		field = "ref";
	if (field == NULL)
		return 0;
	if (strcmp(field, "seats") == 0)
		return klic_error_set(
		    KLIC_ERR_LEDGER,
		    "entitlement %lld: seats is %u in the ledger, its signed .kent "
		    "says %u (the row was edited)",
		    (long long)e->id, e->seats, k->seats);
	return klic_error_set(KLIC_ERR_LEDGER,
			      "entitlement %lld: %s differs from its signed .kent (the row was "
			      "edited)",
			      (long long)e->id, field);
}

int klic_admin_entitlements_verify(struct klic_admin *a, int64_t *rows, int64_t *unsigned_rows)
{
	struct klic_entitlement *ents = NULL;
	struct klic_keyring *kr = NULL;
	struct klic_kent k;
	char dir[32] = "", vpath[4200], vfpr[KLIC_FPR_HEX_LEN + 1], kid[33];
	char *text = NULL;
	uint8_t *vkey = NULL;
	size_t n = 0, len = 0, vkeylen = 0, i;
	int r;

	*rows = *unsigned_rows = 0;
	if ((r = klic_ledger_entitlements(a->ledger, &ents, &n, NULL, klic_now())) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if (ents[i].kent_id[0] == '\0') {
			(*unsigned_rows)++; /* hand-typed (schema 1-3): nothing signed to check */
			continue;
		}
		if (kr == NULL) {
			if (a->vendor_fpr[0] == '\0') {
				r = klic_error_set(KLIC_ERR_NO_VENDOR, "imported entitlements but "
								       "no vendor pinned");
				goto out;
			}
			if (snprintf(vpath, sizeof vpath, "%s/%s", a->state, KLIC_VENDOR_FILE) >=
			    (int)sizeof vpath) {
				r = klic_error_set(KLIC_ERR_INVALID_ARG, "%s: path too long",
						   a->state);
				goto out;
			}
			if ((r = klic_read_file(&vkey, &vkeylen, vpath, KLIC_MAX_KEY_BYTES * 4)) !=
				0 ||
			    (r = klic_scratch_keyring(&kr, dir, vfpr, vkey, vkeylen)) != 0)
				goto out;
			if (strcmp(vfpr, a->vendor_fpr) != 0) {
				r = klic_error_set(KLIC_ERR_NO_VENDOR,
						   "%s holds key %s, the ledger "
						   "pins %s",
						   vpath, vfpr, a->vendor_fpr);
				goto out;
			}
			if ((text = malloc(KLIC_MAX_KENT_BYTES + 1)) == NULL) {
				r = klic_error_set(KLIC_ERR_NOMEM, "entitlement");
				goto out;
			}
		}
		if ((r = klic_ledger_entitlement_kent(a->ledger, kid, text, KLIC_MAX_KENT_BYTES + 1,
						      &len, ents[i].id)) != 0)
			goto out;
		memset(&k, 0, sizeof k);
		if ((r = klic_kent_verify(kr, &k, (const uint8_t *)text, len, allow_vendor,
					  a->vendor_fpr)) != 0) {
			char d[400];
			snprintf(d, sizeof d, "%s", klic_error_detail());
			r = klic_error_set(
			    KLIC_ERR_LEDGER,
			    "entitlement %lld: its stored .kent does not verify with "
			    "the vendor key (%s: %s)",
			    (long long)ents[i].id, klic_strerror(r), d);
			goto out;
		}
		if ((r = ent_matches(&ents[i], &k)) != 0)
			goto out;
		(*rows)++;
	}
	r = 0;
out:
	klic_keyring_free(kr);
	if (dir[0] != '\0')
		klic_scratch_remove(dir);
	free(text);
	free(vkey);
	free(ents);
	return r;
}
