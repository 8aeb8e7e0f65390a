/* TEST-ONLY fault-injection shim (LD_PRELOAD), built only with the tests and
 * never linked into klic or klic-admin: the release binaries carry no seam.
 *
 * It interposes the file-system calls both tools make, directly or through
 * SQLite (whose system-call table takes the addresses of these symbols, so
 * interposition reaches it too):
 *
 *   write    write pwrite pwrite64 writev
 *   fsync    fsync fdatasync
 *   rename   rename renameat renameat2 link linkat
 *   create   open/open64/openat/openat64 with O_CREAT, creat, mkdir, mkdirat
 *   truncate ftruncate ftruncate64
 *   unlink   unlink unlinkat (opt-in: counted only when KLIC_FAULT's class
 *            is "unlink" or KLIC_FAULT_UNLINK=1, never in "any", so the
 *            plans of the other loops stay as they are)
 *
 * and counts the calls that act on a regular file or directory under
 * KLIC_FAULT_PREFIX (a directory; default: every regular file and
 * directory).  Pipes, sockets and terminals (the gpg channels, stdout,
 * stderr) are never counted.  Environment:
 *
 *   KLIC_FAULT=OP:N[:ERRNO][:persist]
 *       OP is one of the classes above or "any" (all classes, one
 *       sequence); the Nth counted call of OP fails with ERRNO (ENOSPC,
 *       EIO, EDQUOT, EROFS; default EIO) without doing anything.  With
 *       "persist" every later counted call of OP fails too (a disk that
 *       stays full).  ERRNO "KILL" instead kills the process with SIGKILL
 *       just before the Nth call (a crash at exactly that point).  Unset
 *       or empty: count only.
 *   KLIC_FAULT_PREFIX=DIR   only paths under DIR count.
 *   KLIC_FAULT_LOG=FILE     append one line per counted call:
 *       "SEQ CLASS CLASS_SEQ FUNC RESULT PATH" (RESULT "ok" or "FAIL").
 *
 * Only the process that loaded the shim counts: the constructor removes
 * LD_PRELOAD from the environment, so gpg and the gpg-agent that GPGME
 * spawns run unaffected, and calls made in a forked child before it execs
 * are passed through.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#undef _FORTIFY_SOURCE /* we define open() etc. ourselves */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* The interposed functions must be exported whatever the project's default
 * symbol visibility is. */
#pragma GCC visibility push(default)

enum { C_WRITE, C_FSYNC, C_RENAME, C_CREATE, C_TRUNCATE, C_UNLINK, C_N, C_ANY = C_N };

static const char *const class_name[C_N + 1] = {"write",    "fsync",  "rename", "create",
						"truncate", "unlink", "any"};

static pid_t main_pid;
static int armed;	     /* KLIC_FAULT parsed */
static int fault_class;	     /* C_* or C_ANY */
static unsigned long fault_n; /* 1-based */
static int fault_errno; /* 0 until parsed; default EIO */
static int fault_persist;
static int fault_kill; /* SIGKILL instead of an error */
static int count_unlink; /* unlink calls count (opt-in) */
static char prefix[PATH_MAX];
static size_t prefix_len;
static char log_path[PATH_MAX];
static unsigned long seq_any, seq_class[C_N];

/* the real functions */
static ssize_t (*r_write)(int, const void *, size_t);
static ssize_t (*r_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*r_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*r_writev)(int, const struct iovec *, int);
static int (*r_fsync)(int);
static int (*r_fdatasync)(int);
static int (*r_rename)(const char *, const char *);
static int (*r_renameat)(int, const char *, int, const char *);
static int (*r_renameat2)(int, const char *, int, const char *, unsigned);
static int (*r_link)(const char *, const char *);
static int (*r_linkat)(int, const char *, int, const char *, int);
static int (*r_open)(const char *, int, ...);
static int (*r_open64)(const char *, int, ...);
static int (*r_openat)(int, const char *, int, ...);
static int (*r_openat64)(int, const char *, int, ...);
static int (*r_creat)(const char *, mode_t);
static int (*r_mkdir)(const char *, mode_t);
static int (*r_mkdirat)(int, const char *, mode_t);
static int (*r_ftruncate)(int, off_t);
static int (*r_ftruncate64)(int, off64_t);
static int (*r_unlink)(const char *);
static int (*r_unlinkat)(int, const char *, int);

