/* klic keys/ — key management (klic_keys.h): generate, export, import,
 * inspect (fingerprints, user IDs), and the secret-key queries.  Never
 * handed to a worker: runs on the engine (engine.h) in this process. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpgme.h>

#include "engine.h"
#include "klic_keys.h"

#define KEYS_MAX_KEY_INPUT (64u * 1024u) /* public key block to import/inspect */
#define KEYS_MAX_NAME 200
#define KEYS_MAX_EMAIL 200

/* ------------------------------------------------------------------------ */
/* generation                                                                */

/* name: UTF-8 text (OpenPGP user IDs are UTF-8, RFC 4880 5.11); email:
 * printable ASCII. */
static int check_text(const char *s, size_t max, const char *what, int utf8)
{
	size_t n;

	if (s == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s missing", what);
	n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s must be 1..%zu characters", what,
				      max);
	if (utf8 ? !klic_text_utf8_ok(s, n) : !klic_is_printable(s, n))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s must be %s", what,
				      utf8 ? "UTF-8 text without control characters"
					   : "printable ASCII");
	if (s[0] == ' ' || s[n - 1] == ' ')
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s has leading/trailing spaces", what);
	if (strpbrk(s, "<>") != NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s must not contain '<' or '>'", what);
	return 0;
}

int klic_key_generate(struct klic_keyring *kr, char fpr_out[KLIC_FPR_HEX_LEN + 1], const char *name,
		      const char *email)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_genkey_result_t res;
	gpgme_error_t e;
	char uid[KLIC_MAX_UID_LEN + 1];
	const char *at;
	unsigned flags;
	int r, n;

	if (kr == NULL || fpr_out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "key_generate");
	fpr_out[0] = '\0';
	if ((r = check_text(name, KEYS_MAX_NAME, "name", 1)) != 0)
		return r;
	if ((r = check_text(email, KEYS_MAX_EMAIL, "email", 0)) != 0)
		return r;
	at = strchr(email, '@');
	if (at == NULL || at == email || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    strpbrk(email, " ()\"") != NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "email must look like user@host");
	if (strpbrk(name, "()") != NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "name must not contain '(' or ')'");
	n = snprintf(uid, sizeof uid, "%s <%s>", name, email);
	if (n < 0 || (size_t)n >= sizeof uid)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "user ID longer than %d",
				      KLIC_MAX_UID_LEN);

	if ((r = keys_ctx_get(kr, &ctx)) != 0)
		return r;
	flags = GPGME_CREATE_SIGN | GPGME_CREATE_NOEXPIRE;
	if (kr->pcb == NULL && kr->passfile == NULL)
		flags |= GPGME_CREATE_NOPASSWD;
	e = gpgme_op_createkey(ctx, uid, "ed25519", 0, 0, NULL, flags);
	if (e) {
		r = keys_map_err(e, KLIC_ERR_KEY, "key generation");
		goto out;
	}
	res = gpgme_op_genkey_result(ctx);
	if (res == NULL || !res->primary || keys_fpr_copy(fpr_out, res->fpr) != 0) {
		r = klic_error_set(KLIC_ERR_KEY, "key generation returned no fingerprint");
		goto out;
	}
	r = 0;
out:
	keys_ctx_put(kr, ctx, r == 0);
	return r;
}

/* ------------------------------------------------------------------------ */
/* export / import / inspect                                                 */

int klic_key_export(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		    int armor)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_data_t d = NULL;
	gpgme_error_t e;
	int r;

	if (out == NULL || outlen == NULL || kr == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "key_export");
	*out = NULL;
	*outlen = 0;
	if ((r = keys_arg_fpr(fpr)) != 0)
		return r;
	if ((r = keys_ctx_get(kr, &ctx)) != 0)
		return r;
	if ((r = keys_get_primary(ctx, &key, fpr, 0)) != 0)
		goto out;
	gpgme_set_armor(ctx, armor ? 1 : 0);
	if ((e = gpgme_data_new(&d)) != 0) {
		r = keys_map_err(e, KLIC_ERR_NOMEM, "gpgme_data_new");
		goto out;
	}
	if ((e = gpgme_op_export(ctx, fpr, GPGME_EXPORT_MODE_MINIMAL, d)) != 0) {
		r = keys_map_err(e, KLIC_ERR_KEY, "export");
		goto out;
	}
	if ((r = keys_data_take(out, outlen, &d)) != 0)
		goto out;
	if (*outlen == 0) {
		free(*out);
		*out = NULL;
		r = klic_error_set(KLIC_ERR_NOT_FOUND, "export of %s is empty", fpr);
		goto out;
	}
	r = 0;
out:
	gpgme_data_release(d);
	gpgme_key_unref(key);
	keys_ctx_put(kr, ctx, r == 0);
	return r;
}

