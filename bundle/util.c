/* klic — small shared helpers (klic_util.h): bounded reading, the one
 * atomic-write helper, SHA-256/HMAC via libgcrypt, hex, times, randomness. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gcrypt.h>

#include "klic_error.h"
#include "klic_internal.h"
#include "klic_util.h"

/* ---- libgcrypt ---------------------------------------------------------- */

static pthread_once_t gcry_once = PTHREAD_ONCE_INIT;
static int gcry_ok;

static void gcry_init_once(void)
{
	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		gcry_ok = 1; /* someone else in the process already did it */
		return;
	}
	if (gcry_check_version(NULL) == NULL)
		return;
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	gcry_ok = 1;
}

int klic_gcrypt_init(void)
{
	if (pthread_once(&gcry_once, gcry_init_once) != 0 || !gcry_ok)
		return klic_error_set(KLIC_ERR_INTERNAL, "libgcrypt initialisation failed");
	return 0;
}

int klic_sha256(uint8_t out[KLIC_SHA256_LEN], const void *buf, size_t len)
{
	int r;

	if (out == NULL || (buf == NULL && len > 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "sha256: NULL argument");
	if ((r = klic_gcrypt_init()) != 0)
		return r;
	gcry_md_hash_buffer(GCRY_MD_SHA256, out, len ? buf : "", len);
	return 0;
}

int klic_sha256_hex(char out[KLIC_SHA256_HEX_LEN + 1], const void *buf, size_t len)
{
	uint8_t d[KLIC_SHA256_LEN];
	int r;

	if ((r = klic_sha256(d, buf, len)) != 0)
		return r;
	klic_hex(out, d, sizeof(d));
	return 0;
}

int klic_hmac_sha256(uint8_t out[32], const void *key, size_t keylen, const void *msg,
		     size_t msglen)
{
	gcry_mac_hd_t h = NULL;
	size_t olen = 32;
	int r = KLIC_ERR_INTERNAL;

	if ((r = klic_gcrypt_init()) != 0)
		return r;
	r = KLIC_ERR_INTERNAL;
	if (gcry_mac_open(&h, GCRY_MAC_HMAC_SHA256, 0, NULL) != 0) {
		klic_error_set(r, "HMAC-SHA256 unavailable");
		h = NULL;
		goto out;
	}
	if (gcry_mac_setkey(h, key, keylen) != 0 || gcry_mac_write(h, msg, msglen) != 0 ||
	    gcry_mac_read(h, out, &olen) != 0 || olen != 32) {
		klic_error_set(r, "HMAC-SHA256 failed");
		goto out;
	}
	r = 0;
out:
	if (h != NULL)
		gcry_mac_close(h);
	return r;
}

/* ---- hex, printable, wipe, random ---------------------------------------- */

void klic_hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int klic_is_hex(const char *s, size_t len)
{
	if (s == NULL)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

int klic_is_upper_hex(const char *s, size_t len)
{
	if (s == NULL)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

int klic_is_printable(const char *s, size_t len)
{
	if (s == NULL && len > 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e)
			return 0;
	}
	return 1;
}

char *klic_printable_copy(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	size_t i = 0;

	if (dstsz == 0)
		return dst;
	for (; src != NULL && i < srclen && src[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = klic_is_printable(src + i, 1) ? src[i] : '?';
	dst[i] = '\0';
	return dst;
}

void klic_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

int klic_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(p + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return klic_error_set(KLIC_ERR_IO, "getrandom: %s", strerror(errno));
		}
		done += (size_t)n;
	}
	return 0;
}

int64_t klic_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- times --------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Parse exactly n decimal digits. */
static int digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

#define KLIC_YEAR_MIN 2000
#define KLIC_YEAR_MAX 9999

static int parse_date_part(int64_t *days, const char *s)
{
	unsigned y, m, d;

	if (digits(s, 4, &y) != 0 || s[4] != '-' || digits(s + 5, 2, &m) != 0 || s[7] != '-' ||
	    digits(s + 8, 2, &d) != 0)
		return -1;
	if (y < KLIC_YEAR_MIN || y > KLIC_YEAR_MAX || m < 1 || m > 12 || d < 1 ||
	    d > days_in_month(y, m))
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

int klic_time_parse(int64_t *out, const char *s)
{
	int64_t days;
	unsigned hh, mm, ss;

	if (out == NULL || s == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "time: NULL argument");
	if (strnlen(s, KLIC_TIME_LEN + 1) != KLIC_TIME_LEN || parse_date_part(&days, s) != 0 ||
	    s[10] != 'T' || digits(s + 11, 2, &hh) != 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mm) != 0 || s[16] != ':' || digits(s + 17, 2, &ss) != 0 ||
	    s[19] != 'Z' || hh > 23 || mm > 59 || ss > 59)
		return klic_error_set(KLIC_ERR_FIELD, "not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
	*out = days * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 + ss;
	return 0;
}

int klic_date_parse(int64_t *out, const char *s)
{
	int64_t days;

	if (out == NULL || s == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "date: NULL argument");
	if (strnlen(s, 11) != 10 || parse_date_part(&days, s) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "not a calendar date (YYYY-MM-DD): %.40s",
				      s);
	*out = days * 86400;
	return 0;
}

int klic_time_format(char out[KLIC_TIME_LEN + 1], int64_t t)
{
	/* 2000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
	const int64_t lo = days_from_civil(KLIC_YEAR_MIN, 1, 1) * 86400;
	const int64_t hi = days_from_civil(KLIC_YEAR_MAX + 1, 1, 1) * 86400;
	int64_t y, days, secs;
	unsigned m, d;
	int n;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "time: NULL argument");
	if (t < lo || t >= hi)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "time %lld outside years 2000..9999",
				      (long long)t);
	days = t / 86400;
	secs = t % 86400;
	civil_from_days(days, &y, &m, &d);
	n = snprintf(out, KLIC_TIME_LEN + 1, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m,
		     d, (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
	if (n != KLIC_TIME_LEN)
		return klic_error_set(KLIC_ERR_INTERNAL, "time format");
	return 0;
}

/* ---- reading -------------------------------------------------------------- */

int klic_read_file(uint8_t **out, size_t *outlen, const char *path, size_t max)
{
	int fd = -1, r = KLIC_ERR_INTERNAL, is_stdin;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;

	if (out == NULL || outlen == NULL || path == NULL || max >= SIZE_MAX - 1)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "read_file: bad argument");
	*out = NULL;
	*outlen = 0;
	is_stdin = strcmp(path, "-") == 0;
	if (is_stdin) {
		fd = STDIN_FILENO;
	} else {
		/* O_NONBLOCK so that opening a FIFO never blocks; refused below */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0) {
			r = klic_error_set(errno == ENOENT ? KLIC_ERR_NOT_FOUND : KLIC_ERR_IO, "%s: %s",
					   path, strerror(errno));
			goto out;
		}
		if (fstat(fd, &st) != 0) {
			r = klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			r = klic_error_set(KLIC_ERR_IO, "%s: not a regular file", path);
			goto out;
		}
		if (st.st_size < 0 || (uint64_t)st.st_size > max) {
			r = klic_error_set(KLIC_ERR_TOO_BIG, "%s: larger than %zu bytes", path, max);
			goto out;
		}
	}
	for (;;) {
		ssize_t n;
		if (cap == 0 || len + 1 == cap) {
			/* grow, at most to max + 2: one byte past max and the NUL */
			size_t ncap = cap == 0 ? 4096 : cap * 2;
			uint8_t *nb;
			if (ncap > max + 2)
				ncap = max + 2;
			if ((nb = realloc(buf, ncap)) == NULL) {
				r = klic_error_set(KLIC_ERR_NOMEM, "%s", path);
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = klic_error_set(KLIC_ERR_TOO_BIG, "%s: larger than %zu bytes", path, max);
			goto out;
		}
	}
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "%s", path);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL; /* transferred */
	*outlen = len;
	r = 0;
out:
	if (fd >= 0 && !is_stdin)
		close(fd);
	free(buf);
	return r;
}

/* ---- fault injection (test builds only) ----------------------------------- */

#ifdef KLIC_FAULT_INJECTION
/* KLIC_FAULT_INJECT="write:N" | "fsync:N" | "rename:N": the Nth such call
 * (counted over the process) inside klic_write_atomic() fails with EIO. */
static unsigned long fault_counters[3];

static int fault_hit(const char *what, int idx)
{
	const char *v = getenv("KLIC_FAULT_INJECT");
	size_t wl = strlen(what);
	unsigned long n, c;
	char *end;

	if (v == NULL || strncmp(v, what, wl) != 0 || v[wl] != ':')
		return 0;
	errno = 0;
	n = strtoul(v + wl + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == v + wl + 1 || n == 0)
		return 0;
	c = __atomic_add_fetch(&fault_counters[idx], 1, __ATOMIC_SEQ_CST);
	if (c == n) {
		errno = EIO;
		return 1;
	}
	return 0;
}
#define FAULT(what, idx) fault_hit(what, idx)
#else
#define FAULT(what, idx) 0
#endif

/* ---- writing -------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n;
		if (FAULT("write", 0))
			return -1;
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int do_rename(int dirfd, const char *tmp, const char *base, int noreplace)
{
	if (FAULT("rename", 2))
		return -1;
	if (!noreplace)
		return renameat(dirfd, tmp, dirfd, base);
	if (renameat2(dirfd, tmp, dirfd, base, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* file system without RENAME_NOREPLACE: link() also refuses to replace */
	if (linkat(dirfd, tmp, dirfd, base, 0) != 0)
		return -1;
	(void)unlinkat(dirfd, tmp, 0);
	return 0;
}

/* dir (".", "/" or the part before the last '/') and the base name of
 * path; refuses empty, "." and ".." base names. */
static int split_path(char dir[PATH_MAX], const char **base, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		snprintf(dir, PATH_MAX, ".");
		*base = path;
	} else {
		size_t dl = (size_t)(slash - path);
		if (dl == 0)
			dl = 1; /* "/name" */
		if (dl >= PATH_MAX)
			return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: path too long", path);
		memcpy(dir, path, dl);
		dir[dl] = '\0';
		*base = slash + 1;
	}
	if ((*base)[0] == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: not a file name", path);
	return 0;
}

/* A new hidden name ".<base>.<what>.<pid>.<6 hex>" in dirfd for which make()
 * succeeds (retried on EEXIST).  The pid lets klic_sweep_stale() tell the
 * leftovers of a killed writer from the files of a live one.  make returns a fd (>= 0), 0 for success
 * without a fd, or -1 with errno. */
static int fresh_name(char name[NAME_MAX + 1], const char *path, const char *base,
		      const char *what, int (*make)(int dirfd, const char *name, void *ctx),
		      int dirfd, void *ctx, int *fd_out)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		uint8_t rnd[3];
		char sfx[7];
		int n, r;
		if ((r = klic_random(rnd, sizeof(rnd))) != 0)
			return r;
		klic_hex(sfx, rnd, sizeof(rnd));
		n = snprintf(name, NAME_MAX + 1, ".%s.%s.%ld.%s", base, what, (long)getpid(), sfx);
		if (n < 0 || n > NAME_MAX)
			return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: file name too long", path);
		*fd_out = make(dirfd, name, ctx);
		if (*fd_out >= 0)
			return 0;
		if (errno != EEXIST)
			return klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
	}
	return klic_error_set(KLIC_ERR_IO, "%s: cannot create a temporary name", path);
}

