/* klic — checking one license file on this machine (spec 3.5, 5.2 #13-14). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

static int issuer_allow(void *ctx, const char *fpr)
{
	const struct klic_user *u = ctx;
	for (size_t i = 0; i < u->n_issuers; i++)
		if (strcmp(u->issuers[i], fpr) == 0)
			return 0;
	return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "signed by %s, not a pinned issuer", fpr);
}

/* A verdict from this run for exactly these bytes, if any. */
static const struct klic_sig_info *verified_get(const struct klic_user *u,
						const uint8_t sig_sha[KLIC_SHA256_LEN],
						const uint8_t data_sha[KLIC_SHA256_LEN])
{
	for (size_t i = 0; i < u->n_verified; i++)
		if (memcmp(u->verified[i].sig_sha, sig_sha, KLIC_SHA256_LEN) == 0 &&
		    memcmp(u->verified[i].data_sha, data_sha, KLIC_SHA256_LEN) == 0)
			return &u->verified[i].info;
	return NULL;
}

int klic_rq_verify_issuer(struct klic_user *u, struct klic_sig_info *info, const uint8_t *sig,
			  size_t siglen, const uint8_t *data, size_t len)
{
	uint8_t sig_sha[KLIC_SHA256_LEN], data_sha[KLIC_SHA256_LEN];
	const struct klic_sig_info *known;
	int r;

	memset(info, 0, sizeof(*info));
	if (u->n_issuers == 0)
		return klic_error_set(KLIC_ERR_NOT_ISSUER, "no issuer pinned (run 'klic trust')");
	if ((r = klic_sha256(sig_sha, sig, siglen)) != 0 ||
	    (r = klic_sha256(data_sha, data, len)) != 0)
		return r;
	if ((known = verified_get(u, sig_sha, data_sha)) != NULL) {
		*info = *known;
		return 0;
	}
	if ((r = klic_user_open_keyring(u, 0)) != 0)
		return r;
	r = klic_verify_detached_info(u->kr, info, sig, siglen, data, len, issuer_allow, u);
	if (r == 0) {
		size_t cap = sizeof(u->verified) / sizeof(u->verified[0]);
		struct klic_verified *v = &u->verified[u->next_verified];
		memcpy(v->sig_sha, sig_sha, sizeof(sig_sha));
		memcpy(v->data_sha, data_sha, sizeof(data_sha));
		v->info = *info;
		u->next_verified = (u->next_verified + 1) % cap; /* a ring */
		if (u->n_verified < cap)
			u->n_verified++;
	} else if (r != KLIC_ERR_SIG_WRONG_KEY && r != KLIC_ERR_SIG_UNKNOWN_KEY &&
		   klic_err_class(r) == KLIC_CLASS_SIGNATURE) {
		/* A clock set back makes good signatures look bad (made "in the
		 * future"): report the cause, which also refuses (spec 5.5). */
		int64_t trusted;
		char d[512];
		snprintf(d, sizeof(d), "%s", klic_error_detail());
		if (klic_clock_read(&trusted, u->home) == 0 &&
		    klic_clock_rule(klic_now(), trusted) == KLIC_ERR_CLOCK)
			return klic_clock_rule(klic_now(), trusted);
		klic_error_set(r, "%s", d);
	}
	return r;
}

int klic_rq_check_response_sig(const struct klic_sig_info *info, unsigned hash_bits)
{
	if (info->sig_class != 0x01)
		return klic_error_set(KLIC_ERR_SIG_BAD,
				      "not a text-mode signature (class 0x%02x): stock gpg could "
				      "not check the license",
				      (unsigned)info->sig_class & 0xffu);
	if (hash_bits != 0 && info->hash_bits != hash_bits)
		return klic_error_set(KLIC_ERR_LICENSE_FORMAT,
				      "the Hash line names SHA%u, the signature uses SHA%u",
				      hash_bits, info->hash_bits);
	return 0;
}

