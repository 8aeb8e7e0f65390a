/* klic — checking one license file on this machine (spec 3.5, 5.2 #13-14). */
#include <stdio.h>
#include <string.h>

#include "klic_request.h"
#include "request_int.h"

static int issuer_allow(void *ctx, const char *fpr)
{
	const struct klic_user *u = ctx;
	for (size_t i = 0; i < u->n_issuers; i++)
		if (strcmp(u->issuers[i], fpr) == 0)
			return 0;
	return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "signed by %s, not a pinned issuer", fpr);
}

int klic_rq_verify_issuer(struct klic_user *u, char signer[KLIC_FPR_HEX_LEN + 1],
			  const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len)
{
	int r;
	signer[0] = '\0';
	if (u->n_issuers == 0)
		return klic_error_set(KLIC_ERR_NOT_ISSUER, "no issuer pinned (run 'klic trust')");
	if ((r = klic_user_open_keyring(u, 0)) != 0)
		return r;
	r = klic_verify_detached(u->kr, signer, sig, siglen, data, len, issuer_allow, u);
	if (r != 0 && r != KLIC_ERR_SIG_WRONG_KEY && r != KLIC_ERR_SIG_UNKNOWN_KEY &&
	    r <= KLIC_ERR_SIG_NONE && r >= KLIC_ERR_SIG_EXPIRED) {
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

int klic_user_check_license(struct klic_user *u, struct klic_license *lic, const uint8_t *buf,
			    size_t len, const char *machine_id, int64_t now)
{
	struct klic_lic_parts parts;
	struct klic_license l;
	char signer[KLIC_FPR_HEX_LEN + 1], t[KLIC_TIME_LEN + 1] = "?";
	int r;

	memset(lic, 0, sizeof(*lic));
	memset(&l, 0, sizeof(l));
	if ((r = klic_license_split(&parts, buf, len)) != 0)
		return r;
	if ((r = klic_rq_verify_issuer(u, signer, parts.sig, parts.sig_len, parts.body,
				       parts.body_len)) != 0)
		return r;
	if ((r = klic_license_body_parse(&l, parts.body, parts.body_len)) != 0)
		return r;
	if (strcmp(l.issuer_fpr, signer) != 0)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "license names issuer %s, signed by %s",
				      l.issuer_fpr, signer);
	*lic = l; /* verified from here on */
	if (strcmp(l.machine_id, machine_id) != 0)
		return klic_error_set(KLIC_ERR_WRONG_MACHINE, "license is for %s, this machine is %s",
				      l.machine_id, machine_id);
	if (l.issued > now + KLIC_FUTURE_SKEW) {
		(void)klic_time_format(t, l.issued);
		return klic_error_set(KLIC_ERR_LICENSE_FUTURE, "issued %s", t);
	}
	if (l.expires <= now) {
		(void)klic_time_format(t, l.expires);
		return klic_error_set(KLIC_ERR_LICENSE_EXPIRED, "expired %s", t);
	}
	return 0;
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
		return "unpinned issuer";
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
	default:
		return klic_strerror(code);
	}
}
