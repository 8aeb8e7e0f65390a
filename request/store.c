/* klic — the user's small state files that only the klic tool writes:
 * the pinned issuers list and pending requests (spec 5.1, 5.6).  Reading
 * the issuers and the trusted clock is request/runtime/state.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_request.h"
#include "klic_return.h"
#include "request_int.h"

/* ---- pinned issuers ------------------------------------------------------- */
int klic_rq_issuers_save(const struct klic_user *u)
{
	char path[KLIC_PATH_MAX], dir[KLIC_PATH_MAX];
	char text[KLIC_MAX_ISSUERS * (KLIC_FPR_HEX_LEN + 1)];
	size_t off = 0;
	int r;

	if (u->n_issuers > KLIC_MAX_ISSUERS)
		return klic_error_set(KLIC_ERR_INTERNAL, "issuer count");
	for (size_t i = 0; i < u->n_issuers; i++) {
		memcpy(text + off, u->issuers[i], KLIC_FPR_HEX_LEN);
		off += KLIC_FPR_HEX_LEN;
		text[off++] = '\n';
	}
	if ((r = klic_rq_path(dir, u->home, "klic")) != 0 || (r = klic_mkdir_p(dir, 0700)) != 0 ||
	    (r = klic_rq_path(path, dir, "issuers")) != 0 || (r = klic_sweep_stale(dir, NULL)) != 0)
		return r;
	return klic_write_atomic(path, text, off, 0644, 0);
}

/* ---- pending requests ------------------------------------------------------ */
static int pending_path(char out[KLIC_PATH_MAX], const char *home, const char *digest)
{
	int n;
	if (digest == NULL || strlen(digest) != KLIC_SHA256_HEX_LEN ||
	    !klic_is_hex(digest, KLIC_SHA256_HEX_LEN))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "request digest is not 64 hex digits");
	n = snprintf(out, KLIC_PATH_MAX, "%s/klic/pending/%s.json", home, digest);
	if (n < 0 || n >= KLIC_PATH_MAX)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "home path too long");
	return 0;
}

int klic_pending_store(const char *home, char digest[KLIC_SHA256_HEX_LEN + 1],
		       const uint8_t *manifest, size_t len)
{
	char dir[KLIC_PATH_MAX], path[KLIC_PATH_MAX];
	int r;

	if ((r = klic_sha256_hex(digest, manifest, len)) != 0)
		return r;
	if ((r = klic_rq_path(dir, home, "klic/pending")) != 0 ||
	    (r = klic_mkdir_p(dir, 0700)) != 0 || (r = pending_path(path, home, digest)) != 0 ||
	    (r = klic_sweep_stale(dir, NULL)) != 0)
		return r;
	return klic_write_atomic(path, manifest, len, 0600, 0);
}

int klic_pending_remove(const char *home, const char *digest)
{
	char path[KLIC_PATH_MAX];
	int r;

	if ((r = pending_path(path, home, digest)) != 0)
		return r;
	if (unlink(path) != 0 && errno != ENOENT)
		return klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
	return 0;
}

int klic_pending_load(struct klic_request *out, const char *home, const char *digest)
{
	char path[KLIC_PATH_MAX], h[KLIC_SHA256_HEX_LEN + 1];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r, exists;

	memset(out, 0, sizeof(*out));
	if ((r = pending_path(path, home, digest)) != 0 || (r = klic_rq_exists(path, &exists)) != 0)
		return r;
	if (!exists)
		return klic_error_set(KLIC_ERR_NOT_PENDING, "request %.12s... was not made from %s",
				      digest, home);
	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_MANIFEST_BYTES)) != 0)
		goto out;
	if ((r = klic_sha256_hex(h, buf, len)) != 0)
		goto out;
	if (strcmp(h, digest) != 0) {
		r = klic_error_set(KLIC_ERR_NOT_PENDING, "%s does not match its digest", path);
		goto out;
	}
	if ((r = klic_request_manifest_parse(out, buf, len)) != 0) {
		char d[256];
		snprintf(d, sizeof(d), "%s", klic_error_detail());
		r = klic_error_set(KLIC_ERR_NOT_PENDING, "%s: %s", path, d);
		goto out;
	}
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	free(buf);
	return r;
}

/* ---- returned licenses (spec 5.11) ---------------------------------------- */
/* The list <home>/klic/returned: "<32 hex>\n" lines.  *buf owned by the
 * caller (NULL and *len 0 when there is no file). */
static int returned_read(uint8_t **buf, size_t *len, const char *home)
{
	char path[KLIC_PATH_MAX];
	int r, exists;

	*buf = NULL;
	*len = 0;
	if ((r = klic_rq_path(path, home, KLIC_RETURNED_FILE)) != 0 ||
	    (r = klic_rq_exists(path, &exists)) != 0 || !exists)
		return r;
	if ((r = klic_read_file(buf, len, path, (size_t)KLIC_MAX_RETURNED * 33)) != 0)
		return r;
	for (size_t i = 0; i < *len; i += 33)
		if (*len - i < 33 || !klic_is_hex((const char *)*buf + i, 32) ||
		    (*buf)[i + 32] != '\n') {
			free(*buf);
			*buf = NULL;
			*len = 0;
			return klic_error_set(KLIC_ERR_FIELD, "%s: line %zu is not a license ID",
					      path, i / 33 + 1);
		}
	return 0;
}

static int returned_in(const uint8_t *buf, size_t len, const char *id)
{
	for (size_t i = 0; i + 33 <= len; i += 33)
		if (memcmp(buf + i, id, 32) == 0)
			return 1;
	return 0;
}

int klic_returned_has(const char *home, const char *license_id, int *yes)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*yes = 0;
	if (strlen(license_id) != 32 || !klic_is_hex(license_id, 32))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "not a license ID");
	if ((r = returned_read(&buf, &len, home)) != 0)
		return r;
	*yes = returned_in(buf, len, license_id);
	free(buf);
	return 0;
}

int klic_returned_add(const char *home, const char (*ids)[33], size_t n)
{
	char dir[KLIC_PATH_MAX], path[KLIC_PATH_MAX];
	uint8_t *buf = NULL, *out = NULL;
	size_t len = 0, olen;
	int r;

	if ((r = returned_read(&buf, &len, home)) != 0)
		return r;
	if (len / 33 + n > KLIC_MAX_RETURNED) {
		r = klic_error_set(KLIC_ERR_TOO_BIG, "more than %d returned licenses",
				   KLIC_MAX_RETURNED);
		goto out;
	}
	if ((out = malloc(len + n * 33 + 1)) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "returned list");
		goto out;
	}
	if (len > 0)
		memcpy(out, buf, len);
	olen = len;
	for (size_t i = 0; i < n; i++) {
		if (strlen(ids[i]) != 32 || !klic_is_hex(ids[i], 32)) {
			r = klic_error_set(KLIC_ERR_INVALID_ARG, "not a license ID");
			goto out;
		}
		if (returned_in(out, olen, ids[i]))
			continue;
		memcpy(out + olen, ids[i], 32);
		out[olen + 32] = '\n';
		olen += 33;
	}
	if ((r = klic_rq_path(dir, home, "klic")) != 0 || (r = klic_mkdir_p(dir, 0700)) != 0 ||
	    (r = klic_rq_path(path, home, KLIC_RETURNED_FILE)) != 0 ||
	    (r = klic_sweep_stale(dir, NULL)) != 0)
		goto out;
	r = klic_write_atomic(path, out, olen, 0600, 0);
out:
	free(buf);
	free(out);
	return r;
}