int klic_user_check_license(struct klic_user *u, struct klic_license *lic, const char *filename,
			    const uint8_t *buf, size_t len, const char *machine_id, int64_t now)
{
	struct klic_lic_parts parts;
	struct klic_sig_info info;
	struct klic_response *resp = NULL;
	struct klic_license l;
	const char *base;
	char t[KLIC_TIME_LEN + 1] = "?";
	int r;

	memset(lic, 0, sizeof(*lic));
	memset(&l, 0, sizeof(l));
	if (filename == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "license file name");
	base = strrchr(filename, '/');
	base = base != NULL ? base + 1 : filename;
	if ((r = klic_license_split(&parts, buf, len)) != 0)
		return r;
	if ((r = klic_rq_verify_issuer(u, &info, parts.sig, parts.sig_len, parts.body,
				       parts.body_len)) != 0 ||
	    (r = klic_rq_check_response_sig(&info, parts.hash_bits)) != 0)
		return r;
	if ((resp = malloc(sizeof(*resp))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "license");
	if ((r = klic_response_manifest_parse(resp, parts.body, parts.body_len)) != 0)
		goto out;
	if (strcmp(resp->issuer_fpr, info.signer) != 0) {
		r = klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "license names issuer %s, signed by %s",
				   resp->issuer_fpr, info.signer);
		goto out;
	}
	if ((r = klic_license_from_response(&l, resp, base)) != 0)
		goto out;
	*lic = l; /* verified from here on */
	if (strcmp(l.machine_id, machine_id) != 0) {
		r = klic_error_set(KLIC_ERR_WRONG_MACHINE, "license is for %s, this machine is %s",
				   l.machine_id, machine_id);
		goto out;
	}
	if (l.issued > now + KLIC_FUTURE_SKEW) {
		(void)klic_time_format(t, l.issued);
		r = klic_error_set(KLIC_ERR_LICENSE_FUTURE, "issued %s", t);
		goto out;
	}
	if (l.expires <= now) {
		(void)klic_time_format(t, l.expires);
		r = klic_error_set(KLIC_ERR_LICENSE_EXPIRED, "expired %s", t);
		goto out;
	}
	r = 0;
out:
	free(resp);
	return r;
}

const char *klic_license_reason(int code)
{
	switch (code) {
	case 0:
		return "valid";
	case KLIC_ERR_IO:
	case KLIC_ERR_NOT_FOUND:
	case KLIC_ERR_TOO_BIG:
	case KLIC_ERR_NOMEM:
		return "unreadable";
	case KLIC_ERR_LICENSE_FORMAT:
	case KLIC_ERR_JSON:
	case KLIC_ERR_TYPE_TAG:
	case KLIC_ERR_VERSION:
	case KLIC_ERR_FIELD:
	case KLIC_ERR_MACHINE_ID:
		return "malformed";
	case KLIC_ERR_SIG_UNKNOWN_KEY:
	case KLIC_ERR_SIG_WRONG_KEY:
	case KLIC_ERR_NOT_ISSUER:
		return "wrong signing key";
	case KLIC_ERR_LICENSE_NAME:
		return "renamed (name not granted)";
	case KLIC_ERR_SIG_NONE:
	case KLIC_ERR_SIG_MULTIPLE:
	case KLIC_ERR_SIG_BAD:
	case KLIC_ERR_SIG_KEY_EXPIRED:
	case KLIC_ERR_SIG_KEY_REVOKED:
	case KLIC_ERR_SIG_ALGO:
	case KLIC_ERR_SIG_EXPIRED:
		return "bad signature";
	case KLIC_ERR_WRONG_MACHINE:
		return "other machine";
	case KLIC_ERR_LICENSE_EXPIRED:
		return "expired";
	case KLIC_ERR_LICENSE_FUTURE:
		return "issued in the future";
	case KLIC_ERR_CLOCK:
		return "clock set back";
	case KLIC_ERR_NOT_ENTITLED:
		return "not covered by its entitlement";
	case KLIC_ERR_NO_VENDOR:
		return "no trusted vendor key";
	case KLIC_ERR_MISMATCH:
		return "issuer key mismatch";
	default:
		return klic_strerror(code);
	}
}

int klic_check_license_file(struct klic_user *u, struct klic_license *lic, const char *path,
			    const char *name, const char *mid, int64_t now)
{
	char this_mid[KLIC_MACHINE_ID_LEN + 1];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	memset(lic, 0, sizeof(*lic));
	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_LIC_BYTES)) != 0)
		goto out;
	if (mid == NULL) {
		if ((r = klic_this_machine_id(this_mid)) != 0)
			goto out;
		mid = this_mid;
	}
	r = klic_user_check_license(u, lic, name != NULL ? name : path, buf, len, mid, now);
out:
	free(buf);
	return r;
}

int klic_is_license_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".lic") == 0;
}

long klic_days_left(int64_t expires, int64_t now)
{
	/* a part day counts as a day: a fresh 60-day license has 60 days left,
	 * one with a second left has 1, an expired one 0 */
	return expires > now ? (long)((expires - now + 86399) / 86400) : 0;
}