#define RESOLVE(name) (r_##name = (__typeof__(r_##name))dlsym(RTLD_NEXT, #name))

static void resolve_all(void)
{
	RESOLVE(write);
	RESOLVE(pwrite);
	RESOLVE(pwrite64);
	RESOLVE(writev);
	RESOLVE(fsync);
	RESOLVE(fdatasync);
	RESOLVE(rename);
	RESOLVE(renameat);
	RESOLVE(renameat2);
	RESOLVE(link);
	RESOLVE(linkat);
	RESOLVE(open);
	RESOLVE(open64);
	RESOLVE(openat);
	RESOLVE(openat64);
	RESOLVE(creat);
	RESOLVE(mkdir);
	RESOLVE(mkdirat);
	RESOLVE(ftruncate);
	RESOLVE(ftruncate64);
	RESOLVE(unlink);
	RESOLVE(unlinkat);
}

static int parse_errno(const char *s, size_t n)
{
	static const struct {
		const char *name;
		int e;
	} tab[] = {{"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS}};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strlen(tab[i].name) == n && memcmp(tab[i].name, s, n) == 0)
			return tab[i].e;
	return -1;
}

static void die_config(const char *what)
{
	static const char m[] = "klic fault shim: bad KLIC_FAULT / KLIC_FAULT_PREFIX: ";
	(void)!r_write(2, m, sizeof m - 1);
	(void)!r_write(2, what, strlen(what));
	(void)!r_write(2, "\n", 1);
	_exit(125);
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *v, *p;
	char *end;

	resolve_all();
	main_pid = getpid();
	unsetenv("LD_PRELOAD"); /* gpg and its agent run without the shim */

	if ((v = getenv("KLIC_FAULT_PREFIX")) != NULL && v[0] != '\0') {
		if (realpath(v, prefix) == NULL)
			die_config("KLIC_FAULT_PREFIX does not exist");
		prefix_len = strlen(prefix);
		while (prefix_len > 1 && prefix[prefix_len - 1] == '/')
			prefix[--prefix_len] = '\0';
	}
	if ((v = getenv("KLIC_FAULT_LOG")) != NULL && v[0] != '\0') {
		if (strlen(v) >= sizeof log_path)
			die_config("KLIC_FAULT_LOG too long");
		memcpy(log_path, v, strlen(v) + 1);
	}
	count_unlink = (v = getenv("KLIC_FAULT_UNLINK")) != NULL && strcmp(v, "1") == 0;
	if ((v = getenv("KLIC_FAULT")) == NULL || v[0] == '\0')
		return;
	p = strchr(v, ':');
	if (p == NULL)
		die_config(v);
	fault_class = -1;
	for (int c = 0; c <= C_ANY; c++)
		if (strlen(class_name[c]) == (size_t)(p - v) &&
		    memcmp(class_name[c], v, (size_t)(p - v)) == 0)
			fault_class = c;
	if (fault_class < 0)
		die_config(v);
	errno = 0;
	fault_n = strtoul(p + 1, &end, 10);
	if (errno != 0 || end == p + 1 || fault_n == 0)
		die_config(v);
	/* then ":ERRNO" and/or ":persist", in any order, each at most once */
	while (*end == ':') {
		const char *e = end + 1, *c = strchr(e, ':');
		size_t n = c != NULL ? (size_t)(c - e) : strlen(e);
		int en;
		if (n == 7 && memcmp(e, "persist", 7) == 0 && !fault_persist)
			fault_persist = 1;
		else if (n == 4 && memcmp(e, "KILL", 4) == 0 && fault_errno == 0 && !fault_kill)
			fault_kill = 1, fault_errno = EINTR; /* never seen: the process dies */
		else if ((en = parse_errno(e, n)) > 0 && fault_errno == 0)
			fault_errno = en;
		else
			die_config(v);
		end = (char *)(uintptr_t)(e + n);
	}
	if (*end != '\0')
		die_config(v);
	if (fault_errno == 0)
		fault_errno = EIO;
	if (fault_class == C_UNLINK)
		count_unlink = 1;
	armed = 1;
}

/* ---- which calls count --------------------------------------------------- */

static int under_prefix(const char *abs)
{
	if (prefix_len == 0)
		return 1;
	return strncmp(abs, prefix, prefix_len) == 0 &&
	       (abs[prefix_len] == '/' || abs[prefix_len] == '\0');
}

/* The path an fd refers to, if it is a regular file or a directory. */
static int fd_path(int fd, char out[PATH_MAX])
{
	char link[64];
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
		return -1;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, out, PATH_MAX - 1);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* An absolute (not canonicalized) form of dirfd + path. */
static int at_path(int dirfd, const char *path, char out[PATH_MAX])
{
	char dir[PATH_MAX];
	size_t dl;

	if (path == NULL)
		return -1;
	if (path[0] == '/') {
		if (strlen(path) >= PATH_MAX)
			return -1;
		memcpy(out, path, strlen(path) + 1);
		return 0;
	}
	if (dirfd == AT_FDCWD) {
		if (getcwd(dir, sizeof dir) == NULL)
			return -1;
	} else if (fd_path(dirfd, dir) != 0) {
		return -1;
	}
	dl = strlen(dir);
	if (dl + 1 + strlen(path) >= PATH_MAX)
		return -1;
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, path, strlen(path) + 1);
	return 0;
}

static void log_line(unsigned long s, int cls, unsigned long cs, const char *fn, int failed,
		     const char *path)
{
	char line[PATH_MAX + 128];
	int fd, n;

	if (log_path[0] == '\0')
		return;
	n = snprintf(line, sizeof line, "%lu %s %lu %s %s %s\n", s, class_name[cls], cs, fn,
		     failed ? "FAIL" : "ok", path);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	fd = r_open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)!r_write(fd, line, (size_t)n);
	close(fd);
}

