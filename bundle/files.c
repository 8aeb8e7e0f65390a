/* klic — bounded file reading and mkdir -p (klic_util.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_error.h"
#include "klic_util.h"

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
			r = klic_error_set(errno == ENOENT ? KLIC_ERR_NOT_FOUND : KLIC_ERR_IO,
					   "%s: %s", path, strerror(errno));
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
			r = klic_error_set(KLIC_ERR_TOO_BIG, "%s: larger than %zu bytes", path,
					   max);
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
			r = klic_error_set(KLIC_ERR_TOO_BIG, "%s: larger than %zu bytes", path,
					   max);
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
				int r =
				    klic_error_set(KLIC_ERR_IO, "%s: %s", buf,
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
