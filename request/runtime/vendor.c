/* klic — the vendor keys installed on this machine (design14.md "User
 * tool"): <KLIC_VENDOR_DIR>/<PRODUCT>.asc, trusted only when the file, its
 * folder and the folder's parent are root's and nobody else can write them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_int.h"

#ifndef KLIC_VENDOR_DIR
#error "KLIC_VENDOR_DIR must be defined by the build"
#endif

const char *klic_vendor_dir(void)
{
	return KLIC_VENDOR_DIR;
}

/* One path of the chain: root's, not group/other-writable, of the type. */
static int vendor_path_ok(const char *path, int want_dir, int *absent, const char *product)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			if (absent != NULL)
				*absent = 1;
			return klic_error_set(KLIC_ERR_NO_VENDOR,
					      "%s: missing (no vendor key installed for %s)", path,
					      product);
		}
		return klic_error_set(KLIC_ERR_NO_VENDOR, "%s: %s", path, strerror(errno));
	}
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return klic_error_set(KLIC_ERR_NO_VENDOR, "%s: not a %s", path,
				      want_dir ? "directory" : "regular file (symbolic link?)");
	if (st.st_uid != 0)
		return klic_error_set(KLIC_ERR_NO_VENDOR, "%s: owned by uid %lu, not by root", path,
				      (unsigned long)st.st_uid);
	if ((st.st_mode & 022) != 0)
		return klic_error_set(KLIC_ERR_NO_VENDOR,
				      "%s: writable by group or others (mode %04o)", path,
				      (unsigned)(st.st_mode & 07777));
	return 0;
}

int klic_vendor_key_load(uint8_t **out, size_t *len, char path[KLIC_PATH_MAX], int *absent,
			 const char *dir, const char *product)
{
	char parent[KLIC_PATH_MAX], name[16];
	char *slash;
	int r;

	*out = NULL;
	*len = 0;
	path[0] = '\0';
	if (absent != NULL)
		*absent = 0;
	if (dir == NULL || dir[0] != '/' || product == NULL || klic_product_check(product) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "vendor folder or product");
	snprintf(parent, sizeof(parent), "%s", dir);
	while (strlen(parent) > 1 && parent[strlen(parent) - 1] == '/')
		parent[strlen(parent) - 1] = '\0';
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	snprintf(name, sizeof(name), "%s.asc", product);
	if ((r = klic_rq_path(path, dir, name)) != 0)
		return r;
	if ((r = vendor_path_ok(parent, 1, absent, product)) != 0 ||
	    (r = vendor_path_ok(dir, 1, absent, product)) != 0 ||
	    (r = vendor_path_ok(path, 0, absent, product)) != 0)
		return r;
	/* several armored keys at most */
	if ((r = klic_read_file(out, len, path, 4 * KLIC_MAX_KEY_BYTES)) != 0) {
		char d[256]; /* the detail buffer is also the destination */
		snprintf(d, sizeof(d), "%s", klic_error_detail());
		return klic_error_set(KLIC_ERR_NO_VENDOR, "%s: %s", path, d);
	}
	return 0;
}