/* Count one call on PATH (NULL: not counted).  Returns 1 when it must
 * fail (errno set). */
static int hit(int cls, const char *fn, const char *path)
{
	unsigned long s, cs, k;
	int fail = 0;

	if (path == NULL || getpid() != main_pid || !under_prefix(path) ||
	    (cls == C_UNLINK && !count_unlink))
		return 0;
	/* an unlink is never one of "any"'s calls (logged with sequence 0) */
	s = cls == C_UNLINK ? 0 : __atomic_add_fetch(&seq_any, 1, __ATOMIC_SEQ_CST);
	cs = __atomic_add_fetch(&seq_class[cls], 1, __ATOMIC_SEQ_CST);
	if (armed) {
		k = fault_class == C_ANY ? s : (fault_class == cls ? cs : 0);
		/* (k is 0 for an unlink under "any": never its turn) */
		if (k != 0 && (k == fault_n || (fault_persist && k > fault_n)))
			fail = 1;
	}
	log_line(s, cls, cs, fn, fail, path);
	if (fail && fault_kill)
		(void)kill(getpid(), SIGKILL);
	if (fail)
		errno = fault_errno;
	return fail;
}

static int hit_fd(int cls, const char *fn, int fd)
{
	char p[PATH_MAX];
	if (getpid() != main_pid || fd_path(fd, p) != 0)
		return 0;
	return hit(cls, fn, p);
}

static int hit_at(int cls, const char *fn, int dirfd, const char *path)
{
	char p[PATH_MAX];
	if (getpid() != main_pid || at_path(dirfd, path, p) != 0)
		return 0;
	return hit(cls, fn, p);
}

/* rename: counted once, on the target name (or the source if the target is
 * outside the prefix). */
static int hit_rename(const char *fn, int ofd, const char *from, int nfd, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	if (getpid() != main_pid)
		return 0;
	if (at_path(nfd, to, b) == 0 && under_prefix(b))
		return hit(C_RENAME, fn, b);
	if (at_path(ofd, from, a) == 0)
		return hit(C_RENAME, fn, a);
	return 0;
}

