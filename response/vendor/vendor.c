/* klic-vendor — the vendor state: init, open, export-key, entitle (sign a
 * .kent and record it), check and list the recorded entitlements. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_vendor.h"

static int path_join(char *out, size_t outsz, const char *a, const char *b)
{
	int n = snprintf(out, outsz, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= outsz)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "path too long: %.64s...", a);
	return 0;
}

int klic_vendor_state_dir(char *out, size_t outsz, const char *opt)
{
	const char *env = getenv("KLIC_VENDOR_HOME"), *home = getenv("HOME");
	int n;

	if (opt != NULL && opt[0] != '\0')
		n = snprintf(out, outsz, "%s", opt);
	else if (env != NULL && env[0] != '\0')
		n = snprintf(out, outsz, "%s", env);
	else if (home != NULL && home[0] != '\0')
		n = snprintf(out, outsz, "%s/.local/share/klic-vendor", home);
	else
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "HOME is not set: use --state DIR or KLIC_VENDOR_HOME");
	if (n < 0 || (size_t)n >= outsz)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "state path too long");
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

int klic_vendor_init(char fpr_out[KLIC_FPR_HEX_LEN + 1], const char *state, const char *name,
		     const char *email)
{
	char gnupg[KLIC_VENDOR_PATH_MAX], ents[KLIC_VENDOR_PATH_MAX];
	struct klic_keyring *kr = NULL;
	int made = 0, r;

	fpr_out[0] = '\0';
	if ((r = path_join(gnupg, sizeof gnupg, state, KLIC_VENDOR_GNUPG_DIR)) != 0 ||
	    (r = path_join(ents, sizeof ents, state, KLIC_VENDOR_ENT_DIR)) != 0)
		return r;
	if ((r = klic_mkdir_p(state, 0700)) != 0)
		return r;
	if (access(gnupg, F_OK) == 0 || access(ents, F_OK) == 0)
		return klic_error_set(KLIC_ERR_EXISTS,
				      "a vendor state is already there (refusing to re-init)");
	if (mkdir(gnupg, 0700) != 0)
		return klic_error_set(errno == EEXIST ? KLIC_ERR_EXISTS : KLIC_ERR_IO, "%s: %s",
				      gnupg, strerror(errno));
	made = 1;
	if ((r = klic_keyring_open(&kr, gnupg, 1)) != 0 ||
	    (r = klic_key_generate(kr, fpr_out, name, email)) != 0)
		goto out;
	if (mkdir(ents, 0700) != 0) {
		r = klic_error_set(KLIC_ERR_IO, "%s: %s", ents, strerror(errno));
		goto out;
	}
	made = 0; /* keep it */
	r = 0;
out:
	klic_keyring_free(kr);
	if (made) {
		fpr_out[0] = '\0';
		(void)nftw(gnupg, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	return r;
}

int klic_vendor_open(struct klic_vendor **out, const char *state)
{
	struct klic_vendor *v;
	struct stat st;
	int r;

	*out = NULL;
	if ((v = calloc(1, sizeof *v)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "vendor");
	if (snprintf(v->state, sizeof v->state, "%s", state) >= (int)sizeof v->state) {
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "state path too long");
		goto out;
	}
	if ((r = path_join(v->gnupg, sizeof v->gnupg, state, KLIC_VENDOR_GNUPG_DIR)) != 0 ||
	    (r = path_join(v->ents, sizeof v->ents, state, KLIC_VENDOR_ENT_DIR)) != 0)
		goto out;
	if (stat(v->gnupg, &st) != 0 || stat(v->ents, &st) != 0 || !S_ISDIR(st.st_mode)) {
		r = klic_error_set(KLIC_ERR_NOT_FOUND,
				   "no vendor state here (run 'klic-vendor init' first)");
		goto out;
	}
	if ((r = klic_keyring_open(&v->kr, v->gnupg, 0)) != 0 ||
	    (r = klic_key_secret_fpr(v->kr, v->fpr)) != 0)
		goto out;
	*out = v;
	v = NULL; /* transferred */
	r = 0;
out:
	klic_vendor_free(v);
	return r;
}

void klic_vendor_free(struct klic_vendor *v)
{
	if (v == NULL)
		return;
	klic_keyring_free(v->kr);
	free(v);
}

int klic_vendor_export_key(struct klic_vendor *v, const char *path)
{
	uint8_t *key = NULL;
	size_t len = 0;
	int r;

	if ((r = klic_key_export(v->kr, &key, &len, v->fpr, 1)) == 0)
		r = klic_write_atomic(path, key, len, 0644, KLIC_WRITE_NOREPLACE);
	free(key);
	return r;
}

static int allow_vendor(void *ctx, const char *fpr)
{
	const struct klic_vendor *v = ctx;

	if (strcmp(fpr, v->fpr) == 0)
		return 0;
	return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "signed by %s, not by this vendor (%s)", fpr,
			      v->fpr);
}

