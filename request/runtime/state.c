/* klic — the user's state as a license check needs it: paths, the
 * pinned issuers, the keyring, the trusted clock (spec 5.4, 5.5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_int.h"

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
			r = klic_error_set(KLIC_ERR_FIELD, "%s: malformed (one fingerprint a line)",
					   path);
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

/* ---- the user's state ------------------------------------------------------ */
int klic_user_setup(struct klic_user *u, const char *home, const char *gnupghome,
		    const char *passphrase_file)
{
	int r, n;

	memset(u, 0, sizeof(*u));
	if (home == NULL || home[0] == '\0')
		return klic_error_set(KLIC_ERR_INVALID_ARG, "empty home");
	n = snprintf(u->home, sizeof(u->home), "%s", home);
	if (n < 0 || (size_t)n >= sizeof(u->home))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "home path too long");
	if (gnupghome != NULL) {
		if (gnupghome[0] == '\0')
			return klic_error_set(KLIC_ERR_INVALID_ARG, "--gnupghome is empty");
		n = snprintf(u->gnupghome, sizeof(u->gnupghome), "%s", gnupghome);
		if (n < 0 || (size_t)n >= sizeof(u->gnupghome))
			return klic_error_set(KLIC_ERR_INVALID_ARG, "gnupghome path too long");
	} else {
		if ((r = klic_rq_path(u->gnupghome, home, "klic/gnupg")) != 0)
			return r;
		u->own_keyring = 1;
	}
	if ((r = klic_home_license_dir(u->licdir, klic_host_os(), home)) != 0)
		return r;
	u->passphrase_file = passphrase_file;
	return klic_rq_issuers_load(u);
}

int klic_user_open_keyring(struct klic_user *u, int create)
{
	char dir[KLIC_PATH_MAX];
	int r;

	if (u->kr != NULL)
		return 0;
	/* --gnupghome: an existing keyring, never created by us */
	if (!u->own_keyring)
		create = 0;
	if (create) {
		if ((r = klic_rq_path(dir, u->home, "klic")) != 0 ||
		    (r = klic_mkdir_p(dir, 0700)) != 0)
			return r;
	}
	if ((r = klic_keyring_open(&u->kr, u->gnupghome, create)) != 0) {
		u->kr = NULL;
		return r;
	}
	if (u->passphrase_file != NULL &&
	    (r = klic_keyring_set_passphrase_file(u->kr, u->passphrase_file)) != 0) {
		klic_keyring_free(u->kr);
		u->kr = NULL;
		return r;
	}
	return 0;
}

void klic_user_dispose(struct klic_user *u)
{
	klic_keyring_free(u->kr);
	u->kr = NULL;
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
	return klic_clock_update(u->home, t);
}

int klic_clock_load(int64_t *trusted, enum klic_clock_state *state, const char *home)
{
	char path[KLIC_PATH_MAX];
	int r, exists;

	*trusted = 0;
	*state = KLIC_CLOCK_MISSING;
	if ((r = klic_rq_path(path, home, "klic/clock")) != 0)
		return r;
	if (klic_rq_exists(path, &exists) != 0 || (exists && access(path, R_OK) != 0)) {
		klic_error_clear();
		*state = KLIC_CLOCK_UNREADABLE;
		return 0;
	}
	if (!exists)
		return 0;
	r = klic_clock_read(trusted, home);
	if (r == KLIC_ERR_IO || r == KLIC_ERR_NOT_FOUND) {
		klic_error_clear();
		*state = KLIC_CLOCK_UNREADABLE;
		return 0;
	}
	if (r == 0)
		*state = KLIC_CLOCK_RECORD;
	return r;
}

/* The record, opened and locked: the fd of the file now at path (an
 * update renames a new file over it: a lock on the old one is retried). */
static int clock_lock(const char *path, int *fd_out)
{
	struct stat a, b;
	int fd;

	for (int tries = 0; tries < 16; tries++) {
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
		if (flock(fd, LOCK_EX) != 0) {
			close(fd);
			return klic_error_set(KLIC_ERR_IO, "%s: flock: %s", path, strerror(errno));
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			*fd_out = fd;
			return 0;
		}
		close(fd);
	}
	return klic_error_set(KLIC_ERR_IO, "%s: keeps changing", path);
}

int klic_clock_update(const char *home, int64_t t)
{
	char path[KLIC_PATH_MAX], dir[KLIC_PATH_MAX], s[KLIC_TIME_LEN + 2];
	int64_t cur = 0;
	int r, fd = -1;

	if ((r = klic_rq_path(dir, home, "klic")) != 0 || (r = klic_rq_path(path, dir, "clock")) != 0)
		return r;
	if ((r = klic_clock_read(&cur, home)) != 0 || t <= cur)
		return r; /* a malformed record is not repaired here; nothing to move */
	if ((r = klic_time_format(s, t)) != 0)
		return r;
	s[KLIC_TIME_LEN] = '\n';
	s[KLIC_TIME_LEN + 1] = '\0';
	if ((r = klic_mkdir_p(dir, 0700)) != 0 || (r = klic_sweep_stale(dir, NULL)) != 0)
		return r;
	/* the first record appears whole (never an empty file a reader sees) */
	if (cur == 0) {
		r = klic_write_atomic(path, s, KLIC_TIME_LEN + 1, 0600, KLIC_WRITE_NOREPLACE);
		if (r != KLIC_ERR_EXISTS)
			return r;
		klic_error_clear();
	}
	if ((r = clock_lock(path, &fd)) != 0)
		return r;
	/* under the lock: read again (another update may have run) */
	if ((r = klic_clock_read(&cur, home)) == 0 && t > cur)
		r = klic_write_atomic(path, s, KLIC_TIME_LEN + 1, 0600, 0);
	close(fd); /* releases the lock */
	return r;
}