/* ---- the interposed functions -------------------------------------------- */

ssize_t write(int fd, const void *buf, size_t n)
{
	if (hit_fd(C_WRITE, "write", fd))
		return -1;
	return r_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (hit_fd(C_WRITE, "pwrite", fd))
		return -1;
	return r_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	if (hit_fd(C_WRITE, "pwrite64", fd))
		return -1;
	return r_pwrite64(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (hit_fd(C_WRITE, "writev", fd))
		return -1;
	return r_writev(fd, iov, cnt);
}

int fsync(int fd)
{
	if (hit_fd(C_FSYNC, "fsync", fd))
		return -1;
	return r_fsync(fd);
}

int fdatasync(int fd)
{
	if (hit_fd(C_FSYNC, "fdatasync", fd))
		return -1;
	return r_fdatasync(fd);
}

int ftruncate(int fd, off_t len)
{
	if (hit_fd(C_TRUNCATE, "ftruncate", fd))
		return -1;
	return r_ftruncate(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
	if (hit_fd(C_TRUNCATE, "ftruncate64", fd))
		return -1;
	return r_ftruncate64(fd, len);
}

int rename(const char *from, const char *to)
{
	if (hit_rename("rename", AT_FDCWD, from, AT_FDCWD, to))
		return -1;
	return r_rename(from, to);
}

int renameat(int ofd, const char *from, int nfd, const char *to)
{
	if (hit_rename("renameat", ofd, from, nfd, to))
		return -1;
	return r_renameat(ofd, from, nfd, to);
}

int renameat2(int ofd, const char *from, int nfd, const char *to, unsigned flags)
{
	if (hit_rename("renameat2", ofd, from, nfd, to))
		return -1;
	return r_renameat2(ofd, from, nfd, to, flags);
}

int link(const char *from, const char *to)
{
	if (hit_rename("link", AT_FDCWD, from, AT_FDCWD, to))
		return -1;
	return r_link(from, to);
}

int linkat(int ofd, const char *from, int nfd, const char *to, int flags)
{
	if (hit_rename("linkat", ofd, from, nfd, to))
		return -1;
	return r_linkat(ofd, from, nfd, to, flags);
}

#define OPEN_MODE(flags, mode)                                                         \
	do {                                                                           \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                               \
			va_list ap;                                                    \
			va_start(ap, flags);                                           \
			mode = (mode_t)va_arg(ap, int);                                \
			va_end(ap);                                                    \
		}                                                                      \
	} while (0)

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	if ((flags & O_CREAT) && hit_at(C_CREATE, "open", AT_FDCWD, path))
		return -1;
	return r_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	if ((flags & O_CREAT) && hit_at(C_CREATE, "open64", AT_FDCWD, path))
		return -1;
	return r_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	if ((flags & O_CREAT) && hit_at(C_CREATE, "openat", dirfd, path))
		return -1;
	return r_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	if ((flags & O_CREAT) && hit_at(C_CREATE, "openat64", dirfd, path))
		return -1;
	return r_openat64(dirfd, path, flags, mode);
}

int creat(const char *path, mode_t mode)
{
	if (hit_at(C_CREATE, "creat", AT_FDCWD, path))
		return -1;
	return r_creat(path, mode);
}

int mkdir(const char *path, mode_t mode)
{
	if (hit_at(C_CREATE, "mkdir", AT_FDCWD, path))
		return -1;
	return r_mkdir(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	if (hit_at(C_CREATE, "mkdirat", dirfd, path))
		return -1;
	return r_mkdirat(dirfd, path, mode);
}

int unlink(const char *path)
{
	if (hit_at(C_UNLINK, "unlink", AT_FDCWD, path))
		return -1;
	return r_unlink(path);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	if (hit_at(C_UNLINK, "unlinkat", dirfd, path))
		return -1;
	return r_unlinkat(dirfd, path, flags);
}