/* List the keys in key[0..keylen) without importing them: exactly one
 * public key, no secret key material. */
static int inspect_data(gpgme_ctx_t ctx, char fpr_out[KLIC_FPR_HEX_LEN + 1], char *uid_out,
			size_t uidsz, const uint8_t *keybuf, size_t keylen)
{
	gpgme_data_t d = NULL;
	gpgme_key_t key = NULL, first = NULL;
	gpgme_error_t e;
	size_t nkeys = 0;
	int r, started = 0;

	if (keybuf == NULL || keylen == 0)
		return klic_error_set(KLIC_ERR_KEY, "empty key data");
	if (keylen > KEYS_MAX_KEY_INPUT)
		return klic_error_set(KLIC_ERR_TOO_BIG, "key data of %zu bytes", keylen);
	if ((e = gpgme_data_new_from_mem(&d, (const char *)keybuf, keylen, 0)) != 0)
		return keys_map_err(e, KLIC_ERR_NOMEM, "gpgme_data_new_from_mem");
	if ((e = gpgme_op_keylist_from_data_start(ctx, d, 0)) != 0) {
		r = keys_map_err(e, KLIC_ERR_KEY, "reading key data");
		goto out;
	}
	started = 1;
	for (;;) {
		e = gpgme_op_keylist_next(ctx, &key);
		if (gpgme_err_code(e) == GPG_ERR_EOF)
			break;
		if (e) {
			r = keys_map_err(e, KLIC_ERR_KEY, "reading key data");
			goto out;
		}
		nkeys++;
		if (key->secret || (key->subkeys != NULL && key->subkeys->secret)) {
			gpgme_key_unref(key);
			r = klic_error_set(KLIC_ERR_KEY, "key data holds secret key material");
			goto out;
		}
		if (first == NULL)
			first = key;
		else
			gpgme_key_unref(key);
		key = NULL;
	}
	if (nkeys == 0) {
		r = klic_error_set(KLIC_ERR_KEY, "no OpenPGP public key found");
		goto out;
	}
	if (nkeys > 1) {
		r = klic_error_set(KLIC_ERR_KEY, "%zu keys found, expected exactly one", nkeys);
		goto out;
	}
	if (first->subkeys == NULL || keys_fpr_copy(fpr_out, first->subkeys->fpr) != 0) {
		r = klic_error_set(KLIC_ERR_KEY, "key without a v4 fingerprint");
		goto out;
	}
	if (uid_out != NULL && uidsz > 0) {
		const char *u =
		    (first->uids != NULL && first->uids->uid != NULL) ? first->uids->uid : "";
		/* informational only: UTF-8 text without control or direction
		 * characters is shown as it is ("Zoë"), anything else as its
		 * printable copy */
		if (strlen(u) < uidsz && klic_text_utf8_ok(u, strlen(u)))
			memcpy(uid_out, u, strlen(u) + 1);
		else
			klic_printable_copy(uid_out, uidsz, u, SIZE_MAX);
	}
	r = 0;
out:
	if (started)
		(void)gpgme_op_keylist_end(ctx);
	gpgme_key_unref(first);
	gpgme_data_release(d);
	return r;
}

int klic_key_inspect(struct klic_keyring *kr, char fpr_out[KLIC_FPR_HEX_LEN + 1],
		     char uid_out[KLIC_MAX_UID_LEN + 1], const uint8_t *key, size_t keylen)
{
	gpgme_ctx_t ctx = NULL;
	int r;

	if (kr == NULL || fpr_out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "key_inspect");
	fpr_out[0] = '\0';
	if (uid_out != NULL)
		uid_out[0] = '\0';
	if ((r = keys_ctx_get(kr, &ctx)) != 0)
		return r;
	r = inspect_data(ctx, fpr_out, uid_out, KLIC_MAX_UID_LEN + 1, key, keylen);
	if (r != 0) {
		fpr_out[0] = '\0';
		if (uid_out != NULL)
			uid_out[0] = '\0';
	}
	keys_ctx_put(kr, ctx, r == 0);
	return r;
}

