/* klic — the runtime library (libklic, public header klic.h): verify a
 * license file for this machine exactly as `klic verify` does, on top of
 * the license check (klic_check.h).  Only the functions declared in klic.h
 * are exported (visibility + version script, request/runtime/libklic.map). */
#define KLIC_BUILDING_RUNTIME 1

#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The internal headers first: klic_error.h defines enum klic_err, and
 * klic.h then skips its own list, generated from the same klic_errors.def
 * (tests/runtime checks they agree). */
#include "klic_check.h"

#include "klic.h"

#ifndef KLIC_RT_VERSION
#error "KLIC_RT_VERSION must be defined by the build"
#endif

/* KLIC_HOME is ignored in a set-user-ID/set-group-ID process, where the
 * environment belongs to another user (secure_getenv). */
static const char *rt_getenv(const char *name)
{
	return secure_getenv(name);
}

/* getpwuid_r into per-thread storage: the callback returns a pointer that
 * must stay valid until klic_home_resolve() copied it. */
static _Thread_local struct passwd rt_pw;
static _Thread_local char rt_pwbuf[4096];

static const char *rt_pwhome(void)
{
	struct passwd *res = NULL;
	if (getpwuid_r(getuid(), &rt_pw, rt_pwbuf, sizeof(rt_pwbuf), &res) != 0 || res == NULL)
		return NULL;
	return res->pw_dir;
}

/* Every string handed to the caller is printable ASCII. */
static void copy_printable(char *dst, size_t dstsz, const char *src)
{
	(void)klic_printable_copy(dst, dstsz, src, SIZE_MAX);
}

static void info_fill(struct klic_license_info *out, const struct klic_license *lic)
{
	out->verified = 1;
	copy_printable(out->product, sizeof(out->product), lic->product);
	copy_printable(out->machine_id, sizeof(out->machine_id), lic->machine_id);
	copy_printable(out->license_id, sizeof(out->license_id), lic->license_id);
	copy_printable(out->file, sizeof(out->file), lic->file);
	out->seat = lic->seat;
	out->seats = lic->seats;
	out->issued = (time_t)lic->issued;
	out->expires = (time_t)lic->expires;
	copy_printable(out->issuer_org, sizeof(out->issuer_org), lic->issuer_org);
	copy_printable(out->issuer_fpr, sizeof(out->issuer_fpr), lic->issuer_fpr);
	copy_printable(out->member_fpr, sizeof(out->member_fpr), lic->member_fpr);
	copy_printable(out->request_digest, sizeof(out->request_digest), lic->request_digest);
}

KLIC_API int klic_license_verify(struct klic_license_info *out, const char *lic_path,
				 const char *klic_home)
{
	char home[KLIC_PATH_MAX];
	struct klic_license lic;
	struct klic_user u;
	int64_t now = klic_now();
	int r = KLIC_ERR_INTERNAL, u_open = 0;

	if (out == NULL)
		return KLIC_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	memset(&lic, 0, sizeof(lic));
	klic_error_clear();
	/* "-" would be standard input for klic_read_file: never for a library */
	if (lic_path == NULL || lic_path[0] == '\0' || strcmp(lic_path, "-") == 0) {
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "no license file given");
		goto out;
	}
	if ((r = klic_home_resolve(home, klic_host_os(), klic_home, rt_getenv, rt_pwhome)) != 0)
		goto out;
	if ((r = klic_keys_init()) != 0)
		goto out;
	if ((r = klic_user_setup(&u, home, NULL, NULL)) != 0)
		goto out;
	u_open = 1;
	/* the base name selects the seat: a license is valid only under a
	 * name it lists (spec 3.5) */
	r = klic_check_license_file(&u, &lic, lic_path, NULL, NULL, now);
	if (lic.license_id[0] != '\0')
		info_fill(out, &lic); /* signature verified, even if a later check failed */
	if (r != 0)
		goto out;
	if ((r = klic_user_clock_check(&u, now)) != 0 ||
	    (r = klic_user_clock_advance(&u, now)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		copy_printable(out->detail, sizeof(out->detail), klic_error_detail());
	if (u_open)
		klic_user_dispose(&u);
	return r;
}

KLIC_API const char *klic_license_strerror(int code)
{
	return klic_strerror(code);
}

KLIC_API const char *klic_license_errname(int code)
{
	return klic_errname(code);
}

KLIC_API int klic_runtime_machine_id(char *buf, size_t size)
{
	char mid[KLIC_MACHINE_ID_LEN + 1];
	int r;

	if (buf == NULL || size < sizeof(mid))
		return KLIC_ERR_INVALID_ARG;
	buf[0] = '\0';
	if ((r = klic_this_machine_id(mid)) != 0)
		return r;
	memcpy(buf, mid, sizeof(mid));
	return 0;
}

KLIC_API const char *klic_runtime_version(void)
{
	return KLIC_RT_VERSION;
}
