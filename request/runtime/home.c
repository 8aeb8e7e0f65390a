/* klic — home folder (spec 5.4) and machine ID sources (spec 2.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

enum klic_os klic_host_os(void)
{
#if defined(_WIN32)
	return KLIC_OS_WINDOWS;
#elif defined(__APPLE__)
	return KLIC_OS_MACOS;
#else
	return KLIC_OS_LINUX;
#endif
}

static int copy_path(char out[KLIC_PATH_MAX], const char *a, const char *b)
{
	int n = snprintf(out, KLIC_PATH_MAX, "%s%s", a, b);
	if (n < 0 || n >= KLIC_PATH_MAX) {
		out[0] = '\0';
		return klic_error_set(KLIC_ERR_INVALID_ARG, "home path too long");
	}
	return 0;
}

int klic_home_resolve(char out[KLIC_PATH_MAX], enum klic_os os, const char *cli_home,
		      klic_getenv_fn env, klic_pwhome_fn pwhome)
{
	const char *h;

	out[0] = '\0';
	if (cli_home != NULL) {
		if (cli_home[0] == '\0')
			return klic_error_set(KLIC_ERR_INVALID_ARG, "--home is empty");
		return copy_path(out, cli_home, "");
	}
	h = env != NULL ? env("KLIC_HOME") : NULL;
	if (h != NULL && h[0] != '\0')
		return copy_path(out, h, "");
	if (os == KLIC_OS_WINDOWS) {
		h = env != NULL ? env("USERPROFILE") : NULL;
		if (h == NULL || h[0] == '\0')
			return klic_error_set(KLIC_ERR_NOT_FOUND,
					      "USERPROFILE is not set (use --home or KLIC_HOME)");
		return copy_path(out, h, "\\.katalon");
	}
	h = env != NULL ? env("HOME") : NULL;
	if ((h == NULL || h[0] == '\0') && pwhome != NULL)
		h = pwhome();
	if (h == NULL || h[0] == '\0')
		return klic_error_set(
		    KLIC_ERR_NOT_FOUND,
		    "HOME is not set and no passwd entry (use --home or KLIC_HOME)");
	/* "/" as home gives "//.katalon" otherwise */
	if (strcmp(h, "/") == 0)
		return copy_path(out, "", "/.katalon");
	return copy_path(out, h, "/.katalon");
}

int klic_home_license_dir(char out[KLIC_PATH_MAX], enum klic_os os, const char *home)
{
	if (home == NULL || home[0] == '\0') {
		out[0] = '\0';
		return klic_error_set(KLIC_ERR_INVALID_ARG, "empty home");
	}
	return copy_path(out, home, os == KLIC_OS_WINDOWS ? "\\license" : "/license");
}

int klic_machine_id_from_file(char out[KLIC_MACHINE_ID_LEN + 1], const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	out[0] = '\0';
	/* 33 bytes is the longest valid content; read a little more to refuse */
	if ((r = klic_read_file(&buf, &len, path, 64)) != 0)
		return r == KLIC_ERR_TOO_BIG
			   ? klic_error_set(KLIC_ERR_NO_MACHINE_ID, "%s: too large", path)
			   : r;
	r = klic_machine_id_derive(out, (const char *)buf, len);
	klic_wipe(buf, len);
	free(buf);
	if (r != 0) {
		out[0] = '\0';
		return klic_error_set(r == KLIC_ERR_NO_MACHINE_ID ? r : KLIC_ERR_NO_MACHINE_ID,
				      "%s: not 32 lower-case hex digits and a newline", path);
	}
	return 0;
}

int klic_this_machine_id(char out[KLIC_MACHINE_ID_LEN + 1])
{
	/* Fixed, compiled-in sources (bundle's one list): no option or
	 * variable changes them. */
	const char *const *sources;
	size_t n = klic_machine_id_sources(&sources);

	for (size_t i = 0; i < n; i++) {
		if (klic_machine_id_from_file(out, sources[i]) == 0) {
			klic_error_clear();
			return 0;
		}
	}
	return klic_error_set(KLIC_ERR_NO_MACHINE_ID,
			      "neither /etc/machine-id nor /var/lib/dbus/machine-id is usable");
}
