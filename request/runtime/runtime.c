/* klic — the runtime library (libklic, public header klic.h): the chain
 * check of a license file against the vendor keys the product embeds (the
 * chain check of klic_check.h, as `klic verify` runs it); sessions are
 * session.c.  Only the functions declared in klic.h
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
#include "rt_int.h"

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

void klic_rt_info_fill(struct klic_license_info *out, const struct klic_chain_result *res)
{
	const struct klic_license *lic = &res->lic;

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
	copy_printable(out->entitlement_id, sizeof(out->entitlement_id), lic->entitlement_id);
	copy_printable(out->vendor_fpr, sizeof(out->vendor_fpr), res->vendor_fpr);
}

void klic_rt_detail(char *dst, size_t dstsz)
{
	copy_printable(dst, dstsz, klic_error_detail());
}

int klic_rt_home(char home[KLIC_PATH_MAX], const char *klic_home)
{
	return klic_home_resolve(home, klic_host_os(), klic_home, rt_getenv, rt_pwhome);
}

int klic_rt_chain_new(struct klic_chain **c, const char *const *vendor_keys, size_t n)
{
	*c = NULL;
	if (vendor_keys == NULL || n == 0)
		return klic_error_set(KLIC_ERR_NO_VENDOR,
				      "no vendor key given (the product embeds its vendor's key)");
	if (n > KLIC_MAX_ANCHORS)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "more than %d vendor keys",
				      KLIC_MAX_ANCHORS);
	for (size_t i = 0; i < n; i++)
		if (vendor_keys[i] == NULL || vendor_keys[i][0] == '\0')
			return klic_error_set(KLIC_ERR_NO_VENDOR, "vendor key %zu is empty", i);
	return klic_chain_new(c, (const uint8_t *const *)vendor_keys, NULL, n);
}

void klic_rt_clock(int64_t *trusted, int *unknown, int *r, const char *home)
{
	enum klic_clock_state st = KLIC_CLOCK_MISSING;

	*trusted = 0;
	*unknown = 1;
	if (home == NULL)
		return;
	*r = klic_clock_load(trusted, &st, home);
	*unknown = st != KLIC_CLOCK_RECORD;
}

KLIC_API int klic_license_check(struct klic_license_info *out, const char *lic_path,
				const char *const *vendor_keys, size_t n_vendor_keys,
				const char *klic_home)
{
	char home[KLIC_PATH_MAX];
	struct klic_chain *c = NULL;
	struct klic_chain_result *res = NULL;
	int64_t now = klic_now(), trusted = 0;
	int r = KLIC_ERR_INTERNAL;

	if (out == NULL)
		return KLIC_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	klic_error_clear();
	/* "-" would be standard input for klic_read_file: never for a library */
	if (lic_path == NULL || lic_path[0] == '\0' || strcmp(lic_path, "-") == 0) {
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "no license file given");
		goto out;
	}
	if ((r = klic_rt_home(home, klic_home)) != 0)
		goto out;
	if ((res = malloc(sizeof(*res))) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "license check");
		goto out;
	}
	r = 0;
	klic_rt_clock(&trusted, &out->clock_unknown, &r, home);
	if (r != 0 || (r = klic_keys_init()) != 0)
		goto out;
	if ((r = klic_rt_chain_new(&c, vendor_keys, n_vendor_keys)) != 0) {
		/* gpg refuses keys "made in the future" of a clock set back */
		if (r == KLIC_ERR_KEY && klic_clock_rule(now, trusted) != 0)
			r = klic_clock_rule(now, trusted);
		goto out;
	}
	/* the base name selects the seat: a license is valid only under a
	 * name it lists */
	r = klic_chain_check_file(c, res, lic_path, NULL, NULL, now, trusted);
	if (res->verified)
		klic_rt_info_fill(out, res); /* the chain verified, even if a later check failed */
	if (r != 0)
		goto out;
	/* best effort: a read-only home never fails the check */
	(void)klic_clock_update(home, now);
	klic_error_clear();
out:
	if (r != 0)
		klic_rt_detail(out->detail, sizeof(out->detail));
	klic_chain_free(c);
	free(res);
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