int klic_key_import(struct klic_keyring *kr, char fpr_out[KLIC_FPR_HEX_LEN + 1],
		    const uint8_t *keybuf, size_t keylen)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t d = NULL;
	gpgme_import_result_t res;
	gpgme_import_status_t st;
	gpgme_key_t key = NULL;
	gpgme_error_t e;
	char fpr[KLIC_FPR_HEX_LEN + 1];
	int r, nst = 0;

	if (kr == NULL || fpr_out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "key_import");
	fpr_out[0] = '\0';
	if ((r = keys_ctx_get(kr, &ctx)) != 0)
		return r;
	/* 1. look before importing: exactly one public key, no secrets */
	if ((r = inspect_data(ctx, fpr, NULL, 0, keybuf, keylen)) != 0)
		goto out;
	/* 2. import and check that gpg did exactly that */
	if ((e = gpgme_data_new_from_mem(&d, (const char *)keybuf, keylen, 0)) != 0) {
		r = keys_map_err(e, KLIC_ERR_NOMEM, "gpgme_data_new_from_mem");
		goto out;
	}
	if ((e = gpgme_op_import(ctx, d)) != 0) {
		r = keys_map_err(e, KLIC_ERR_KEY, "import");
		goto out;
	}
	res = gpgme_op_import_result(ctx);
	if (res == NULL) {
		r = klic_error_set(KLIC_ERR_KEY, "import: no result");
		goto out;
	}
	if (res->secret_read != 0 || res->secret_imported != 0) {
		r = klic_error_set(KLIC_ERR_KEY, "import: secret key material");
		goto out;
	}
	if (res->considered != 1 || res->not_imported != 0) {
		r = klic_error_set(KLIC_ERR_KEY, "import: %d keys considered, %d not imported",
				   res->considered, res->not_imported);
		goto out;
	}
	for (st = res->imports; st != NULL; st = st->next) {
		char got[KLIC_FPR_HEX_LEN + 1];
		nst++;
		if (st->result != 0 || keys_fpr_copy(got, st->fpr) != 0 || strcmp(got, fpr) != 0) {
			r = klic_error_set(KLIC_ERR_KEY, "import: unexpected result for %s",
					   st->fpr ? st->fpr : "(none)");
			goto out;
		}
	}
	if (nst == 0) {
		r = klic_error_set(KLIC_ERR_KEY, "import: key %s was not imported", fpr);
		goto out;
	}
	/* 3. it is now in the keyring under that primary fingerprint */
	if ((r = keys_get_primary(ctx, &key, fpr, 0)) != 0) {
		r = klic_error_set(KLIC_ERR_KEY, "import: %s not in keyring afterwards", fpr);
		goto out;
	}
	memcpy(fpr_out, fpr, sizeof fpr);
	r = 0;
out:
	if (d != NULL) /* an import was tried: the snapshot may be stale */
		keys_pub_cache_forget(kr);
	gpgme_key_unref(key);
	gpgme_data_release(d);
	keys_ctx_put(kr, ctx, r == 0);
	return r;
}

/* ------------------------------------------------------------------------ */
/* secret keys                                                               */

int klic_key_secret_fpr(struct klic_keyring *kr, char fpr_out[KLIC_FPR_HEX_LEN + 1])
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_error_t e;
	char fpr[KLIC_FPR_HEX_LEN + 1] = "";
	size_t n = 0;
	int r, started = 0;

	if (kr == NULL || fpr_out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "key_secret_fpr");
	fpr_out[0] = '\0';
	if ((r = keys_ctx_get(kr, &ctx)) != 0)
		return r;
	if ((e = gpgme_op_keylist_start(ctx, NULL, 1)) != 0) {
		r = keys_map_err(e, KLIC_ERR_GPG, "listing secret keys");
		goto out;
	}
	started = 1;
	for (;;) {
		e = gpgme_op_keylist_next(ctx, &key);
		if (gpgme_err_code(e) == GPG_ERR_EOF)
			break;
		if (e) {
			r = keys_map_err(e, KLIC_ERR_GPG, "listing secret keys");
			goto out;
		}
		n++;
		if (n == 1 &&
		    (key->subkeys == NULL || keys_fpr_copy(fpr, key->subkeys->fpr) != 0)) {
			gpgme_key_unref(key);
			r = klic_error_set(KLIC_ERR_KEY, "secret key without a v4 fingerprint");
			goto out;
		}
		gpgme_key_unref(key);
		key = NULL;
	}
	if (n == 0) {
		r = klic_error_set(KLIC_ERR_NOT_FOUND, "no secret key in %s", kr->home);
		goto out;
	}
	if (n > 1) {
		r = klic_error_set(KLIC_ERR_KEY, "%zu secret keys in %s, expected one", n,
				   kr->home);
		goto out;
	}
	memcpy(fpr_out, fpr, sizeof fpr);
	r = 0;
out:
	if (started)
		(void)gpgme_op_keylist_end(ctx);
	keys_ctx_put(kr, ctx, r == 0);
	return r;
}

int klic_key_can_sign(struct klic_keyring *kr, const char *fpr)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	int r;

	if (kr == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "key_can_sign");
	if ((r = keys_arg_fpr(fpr)) != 0)
		return r;
	if ((r = keys_ctx_get(kr, &ctx)) != 0)
		return r;
	if ((r = keys_get_primary(ctx, &key, fpr, 1)) != 0)
		goto out;
	r = keys_usable_for_signing(key, fpr);
out:
	gpgme_key_unref(key);
	keys_ctx_put(kr, ctx, r == 0);
	return r;
}