static int make_temp(int dirfd, const char *name, void *ctx)
{
	return openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      *(const mode_t *)ctx);
}

static int make_backup(int dirfd, const char *name, void *ctx)
{
	/* a second name for the current target (kept until all is done) */
	if (linkat(dirfd, (const char *)ctx, dirfd, name, 0) == 0)
		return 0;
	if (errno != EPERM && errno != EOPNOTSUPP && errno != EMLINK && errno != ENOSYS)
		return -1;
	/* no hard links here (vfat, some network shares): move it aside; the
	 * target is then absent until the new file is renamed in */
	return renameat2(dirfd, (const char *)ctx, dirfd, name, RENAME_NOREPLACE) == 0 ? 0 : -1;
}

/* Write buf to a new temp file in dirfd and fsync it (name in tmp). */
static int write_temp(char tmp[NAME_MAX + 1], int dirfd, const char *path, const char *base,
		      const void *buf, size_t len, mode_t mode)
{
	int fd = -1, r;

	if ((r = fresh_name(tmp, path, base, "tmp", make_temp, dirfd, &mode, &fd)) != 0)
		return r;
	if (fchmod(fd, mode) != 0 || write_all(fd, buf, len) != 0 || FAULT("fsync", 1) ||
	    fsync(fd) != 0) {
		r = klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
		close(fd);
		(void)unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (close(fd) != 0) {
		r = klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
		(void)unlinkat(dirfd, tmp, 0);
		return r;
	}
	return 0;
}

int klic_write_atomic(const char *path, const void *buf, size_t len, mode_t mode, int flags)
{
	char dir[PATH_MAX], tmp[NAME_MAX + 1];
	const char *base;
	int dirfd = -1, r = KLIC_ERR_INTERNAL, have_tmp = 0;

	if (path == NULL || (buf == NULL && len > 0) || (flags & ~KLIC_WRITE_NOREPLACE) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "write_atomic: bad argument");
	if (strcmp(path, "-") == 0) {
		if (write_all(STDOUT_FILENO, buf, len) != 0)
			return klic_error_set(KLIC_ERR_IO, "standard output: %s", strerror(errno));
		return 0;
	}
	if ((r = split_path(dir, &base, path)) != 0)
		return r;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		r = klic_error_set(KLIC_ERR_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((r = write_temp(tmp, dirfd, path, base, buf, len, mode)) != 0)
		goto out;
	have_tmp = 1;
	if (do_rename(dirfd, tmp, base, flags & KLIC_WRITE_NOREPLACE) != 0) {
		if (errno == EEXIST)
			r = klic_error_set(KLIC_ERR_EXISTS, "%s: already exists", path);
		else
			r = klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	have_tmp = 0;
	if (FAULT("fsync", 1) || fsync(dirfd) != 0) {
		/* the new file is in place but its directory entry may not be
		 * durable: report it, the caller treats this as failure */
		r = klic_error_set(KLIC_ERR_IO, "%s: fsync of directory: %s", dir, strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (have_tmp)
		(void)unlinkat(dirfd, tmp, 0);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

/* One file of a set: where, and how far it got. */
struct set_slot {
	int dirfd;
	dev_t dev; /* its directory, to sync each directory once */
	ino_t ino;
	int dir_seen;
	const char *base;
	char tmp[NAME_MAX + 1]; /* "" when none */
	char bak[NAME_MAX + 1]; /* "" when the target did not exist */
	int renamed;
};

/* Undo what a set did, newest first: put each previous file back, remove
 * new ones, remove temps; then make the directories durable. */
static void set_undo(struct set_slot *s, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		int keep_bak = 0;
		if (s[i].renamed) {
			if (s[i].bak[0] != '\0') {
				if (renameat(s[i].dirfd, s[i].bak, s[i].dirfd, s[i].base) == 0)
					s[i].bak[0] = '\0';
				else
					keep_bak = 1; /* the only copy of the previous file */
			} else {
				(void)unlinkat(s[i].dirfd, s[i].base, 0);
			}
			s[i].renamed = 0;
		} else if (s[i].bak[0] != '\0' &&
			   fstatat(s[i].dirfd, s[i].base, &(struct stat){0}, AT_SYMLINK_NOFOLLOW) != 0) {
			/* moved aside (no hard links), the new file not in yet */
			if (renameat(s[i].dirfd, s[i].bak, s[i].dirfd, s[i].base) == 0)
				s[i].bak[0] = '\0';
			else
				keep_bak = 1;
		}
		if (s[i].tmp[0] != '\0')
			(void)unlinkat(s[i].dirfd, s[i].tmp, 0);
		if (s[i].bak[0] != '\0' && !keep_bak)
			(void)unlinkat(s[i].dirfd, s[i].bak, 0);
		s[i].tmp[0] = s[i].bak[0] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		if (s[i].dirfd >= 0)
			(void)fsync(s[i].dirfd);
}

int klic_write_atomic_set(const struct klic_write_item *items, size_t n)
{
	struct set_slot *s = NULL;
	char dir[PATH_MAX];
	size_t i, opened = 0;
	int r = KLIC_ERR_INTERNAL;

	if (items == NULL || n == 0 || n > KLIC_WRITE_SET_MAX)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "write set: bad argument");
	if ((s = calloc(n, sizeof(*s))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "write set");
	for (i = 0; i < n; i++)
		s[i].dirfd = -1;
	/* 1. every new content in a synced temp file beside its target */
	for (i = 0; i < n; i++) {
		const struct klic_write_item *it = &items[i];
		if (it->path == NULL || strcmp(it->path, "-") == 0 ||
		    (it->buf == NULL && it->len > 0)) {
			r = klic_error_set(KLIC_ERR_INVALID_ARG, "write set: bad item");
			goto fail;
		}
		if ((r = split_path(dir, &s[i].base, it->path)) != 0)
			goto fail;
		s[i].dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s[i].dirfd < 0) {
			r = klic_error_set(KLIC_ERR_IO, "%s: %s", dir, strerror(errno));
			goto fail;
		}
		opened = i + 1;
		{
			struct stat dst;
			if (fstat(s[i].dirfd, &dst) != 0) {
				r = klic_error_set(KLIC_ERR_IO, "%s: %s", dir, strerror(errno));
				goto fail;
			}
			s[i].dev = dst.st_dev;
			s[i].ino = dst.st_ino;
			for (size_t j = 0; j < i; j++)
				if (s[j].dev == s[i].dev && s[j].ino == s[i].ino)
					s[i].dir_seen = 1;
		}
		if ((r = write_temp(s[i].tmp, s[i].dirfd, it->path, s[i].base, it->buf, it->len,
				    it->mode)) != 0) {
			s[i].tmp[0] = '\0';
			goto fail;
		}
	}
	/* 2. keep a second name for each file that will be replaced, then
	 *    rename each temp over its target */
	for (i = 0; i < n; i++) {
		struct stat st;
		int fd = -1;
		if (fstatat(s[i].dirfd, s[i].base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISREG(st.st_mode)) {
				r = klic_error_set(KLIC_ERR_EXISTS, "%s: exists and is not a file",
						   items[i].path);
				goto fail;
			}
			if ((r = fresh_name(s[i].bak, items[i].path, s[i].base, "bak", make_backup,
					    s[i].dirfd, (void *)(uintptr_t)s[i].base, &fd)) != 0) {
				s[i].bak[0] = '\0';
				goto fail;
			}
		} else if (errno != ENOENT) {
			r = klic_error_set(KLIC_ERR_IO, "%s: %s", items[i].path, strerror(errno));
			goto fail;
		}
		if (do_rename(s[i].dirfd, s[i].tmp, s[i].base, 0) != 0) {
			r = klic_error_set(KLIC_ERR_IO, "%s: %s", items[i].path, strerror(errno));
			goto fail;
		}
		s[i].tmp[0] = '\0';
		s[i].renamed = 1;
	}
	/* 3. durable: each directory once */
	for (i = 0; i < n; i++) {
		if (s[i].dir_seen)
			continue;
		if (FAULT("fsync", 1) || fsync(s[i].dirfd) != 0) {
			r = klic_error_set(KLIC_ERR_IO, "%s: fsync of directory: %s", items[i].path,
					   strerror(errno));
			goto fail;
		}
	}
	/* 4. done: the previous files go (a second name that survives a crash
	 * here is swept by klic_sweep_stale()) */
	for (i = 0; i < n; i++) {
		if (s[i].bak[0] != '\0')
			(void)unlinkat(s[i].dirfd, s[i].bak, 0);
		close(s[i].dirfd);
	}
	free(s);
	return 0;
fail:
	set_undo(s, opened);
	for (i = 0; i < opened; i++)
		if (s[i].dirfd >= 0)
			close(s[i].dirfd);
	free(s);
	return r;
}

/* ".<name>.tmp.<pid>.<6 hex>" or ".<name>.bak.<pid>.<6 hex>": *pid, and
 * *name_len the length of <name>. */
static int parse_stale(const char *n, long *pid, size_t *name_len)
{
	const char *rnd, *p;
	char *end;
	size_t len = strlen(n);

	if (n[0] != '.' || len < 16)
		return 0;
	rnd = n + len - 6;
	for (p = rnd; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	if (rnd[-1] != '.')
		return 0;
	for (p = rnd - 2; p > n && *p >= '0' && *p <= '9'; p--)
		;
	if (p == rnd - 2 || *p != '.' || p - n < 5 ||
	    (memcmp(p - 4, ".tmp", 4) != 0 && memcmp(p - 4, ".bak", 4) != 0))
		return 0;
	errno = 0;
	*pid = strtol(p + 1, &end, 10);
	*name_len = (size_t)(p - 4 - (n + 1));
	return errno == 0 && end == rnd - 1 && *pid > 0;
}

int klic_sweep_stale(const char *dir, const char *ext)
{
	DIR *d;
	struct dirent *e;
	size_t nl, el = ext != NULL ? strlen(ext) : 0;
	long pid;

	if (dir == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "sweep: no directory");
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : klic_error_set(KLIC_ERR_IO, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (!parse_stale(e->d_name, &pid, &nl) || pid == (long)getpid())
			continue;
		if (el > 0 && (nl < el || memcmp(e->d_name + 1 + nl - el, ext, el) != 0))
			continue; /* not one of the files this command writes */
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* its writer may still be at work */
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return 0;
}

int klic_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len;
	struct stat st;

	if (path == NULL || path[0] == '\0')
		return klic_error_set(KLIC_ERR_INVALID_ARG, "mkdir: empty path");
	len = strnlen(path, sizeof(buf));
	if (len >= sizeof(buf))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "mkdir: path too long");
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue; /* "//" */
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, mode) != 0) {
			int e = errno;
			if (e != EEXIST || stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
				int r = klic_error_set(KLIC_ERR_IO, "%s: %s", buf,
						       e == EEXIST ? "not a directory" : strerror(e));
				return r;
			}
		} else if (chmod(buf, mode) != 0) {
			return klic_error_set(KLIC_ERR_IO, "%s: %s", buf, strerror(errno));
		}
		buf[i] = saved;
	}
	return 0;
}
