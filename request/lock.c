/* klic — the lock of a home's license folder (spec 5.6).  Install (and
 * whatever else writes <home>/license) holds it from before the folder is
 * read until the last file is written, so two runs at once cannot lose or
 * overwrite a license. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_lock.h"
#include "request_int.h"

#define KLIC_LOCK_FILE "klic/license.lock"

static int lock_wait(int fd)
{
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

int klic_license_lock(int *fd, const struct klic_user *u)
{
	char dir[KLIC_PATH_MAX], path[KLIC_PATH_MAX];
	struct stat st;
	int r, lfd;

	*fd = -1;
	if ((r = klic_rq_path(dir, u->home, "klic")) != 0 ||
	    (r = klic_rq_path(path, u->home, KLIC_LOCK_FILE)) != 0)
		return r;
	if (lstat(dir, &st) != 0) {
		if (errno == ENOENT)
			return 0; /* no klic state: nothing pending to install */
		return klic_error_set(KLIC_ERR_IO, "%s: %s", dir, strerror(errno));
	}
	lfd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd < 0)
		return klic_error_set(KLIC_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(lfd, &st) != 0 || !S_ISREG(st.st_mode)) {
		(void)close(lfd);
		return klic_error_set(KLIC_ERR_IO, "%s: not a regular file", path);
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = klic_error_set(KLIC_ERR_IO, "%s: lock: %s", path, strerror(errno));
			(void)close(lfd);
			return r;
		}
		char shown[KLIC_PATH_MAX];
		fprintf(stderr, "waiting for another klic using %s\n",
			klic_printable_copy(shown, sizeof(shown), u->licdir, SIZE_MAX));
		fflush(stderr);
		if (lock_wait(lfd) != 0) {
			r = klic_error_set(KLIC_ERR_IO, "%s: lock: %s", path, strerror(errno));
			(void)close(lfd);
			return r;
		}
	}
	*fd = lfd;
	return 0;
}

void klic_license_unlock(int fd)
{
	if (fd >= 0)
		(void)close(fd); /* closing the only descriptor releases the flock */
}
