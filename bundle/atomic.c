/* klic — the one atomic-write helper, the atomic set of files, and the sweep
 * of what a killed writer left behind (klic_util.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_error.h"
#include "klic_util.h"

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
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
 * leftovers of a killed writer from the files of a live one.  make returns a fd (>= 0), 0 for
 * success without a fd, or -1 with errno. */
static int fresh_name(char name[NAME_MAX + 1], const char *path, const char *base, const char *what,
		      int (*make)(int dirfd, const char *name, void *ctx), int dirfd, void *ctx,
		      int *fd_out)
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
	if (fchmod(fd, mode) != 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
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
	if (fsync(dirfd) != 0) {
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
		} else if (s[i].bak[0] != '\0' && fstatat(s[i].dirfd, s[i].base, &(struct stat){0},
							  AT_SYMLINK_NOFOLLOW) != 0) {
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
		if (fsync(s[i].dirfd) != 0) {
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
		return errno == ENOENT
			   ? 0
			   : klic_error_set(KLIC_ERR_IO, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (!parse_stale(e->d_name, &pid, &nl) || pid == (long)getpid())
			continue;
		if (el > 0 && (nl < el || memcmp(e->d_name + 1 + nl - el, ext, el) != 0))
			continue; /* not one of the files this command writes */
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* its writer may still be at work */
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return 0;
}