int klic_vendor_kent_check(struct klic_vendor *v, struct klic_kent *out, int *recorded,
			   const uint8_t *buf, size_t len)
{
	char name[KLIC_MAX_NAME_LEN + 1], path[KLIC_VENDOR_PATH_MAX];
	uint8_t *rec = NULL;
	size_t rlen = 0;
	int r;

	*recorded = 0;
	if ((r = klic_kent_verify(v->kr, out, buf, len, allow_vendor, v)) != 0)
		return r;
	snprintf(name, sizeof name, "%s.kent", out->entitlement_id);
	if ((r = path_join(path, sizeof path, v->ents, name)) != 0)
		return r;
	if (klic_read_file(&rec, &rlen, path, KLIC_MAX_KENT_BYTES) == 0)
		*recorded = rlen == len && memcmp(rec, buf, len) == 0;
	klic_error_clear();
	free(rec);
	return 0;
}

/* Every org key: a single public key, distinct primary fingerprints. */
static int org_keys(struct klic_vendor *v, struct klic_kent *e, const char **bad_file,
		    const struct klic_vendor_entitle_opts *o)
{
	char uid[KLIC_MAX_UID_LEN + 1];
	uint8_t *key = NULL;
	size_t len = 0;
	int r;

	if (o->n_org_key_files < 1 || o->n_org_key_files > KLIC_MAX_ORG_KEYS)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "1..%d org keys", KLIC_MAX_ORG_KEYS);
	for (size_t i = 0; i < o->n_org_key_files; i++) {
		*bad_file = o->org_key_files[i];
		r = klic_read_file(&key, &len, o->org_key_files[i], KLIC_MAX_KEY_BYTES);
		if (r == 0)
			r = klic_key_inspect(v->kr, e->org_keys[i], uid, key, len);
		free(key);
		key = NULL;
		if (r != 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (strcmp(e->org_keys[j], e->org_keys[i]) == 0)
				return klic_error_set(KLIC_ERR_KEY,
						      "key %s is given twice (also in %s)",
						      e->org_keys[i], o->org_key_files[j]);
		if (strcmp(e->org_keys[i], v->fpr) == 0)
			return klic_error_set(KLIC_ERR_KEY,
					      "key %s is this vendor's own key, not an org key",
					      v->fpr);
	}
	e->n_org_keys = o->n_org_key_files;
	*bad_file = NULL;
	return 0;
}

static int fill_kent(struct klic_kent *e, const struct klic_vendor *v,
		     const struct klic_vendor_entitle_opts *o)
{
	uint8_t id[16];
	int r;

	if (o->org == NULL || o->org[0] == '\0' || strlen(o->org) > KLIC_MAX_TEXT_LEN ||
	    !klic_is_printable(o->org, strlen(o->org)))
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "--org must be 1..200 printable ASCII characters");
	if (o->ref == NULL || o->ref[0] == '\0' || strlen(o->ref) > KLIC_MAX_TEXT_LEN ||
	    !klic_is_printable(o->ref, strlen(o->ref)))
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "--ref must be 1..200 printable ASCII characters");
	if (o->valid_until <= o->valid_from)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "--until is before --from");
	if ((r = klic_random(id, sizeof id)) != 0)
		return r;
	klic_hex(e->entitlement_id, id, sizeof id);
	snprintf(e->org, sizeof e->org, "%s", o->org);
	snprintf(e->product, sizeof e->product, "%s", o->product);
	snprintf(e->model, sizeof e->model, "%s", o->model);
	snprintf(e->billing, sizeof e->billing, "%s", o->billing);
	snprintf(e->ref, sizeof e->ref, "%s", o->ref);
	memcpy(e->vendor_fpr, v->fpr, sizeof e->vendor_fpr);
	e->seats = o->seats;
	e->valid_from = o->valid_from;
	e->valid_until = o->valid_until;
	e->returnable = o->returnable != 0;
	e->created = klic_now();
	return 0;
}

