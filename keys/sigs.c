/* klic keys/ — the sign and verify bodies and the verification policy
 * (klic_keys.h, spec/PROTOCOL.md "Signature policy"), on the engine
 * (engine.c).  Run by the front (keys.c) in this process and by the worker
 * side (worker.c) in a worker process; the caller's allow callback (step
 * 6) is the front's.
 *
 * Opaque signed messages (gpg --sign) or clear-signed texts handed over as
 * a "detached signature" are KLIC_ERR_SIG_NONE: gpg 2.2.40 itself reports
 * no signature for them when signed_text is given, and we additionally
 * refuse any verification during which gpg reports literal data
 * (PLAINTEXT status) or encryption.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gpgme.h>

#include "engine.h"
#include "klic_keys.h"

/* ------------------------------------------------------------------------ */
/* algorithms                                                                */

static int hash_allowed(gpgme_hash_algo_t h)
{
	return h == GPGME_MD_SHA256 || h == GPGME_MD_SHA384 || h == GPGME_MD_SHA512;
}

/* The (sub)key that made the signature: EdDSA on Ed25519, ECDSA on a NIST
 * curve, RSA >= 3072 bits. */
static int subkey_algo_allowed(gpgme_subkey_t sk)
{
	const char *c = sk->curve;

	switch (sk->pubkey_algo) {
	case GPGME_PK_EDDSA:
		return c != NULL && (strcasecmp(c, "ed25519") == 0);
	case GPGME_PK_ECDSA:
		return c != NULL &&
		       (strcasecmp(c, "nistp256") == 0 || strcasecmp(c, "nistp384") == 0 ||
			strcasecmp(c, "nistp521") == 0);
	case GPGME_PK_RSA:
	case GPGME_PK_RSA_S:
		return sk->length >= 3072;
	default:
		return 0;
	}
}

static int sig_pk_allowed(gpgme_pubkey_algo_t a)
{
	return a == GPGME_PK_EDDSA || a == GPGME_PK_ECDSA || a == GPGME_PK_RSA ||
	       a == GPGME_PK_RSA_S;
}

/* ------------------------------------------------------------------------ */
/* signing                                                                   */

/* Light structural check of gpg's clear-signed output: the exact framing
 * klic_license_split() requires around our body. */
static int check_clear_output(const uint8_t *o, size_t n, const uint8_t *body, size_t len)
{
	static const char head[] = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA";
	static const char sigh[] = "\n-----BEGIN PGP SIGNATURE-----\n\n";
	static const char tail[] = "-----END PGP SIGNATURE-----\n";
	const uint8_t *p, *e = o + n;

	if (n < sizeof head - 1 || memcmp(o, head, sizeof head - 1) != 0)
		return -1;
	p = memchr(o + sizeof head - 1, '\n', n - (sizeof head - 1));
	if (p == NULL || (size_t)(e - p) < 2 || p[1] != '\n')
		return -1;
	p += 2;
	if ((size_t)(e - p) < len + sizeof sigh - 1 + sizeof tail - 1 || memcmp(p, body, len) != 0)
		return -1;
	p += len;
	if (memcmp(p, sigh, sizeof sigh - 1) != 0)
		return -1;
	if (memcmp(e - (sizeof tail - 1), tail, sizeof tail - 1) != 0)
		return -1;
	if (memchr(o, '\r', n) != NULL)
		return -1;
	return 0;
}

