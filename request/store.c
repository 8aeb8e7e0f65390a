/* klic — the user's small state files: pinned issuers, pending requests,
 * installed markers, the trusted clock (spec 5.1, 5.5, 5.6). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "klic_request.h"
#include "request_int.h"

int klic_rq_path(char out[KLIC_PATH_MAX], const char *a, const char *b)
{
	int n = snprintf(out, KLIC_PATH_MAX, "%s/%s", a, b);
	if (n < 0 || n >= KLIC_PATH_MAX) {
		out[0] = '\0';
		return klic_error_set(KLIC_ERR_INVALID_ARG, "path too long: %s/%s", a, b);
	}
	return 0;
}

int klic_rq_exists(const char *path, int *exists)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		*exists = 1;
		return 0;
	}
	*exists = 0;
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	return klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
}

/* ---- pinned issuers ------------------------------------------------------- */
int klic_rq_issuers_load(struct klic_user *u)
{
	char path[KLIC_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r, exists;

	u->n_issuers = 0;
	if ((r = klic_rq_path(path, u->home, "klic/issuers")) != 0 ||
	    (r = klic_rq_exists(path, &exists)) != 0 || !exists)
		return r;
	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_ISSUERS * (KLIC_FPR_HEX_LEN + 1))) != 0)
		goto out;
	for (size_t off = 0; off < len;) {
		char line[KLIC_FPR_HEX_LEN + 1];
		if (len - off < KLIC_FPR_HEX_LEN + 1 || buf[off + KLIC_FPR_HEX_LEN] != '\n' ||
		    u->n_issuers >= KLIC_MAX_ISSUERS) {
			r = klic_error_set(KLIC_ERR_FIELD, "%s: malformed (one fingerprint a line)", path);
			goto out;
		}
		memcpy(line, buf + off, KLIC_FPR_HEX_LEN);
		line[KLIC_FPR_HEX_LEN] = '\0';
		if (klic_fpr_check(line) != 0) {
			r = klic_error_set(KLIC_ERR_FIELD, "%s: malformed fingerprint", path);
			goto out;
		}
		memcpy(u->issuers[u->n_issuers++], line, sizeof(line));
		off += KLIC_FPR_HEX_LEN + 1;
	}
	r = 0;
out:
	if (r != 0)
		u->n_issuers = 0;
	free(buf);
	return r;
}

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

/* ---- trusted clock ----------------------------------------------------------- */
int klic_clock_rule(int64_t now, int64_t trusted)
{
	if (trusted > 0 && now < trusted - KLIC_CLOCK_SKEW) {
		char s[KLIC_TIME_LEN + 1] = "?";
		(void)klic_time_format(s, trusted);
		return klic_error_set(KLIC_ERR_CLOCK, "system clock is earlier than %s", s);
	}
	return 0;
}

int klic_clock_read(int64_t *out, const char *home)
{
	char path[KLIC_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r, exists;

	*out = 0;
	if ((r = klic_rq_path(path, home, "klic/clock")) != 0 ||
	    (r = klic_rq_exists(path, &exists)) != 0 || !exists)
		return r;
	r = klic_read_file(&buf, &len, path, 64);
	if (r == KLIC_ERR_TOO_BIG)
		r = klic_error_set(KLIC_ERR_CLOCK, "%s is malformed", path);
	if (r != 0)
		goto out;
	if (len != KLIC_TIME_LEN + 1 || buf[KLIC_TIME_LEN] != '\n') {
		r = klic_error_set(KLIC_ERR_CLOCK, "%s is malformed", path);
		goto out;
	}
	buf[KLIC_TIME_LEN] = '\0';
	if (klic_time_parse(out, (const char *)buf) != 0) {
		*out = 0;
		r = klic_error_set(KLIC_ERR_CLOCK, "%s is malformed", path);
	}
out:
	free(buf);
	return r;
}

int klic_user_clock_check(struct klic_user *u, int64_t now)
{
	int64_t t;
	int r = klic_clock_read(&t, u->home);
	return r != 0 ? r : klic_clock_rule(now, t);
}

int klic_user_clock_advance(struct klic_user *u, int64_t t)
{
	char path[KLIC_PATH_MAX], dir[KLIC_PATH_MAX], s[KLIC_TIME_LEN + 2];
	int64_t cur;
	int r;

	if ((r = klic_clock_read(&cur, u->home)) != 0)
		return r;
	if (t <= cur)
		return 0;
	if ((r = klic_rq_path(dir, u->home, "klic")) != 0 || (r = klic_mkdir_p(dir, 0700)) != 0 ||
	    (r = klic_rq_path(path, dir, "clock")) != 0 || (r = klic_time_format(s, t)) != 0 ||
	    (r = klic_sweep_stale(dir, NULL)) != 0)
		return r;
	s[KLIC_TIME_LEN] = '\n';
	s[KLIC_TIME_LEN + 1] = '\0';
	return klic_write_atomic(path, s, KLIC_TIME_LEN + 1, 0600, 0);
}