int klic_vendor_entitle(struct klic_vendor *v, struct klic_kent *out, const char **bad_file,
			const struct klic_vendor_entitle_opts *o)
{
	char rec[KLIC_VENDOR_PATH_MAX], name[KLIC_MAX_NAME_LEN + 1];
	struct klic_kent e, check;
	char *body = NULL;
	uint8_t *signed_ = NULL;
	size_t blen = 0, slen = 0;
	int recorded = 0, made_rec = 0, r;

	memset(&e, 0, sizeof e);
	memset(out, 0, sizeof *out);
	*bad_file = o->out_path;
	if (access(o->out_path, F_OK) == 0)
		return klic_error_set(KLIC_ERR_EXISTS, "refusing to overwrite it");
	if ((r = org_keys(v, &e, bad_file, o)) != 0)
		return r;
	*bad_file = v->state;
	if ((r = fill_kent(&e, v, o)) != 0 || (r = klic_kent_body_build(&body, &blen, &e)) != 0 ||
	    (r = klic_sign_clear(v->kr, &signed_, &slen, v->fpr, (const uint8_t *)body, blen)) != 0)
		goto out;
	/* what is handed out must pass the check every reader makes */
	if ((r = klic_vendor_kent_check(v, &check, &recorded, signed_, slen)) != 0)
		goto out;
	if (strcmp(check.entitlement_id, e.entitlement_id) != 0) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "signed entitlement differs from the body");
		goto out;
	}
	snprintf(name, sizeof name, "%s.kent", e.entitlement_id);
	if ((r = path_join(rec, sizeof rec, v->ents, name)) != 0 ||
	    (r = klic_write_atomic(rec, signed_, slen, 0644, KLIC_WRITE_NOREPLACE)) != 0)
		goto out;
	made_rec = 1;
	*bad_file = o->out_path;
	if ((r = klic_write_atomic(o->out_path, signed_, slen, 0644, KLIC_WRITE_NOREPLACE)) != 0)
		goto out;
	made_rec = 0;
	*out = check;
	*bad_file = NULL;
	r = 0;
out:
	if (made_rec)
		(void)unlink(rec);
	free(body);
	free(signed_);
	return r;
}

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct klic_vendor_ent *)a)->file,
		      ((const struct klic_vendor_ent *)b)->file);
}

/* Re-verify one recorded file into *e. */
static void list_one(struct klic_vendor *v, struct klic_vendor_ent *e)
{
	char path[KLIC_VENDOR_PATH_MAX], want[KLIC_MAX_NAME_LEN + 1];
	uint8_t *buf = NULL;
	size_t len = 0;
	int recorded = 0;

	e->rc = path_join(path, sizeof path, v->ents, e->file);
	if (e->rc == 0)
		e->rc = klic_read_file(&buf, &len, path, KLIC_MAX_KENT_BYTES);
	if (e->rc == 0)
		e->rc = klic_vendor_kent_check(v, &e->kent, &recorded, buf, len);
	if (e->rc == 0) {
		snprintf(want, sizeof want, "%s.kent", e->kent.entitlement_id);
		if (strcmp(want, e->file) != 0)
			e->rc = klic_error_set(KLIC_ERR_MISMATCH, "recorded as %s, its ID is %s",
					       e->file, e->kent.entitlement_id);
	}
	if (e->rc != 0)
		snprintf(e->detail, sizeof e->detail, "%s", klic_error_detail());
	klic_error_clear();
	free(buf);
}

int klic_vendor_list(struct klic_vendor *v, struct klic_vendor_ent **out, size_t *n)
{
	struct klic_vendor_ent *arr = NULL, *grown;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	*out = NULL;
	*n = 0;
	if ((d = opendir(v->ents)) == NULL)
		return klic_error_set(KLIC_ERR_IO, "%s: %s", v->ents, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);

		if (de->d_name[0] == '.' || nl < 6 || nl > KLIC_MAX_NAME_LEN ||
		    strcmp(de->d_name + nl - 5, ".kent") != 0)
			continue;
		if (cnt == KLIC_VENDOR_MAX_ENTS) {
			r = klic_error_set(KLIC_ERR_TOO_BIG, "more than %d entitlements",
					   KLIC_VENDOR_MAX_ENTS);
			goto out;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((grown = realloc(arr, cap * sizeof *arr)) == NULL) {
				r = klic_error_set(KLIC_ERR_NOMEM, "entitlement list");
				goto out;
			}
			arr = grown;
		}
		memset(&arr[cnt], 0, sizeof arr[cnt]);
		memcpy(arr[cnt].file, de->d_name, nl + 1);
		cnt++;
	}
	if (cnt > 0)
		qsort(arr, cnt, sizeof *arr, cmp_ent);
	for (size_t i = 0; i < cnt; i++)
		list_one(v, &arr[i]);
	*out = arr;
	arr = NULL; /* transferred */
	*n = cnt;
out:
	closedir(d);
	free(arr);
	return r;
}