int keys_sign_check(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		    const uint8_t *data, size_t len)
{
	int r;

	if (kr == NULL || out == NULL || outlen == NULL || (data == NULL && len != 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "sign");
	*out = NULL;
	*outlen = 0;
	if ((r = keys_arg_fpr(fpr)) != 0)
		return r;
	if (len > KEYS_MAX_SIGN_INPUT)
		return klic_error_set(KLIC_ERR_TOO_BIG, "%zu bytes to sign", len);
	return 0;
}

/* gpgme_op_sign failed with e: its error, or, when the kept signing key
 * may have changed since it was looked up (revoked, expired), the reason
 * a fresh look-up gives. */
static int sign_failed(struct klic_keyring *kr, gpgme_ctx_t ctx, const char *fpr, gpgme_error_t e,
		       gpgme_sign_result_t res)
{
	gpgme_invalid_key_t inv = res ? res->invalid_signers : NULL;
	gpgme_key_t fresh = NULL;
	int r, r2;

	if (inv != NULL && keys_is_passphrase_err(inv->reason))
		e = inv->reason;
	r = keys_map_err(e, KLIC_ERR_GPG, "signing");
	if (r != KLIC_ERR_GPG && r != KLIC_ERR_KEY)
		return r;
	pthread_mutex_lock(&kr->mu);
	gpgme_key_unref(kr->sign_key);
	kr->sign_key = NULL;
	pthread_mutex_unlock(&kr->mu);
	r2 = keys_signing_key(kr, ctx, &fresh, fpr);
	gpgme_key_unref(fresh);
	if (r2 != 0)
		return r2;
	return keys_map_err(e, KLIC_ERR_GPG, "signing");
}

int keys_engine_sign(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		     const uint8_t *data, size_t len, int clear)
{
	gpgme_sig_mode_t mode = clear ? GPGME_SIG_MODE_CLEAR : GPGME_SIG_MODE_DETACH;
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_data_t in = NULL, sigd = NULL;
	gpgme_sign_result_t res;
	gpgme_new_signature_t ns;
	gpgme_error_t e;
	int r, n = 0;

	*out = NULL;
	*outlen = 0;
	if ((r = keys_ctx_get(kr, &ctx)) != 0)
		return r;
	if ((r = keys_signing_key(kr, ctx, &key, fpr)) != 0)
		goto out;
	if ((e = gpgme_signers_add(ctx, key)) != 0) {
		r = keys_map_err(e, KLIC_ERR_KEY, "signers_add");
		goto out;
	}
	gpgme_set_armor(ctx, mode == GPGME_SIG_MODE_CLEAR ? 1 : 0);
	if ((e = gpgme_data_new_from_mem(&in, (const char *)(data ? data : (const uint8_t *)""),
					 len, 0)) != 0 ||
	    (e = gpgme_data_new(&sigd)) != 0) {
		r = keys_map_err(e, KLIC_ERR_NOMEM, "gpgme_data_new");
		goto out;
	}
	e = gpgme_op_sign(ctx, in, sigd, mode);
	res = gpgme_op_sign_result(ctx);
	if (e) {
		r = sign_failed(kr, ctx, fpr, e, res);
		goto out;
	}
	if (res == NULL) {
		r = klic_error_set(KLIC_ERR_GPG, "signing: no result");
		goto out;
	}
	if (res->invalid_signers != NULL) {
		r = keys_map_err(res->invalid_signers->reason, KLIC_ERR_KEY,
				 "signing: invalid signer");
		goto out;
	}
	for (ns = res->signatures; ns != NULL; ns = ns->next)
		n++;
	ns = res->signatures;
	if (n != 1 || ns->type != mode) {
		r = klic_error_set(KLIC_ERR_GPG, "signing: %d signatures made, expected one", n);
		goto out;
	}
	if (!hash_allowed(ns->hash_algo) || !sig_pk_allowed(ns->pubkey_algo)) {
		r = klic_error_set(KLIC_ERR_SIG_ALGO, "signing with %s/%s is not allowed",
				   gpgme_pubkey_algo_name(ns->pubkey_algo)
				       ? gpgme_pubkey_algo_name(ns->pubkey_algo)
				       : "?",
				   gpgme_hash_algo_name(ns->hash_algo)
				       ? gpgme_hash_algo_name(ns->hash_algo)
				       : "?");
		goto out;
	}
	if ((r = keys_data_take(out, outlen, &sigd)) != 0)
		goto out;
	if (*outlen == 0) {
		r = klic_error_set(KLIC_ERR_GPG, "signing: empty output");
		goto out;
	}
	if (mode == GPGME_SIG_MODE_CLEAR && check_clear_output(*out, *outlen, data, len) != 0) {
		r = klic_error_set(KLIC_ERR_GPG, "gpg clear-signed output is not in klic's strict "
						 "form (armor headers in gpg.conf?)");
		goto out;
	}
	r = 0;
out:
	if (r != 0 && *out != NULL) {
		free(*out);
		*out = NULL;
		*outlen = 0;
	}
	gpgme_data_release(in);
	gpgme_data_release(sigd);
	gpgme_key_unref(key);
	keys_ctx_put(kr, ctx, r == 0);
	return r;
}

/* ------------------------------------------------------------------------ */
/* verification                                                              */

/* Status lines that must never appear while checking a DETACHED signature:
 * literal data (an opaque or clear-signed message in the signature slot,
 * which gpg would verify instead of our bytes) or encrypted data. */
struct verify_watch {
	int literal;
	int encrypted;
	int newsig;
	int sig_class; /* from VALIDSIG, -1 if none */
};

/* Field `idx` (0-based, space separated) of a status line as a hex byte. */
static int status_hex_field(const char *args, int idx)
{
	const char *p = args;
	char *end;
	long v;

	for (int i = 0; i < idx; i++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return -1;
		p++;
	}
	v = strtol(p, &end, 16);
	if (end == p || (*end != ' ' && *end != '\0') || v < 0 || v > 0xff)
		return -1;
	return (int)v;
}

static gpgme_error_t verify_status_cb(void *opaque, const char *keyword, const char *args)
{
	struct verify_watch *w = opaque;

	if (keyword == NULL)
		return 0;
	if (strcmp(keyword, "PLAINTEXT") == 0 || strcmp(keyword, "PLAINTEXT_LENGTH") == 0)
		w->literal = 1;
	else if (strcmp(keyword, "BEGIN_DECRYPTION") == 0 || strcmp(keyword, "ENC_TO") == 0 ||
		 strcmp(keyword, "DECRYPTION_INFO") == 0)
		w->encrypted = 1;
	else if (strcmp(keyword, "NEWSIG") == 0)
		w->newsig++;
	else if (strcmp(keyword, "VALIDSIG") == 0 && args != NULL)
		w->sig_class = status_hex_field(args, 8);
	return 0;
}

static unsigned hash_bits(gpgme_hash_algo_t h)
{
	return h == GPGME_MD_SHA256   ? 256
	       : h == GPGME_MD_SHA384 ? 384
	       : h == GPGME_MD_SHA512 ? 512
				      : 0;
}

int keys_verify_check(struct klic_keyring *kr, struct klic_sig_info *info, const uint8_t *sig,
		      size_t siglen, const uint8_t *data, size_t len)
{
	if (info != NULL)
		memset(info, 0, sizeof *info);
	if (kr == NULL || info == NULL || (data == NULL && len != 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "verify_detached");
	if (sig == NULL || siglen == 0)
		return klic_error_set(KLIC_ERR_SIG_NONE, "empty signature");
	if (siglen > KEYS_MAX_SIG_INPUT)
		return klic_error_set(KLIC_ERR_TOO_BIG, "signature of %zu bytes", siglen);
	if (len > KEYS_MAX_SIGN_INPUT)
		return klic_error_set(KLIC_ERR_TOO_BIG, "%zu bytes to verify", len);
	return 0;
}

/* The policy's steps 1-5a, from what gpg reported (w, res, ve): 0 with
 * the one signature in *out, or the KLIC_ERR_SIG_* that refuses it. */
static int policy_sig(const struct verify_watch *w, gpgme_verify_result_t res, gpgme_error_t ve,
		      gpgme_signature_t *out, int *key_expired)
{
	gpgme_signature_t s;
	const char *sfpr;
	unsigned sum;
	int n = 0;

	*key_expired = 0;
	/* 1. exactly one signature, and it must be a detached one */
	if (w->literal || w->encrypted)
		return klic_error_set(KLIC_ERR_SIG_NONE,
				      "not a detached signature (%s in the "
				      "signature slot)",
				      w->literal ? "signed message" : "encrypted data");
	for (s = res ? res->signatures : NULL; s != NULL; s = s->next)
		n++;
	if (n == 0)
		return klic_error_set(KLIC_ERR_SIG_NONE, "no signature found%s%s", ve ? ": " : "",
				      ve ? gpgme_strerror(ve) : "");
	if (n > 1 || w->newsig > 1)
		return klic_error_set(KLIC_ERR_SIG_MULTIPLE, "%d signatures, expected exactly one",
				      n > w->newsig ? n : w->newsig);
	s = res->signatures;
	sfpr = s->fpr ? s->fpr : "";
	sum = (unsigned)s->summary;

	/* 2. key present */
	if (gpgme_err_code(s->status) == GPG_ERR_NO_PUBKEY || (sum & GPGME_SIGSUM_KEY_MISSING))
		return klic_error_set(KLIC_ERR_SIG_UNKNOWN_KEY,
				      "signing key %s is not in the keyring", sfpr);
	/* 3. verifies */
	if (gpgme_err_code(s->status) == GPG_ERR_BAD_SIGNATURE)
		return klic_error_set(KLIC_ERR_SIG_BAD, "bad signature by %s", sfpr);
	/* 4. key not revoked/expired, signature not expired */
	if (gpgme_err_code(s->status) == GPG_ERR_CERT_REVOKED || (sum & GPGME_SIGSUM_KEY_REVOKED))
		return klic_error_set(KLIC_ERR_SIG_KEY_REVOKED, "signing key %s is revoked", sfpr);
	/* an expired key is judged at the signature's time, from the key
	 * listing (policy_key): gpg judges it now */
	*key_expired = gpgme_err_code(s->status) == GPG_ERR_KEY_EXPIRED ||
		       (sum & GPGME_SIGSUM_KEY_EXPIRED) != 0;
	if (gpgme_err_code(s->status) == GPG_ERR_SIG_EXPIRED || (sum & GPGME_SIGSUM_SIG_EXPIRED))
		return klic_error_set(KLIC_ERR_SIG_EXPIRED, "signature by %s has expired", sfpr);
	if (s->wrong_key_usage)
		return klic_error_set(KLIC_ERR_SIG_BAD,
				      "signature by %s: the key is not allowed to sign (wrong key "
				      "usage)",
				      sfpr);
	if ((s->status != 0 && !(*key_expired && gpgme_err_code(s->status) == GPG_ERR_KEY_EXPIRED)) ||
	    ve != 0 ||
	    (sum & (GPGME_SIGSUM_RED | GPGME_SIGSUM_CRL_MISSING | GPGME_SIGSUM_CRL_TOO_OLD |
		    GPGME_SIGSUM_BAD_POLICY | GPGME_SIGSUM_SYS_ERROR)))
		return klic_error_set(KLIC_ERR_SIG_BAD,
				      "signature by %s not valid: %s (summary 0x%x)", sfpr,
				      gpgme_strerror(s->status ? s->status : ve), sum);
	/* 5a. signature algorithms */
	if (!sig_pk_allowed(s->pubkey_algo) || !hash_allowed(s->hash_algo))
		return klic_error_set(
		    KLIC_ERR_SIG_ALGO, "signature algorithm %s/%s not allowed",
		    gpgme_pubkey_algo_name(s->pubkey_algo) ? gpgme_pubkey_algo_name(s->pubkey_algo)
							   : "?",
		    gpgme_hash_algo_name(s->hash_algo) ? gpgme_hash_algo_name(s->hash_algo) : "?");
	/* the key that made it, in THIS keyring (never fetched) */
	if (strlen(sfpr) != KLIC_FPR_HEX_LEN && strlen(sfpr) != 16)
		return klic_error_set(KLIC_ERR_SIG_BAD, "signature without a usable issuer (%s)",
				      sfpr);
	*out = s;
	return 0;
}

/* A key's expiry is judged at the signature's time (issue 14 item 8): a
 * signature made before the (sub)key and its primary expired stays valid
 * after they expire; one made at or after expiry is refused.  gpg only
 * says "expired now" (KEY_EXPIRED), so the listing's expiry times decide. */
static int expiry_at_sig_time(gpgme_signature_t s, gpgme_key_t key, gpgme_subkey_t sk,
			      const char *primary)
{
	long made = s->timestamp;
	long sk_exp = sk->expires, pk_exp = key->subkeys->expires;

	if (made <= 0)
		return klic_error_set(KLIC_ERR_SIG_BAD, "signature by %s has no creation time",
				      primary);
	if ((sk_exp > 0 && made >= sk_exp) || (pk_exp > 0 && made >= pk_exp))
		return klic_error_set(KLIC_ERR_SIG_KEY_EXPIRED,
				      "signing key %s had expired when the signature was made",
				      primary);
	/* expired with no expiry time we could check it against */
	if ((sk->expired && sk_exp <= 0) || (key->expired && pk_exp <= 0))
		return klic_error_set(KLIC_ERR_SIG_KEY_EXPIRED, "signing key %s has expired",
				      primary);
	return 0;
}

/* The policy's checks on the signing key itself (signature s by subkey sk
 * of key): 0 with its primary fingerprint in primary, or the refusal. */
static int policy_key(const struct verify_watch *w, gpgme_signature_t s, gpgme_key_t key,
		      gpgme_subkey_t sk, char primary[KLIC_FPR_HEX_LEN + 1])
{
	const char *sfpr = s->fpr ? s->fpr : "";
	int r;

	if (w->sig_class != 0x00 && w->sig_class != 0x01)
		return klic_error_set(KLIC_ERR_SIG_BAD,
				      "signature by %s of class %d, not a document "
				      "signature",
				      sfpr, w->sig_class);
	if (keys_fpr_copy(primary, key->subkeys->fpr) != 0)
		return klic_error_set(KLIC_ERR_SIG_BAD, "signing key %s: no primary fingerprint",
				      sfpr);
	/* 4 again, from the key itself (defence in depth) */
	if (key->revoked || sk->revoked)
		return klic_error_set(KLIC_ERR_SIG_KEY_REVOKED, "signing key %s is revoked",
				      primary);
	if ((r = expiry_at_sig_time(s, key, sk, primary)) != 0)
		return r;
	if (!sk->can_sign)
		return klic_error_set(KLIC_ERR_SIG_BAD, "signing key %s: %s has no signing capability",
				      primary, sk->fpr ? sk->fpr : "?");
	if (key->disabled || key->invalid || sk->disabled || sk->invalid)
		return klic_error_set(KLIC_ERR_SIG_BAD, "signing key %s is disabled or invalid",
				      primary);
	/* 5b. key algorithm and size */
	if (sk->pubkey_algo != s->pubkey_algo || !subkey_algo_allowed(sk))
		return klic_error_set(KLIC_ERR_SIG_ALGO,
				      "signing key %s: %s %u bits (%s) not allowed", primary,
				      gpgme_pubkey_algo_name(sk->pubkey_algo)
					  ? gpgme_pubkey_algo_name(sk->pubkey_algo)
					  : "?",
				      sk->length, sk->curve ? sk->curve : "-");
	return 0;
}

int keys_engine_verify(struct klic_keyring *kr, struct klic_sig_info *info, const uint8_t *sig,
		       size_t siglen, const uint8_t *data, size_t len)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t sigd = NULL, textd = NULL;
	gpgme_signature_t s = NULL;
	gpgme_key_t key = NULL;
	gpgme_subkey_t sk;
	gpgme_error_t e, ve;
	struct verify_watch w = {0, 0, 0, -1};
	char primary[KLIC_FPR_HEX_LEN + 1];
	int r, key_expired = 0;

	memset(info, 0, sizeof *info);
	if ((r = keys_ctx_get(kr, &ctx)) != 0)
		return r;
	if ((e = gpgme_set_ctx_flag(ctx, "full-status", "1")) != 0) {
		r = keys_map_err(e, KLIC_ERR_GPG, "full-status");
		goto out;
	}
	gpgme_set_status_cb(ctx, verify_status_cb, &w);
	if ((e = gpgme_data_new_from_mem(&sigd, (const char *)sig, siglen, 0)) != 0 ||
	    (e = gpgme_data_new_from_mem(&textd, (const char *)(data ? data : (const uint8_t *)""),
					 len, 0)) != 0) {
		r = keys_map_err(e, KLIC_ERR_NOMEM, "gpgme_data_new_from_mem");
		goto out;
	}
	ve = gpgme_op_verify(ctx, sigd, textd, NULL);
	if ((r = policy_sig(&w, gpgme_op_verify_result(ctx), ve, &s, &key_expired)) != 0)
		goto out;
	if ((r = keys_signer_key(kr, s->fpr, &key, &sk)) != 0)
		goto out;
	if ((r = policy_key(&w, s, key, sk, primary)) != 0)
		goto out;
	memcpy(info->signer, primary, sizeof primary);
	info->hash_bits = hash_bits(s->hash_algo);
	info->sig_class = w.sig_class;
	info->created = (int64_t)s->timestamp;
	info->key_expired = key_expired;
	r = 0;
out:
	gpgme_key_unref(key);
	gpgme_data_release(sigd);
	gpgme_data_release(textd);
	keys_ctx_put(kr, ctx, r == 0);
	return r;
}
