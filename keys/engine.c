/* klic keys/ — the GPGME engine (see engine.h, klic_keys.h and
 * spec/PROTOCOL.md section 4): keyrings, GPGME contexts, key caches,
 * passphrases, and the one gpgme_error_t -> KLIC_ERR_* boundary.  The
 * sign/verify bodies and the verification policy are in sigs.c.
 *
 * Contexts are pooled: struct klic_keyring (keys_int.h) holds the home
 * directory and the passphrase settings, read-only after setup, a pool of
 * idle contexts set up for that home, and two key caches, all behind a
 * mutex, so several threads may sign/verify with the same keyring at
 * once.  A context goes back to the pool after an operation that
 * succeeded (setting up a new one costs a `gpg --version`).
 *
 * Every gpgme operation is one gpg process, while the signature math is
 * negligible; so a signature is ONE process and a verification is ONE
 * process: the signing key is looked up once per keyring object and kept;
 * the public keys that verification needs (to attribute a subkey to its
 * primary and to check key algorithm, size, revocation and expiry from the
 * key itself) are listed once per keyring object with a single keylist and
 * kept.  A key missing from that snapshot is looked up on its own (it may
 * have been imported since), and an import through this keyring object
 * drops the snapshot.  Revocation and expiry are still reported live by
 * gpg in every verification's status.
 *
 * Trust model: we do not rely on OpenPGP validity or trust levels at all.
 * Every decision is made on the PRIMARY fingerprint of the signing key
 * (pinned issuer, registered member).  With the default "pgp" trust model a
 * good signature by a key nobody certified has validity "unknown", which
 * gives a summary without GREEN and without RED — the policy never asks
 * for GREEN, so no "trust-model always" is needed; revocation and expiry
 * are still reported by gpg as status codes / summary bits whatever the
 * trust model (the unit tests pass identically with and without the flag
 * below).  We nevertheless pass --trust-model=always on every invocation
 * (gpgme "trust-model" flag): it makes the result independent of whatever
 * a user's own gpg.conf says (tofu conflicts would set RED), and it spares
 * gpg the trustdb check on every run.  The unit tests check that revoked
 * and expired keys are still refused with it.
 *
 * No key is ever fetched: every invocation runs offline (--disable-dirmngr)
 * with --auto-key-locate=local, and the gpg.conf of keyrings we create also
 * says no-auto-key-retrieve / no-auto-key-import (all accepted by gpg
 * 2.2.40).  An existing keyring (--gnupghome) keeps its own gpg.conf; gpgme
 * 1.18 cannot pass --no-auto-key-import, but a key imported from a signature
 * there would still not be pinned, so the verdict is unaffected.
 *
 * Passphrases: loopback pinentry only, the callback reads the passphrase
 * file (first line) or asks the caller's callback, and fails at once
 * (GPG_ERR_NO_PASSPHRASE -> KLIC_ERR_PASSPHRASE) when neither is set.
 * gpg-agent.conf of created keyrings disables the passphrase cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpgme.h>

#include "engine.h"
#include "klic_keys.h"

#define KEYS_MAX_PASSPHRASE 1024 /* bytes, including the NUL */

/* gpg.conf written into every keyring we create. */
static const char keys_gpg_conf[] =
    "# Written by klic.  Keys are pinned by fingerprint and never fetched\n"
    "# or imported from a signature; no network.\n"
    "no-auto-key-retrieve\n"
    "no-auto-key-import\n"
    "auto-key-locate local\n"
    "keyserver-options no-auto-key-retrieve\n"
    "disable-dirmngr\n"
    "# Signature blocks without armor headers (klic's strict .lic format).\n"
    "no-emit-version\n"
    "no-comments\n"
    "personal-digest-preferences SHA512 SHA384 SHA256\n"
    "cert-digest-algo SHA512\n"
    "# Third-party certifications carry nothing we use.\n"
    "import-options self-sigs-only\n";

/* gpg-agent.conf: passphrases only through loopback (file or callback),
 * and never cached, so every signature needs the configured source. */
static const char keys_agent_conf[] = "allow-loopback-pinentry\n"
				      "default-cache-ttl 0\n"
				      "max-cache-ttl 0\n";

/* ------------------------------------------------------------------------ */
/* init                                                                      */

static pthread_once_t keys_once = PTHREAD_ONCE_INIT;
static int keys_init_rc = KLIC_ERR_INTERNAL;
static char keys_init_detail[256];

static void keys_init_once(void)
{
	int n;

	/* OpenPGP only: GPGME takes gpg from PATH (as it would take gpgconf
	 * from PATH and gpg from gpgconf) instead of asking gpgconf and gpgsm,
	 * so the engine check runs one process (gpg --version), not five.
	 * GnuPG older than 2.2 is refused at that check. */
	if (gpgme_set_global_flag("disable-gpgconf", "1") != 0 ||
	    gpgme_set_global_flag("require-gnupg", "2.2.0") != 0) {
		keys_init_rc = KLIC_ERR_GPG;
		n = snprintf(
		    keys_init_detail, sizeof keys_init_detail,
		    "gpgme_set_global_flag failed (GPGME initialised before klic_keys_init)");
		(void)n;
		return;
	}
	if (!gpgme_check_version(NULL)) {
		keys_init_rc = KLIC_ERR_GPG;
		n = snprintf(keys_init_detail, sizeof keys_init_detail,
			     "gpgme_check_version failed");
		(void)n;
		return;
	}
	/* gpg from the absolute path fixed at build time, never through PATH:
	 * whatever decides "valid" must not be a file the user can put first
	 * on PATH (spec 5.6).  GPGME finds gpgconf in fixed directories. */
	if (gpgme_set_engine_info(GPGME_PROTOCOL_OpenPGP, KLIC_GPG_PATH, NULL) != 0) {
		keys_init_rc = KLIC_ERR_GPG;
		n = snprintf(keys_init_detail, sizeof keys_init_detail,
			     "cannot use gpg at %s", KLIC_GPG_PATH);
		(void)n;
		return;
	}
	/* Do not pass the caller's locale to gpg: we only read status lines. */
	(void)gpgme_set_locale(NULL, LC_CTYPE, NULL);
#ifdef LC_MESSAGES
	(void)gpgme_set_locale(NULL, LC_MESSAGES, NULL);
#endif
	keys_init_rc = 0;
}

int klic_keys_init(void)
{
	if (pthread_once(&keys_once, keys_init_once) != 0)
		return klic_error_set(KLIC_ERR_INTERNAL, "pthread_once failed");
	if (keys_init_rc != 0)
		return klic_error_set(keys_init_rc, "%s", keys_init_detail);
	return 0;
}

/* The engine check runs gpg --version: only a process that makes a gpg
 * call pays it, at its first context (klic-admin issue hands its gpg calls
 * to a worker program and never does). */
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static int engine_rc = KLIC_ERR_INTERNAL;
static char engine_detail[256];

static void engine_check_once(void)
{
	gpgme_error_t e = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	int n;

	if (e) {
		n = snprintf(engine_detail, sizeof engine_detail,
			     "OpenPGP engine (gpg) not usable: %s", gpgme_strerror(e));
		(void)n;
		engine_rc = KLIC_ERR_GPG;
		return;
	}
	engine_rc = 0;
}

static int engine_check(void)
{
	int r;

	if ((r = klic_keys_init()) != 0)
		return r;
	if (pthread_once(&engine_once, engine_check_once) != 0)
		return klic_error_set(KLIC_ERR_INTERNAL, "pthread_once failed");
	if (engine_rc != 0)
		return klic_error_set(engine_rc, "%s", engine_detail);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* small helpers                                                             */

int klic_fpr_check(const char *s)
{
	size_t i;

	if (s == NULL)
		return KLIC_ERR_INVALID_ARG;
	for (i = 0; i < KLIC_FPR_HEX_LEN; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return KLIC_ERR_INVALID_ARG;
	}
	if (s[KLIC_FPR_HEX_LEN] != '\0')
		return KLIC_ERR_INVALID_ARG;
	return 0;
}

/* Copy a 40-hex fingerprint from gpgme (any case) to out, upper case. */
int keys_fpr_copy(char out[KLIC_FPR_HEX_LEN + 1], const char *in)
{
	size_t i;

	if (in == NULL || strlen(in) != KLIC_FPR_HEX_LEN)
		return KLIC_ERR_KEY;
	for (i = 0; i < KLIC_FPR_HEX_LEN; i++) {
		char c = in[i];
		if (c >= 'a' && c <= 'f')
			c = (char)(c - 'a' + 'A');
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return KLIC_ERR_KEY;
		out[i] = c;
	}
	out[KLIC_FPR_HEX_LEN] = '\0';
	return 0;
}

int keys_arg_fpr(const char *fpr)
{
	if (klic_fpr_check(fpr) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "not a 40-hex upper-case fingerprint");
	return 0;
}

int keys_is_passphrase_err(gpgme_error_t e)
{
	switch (gpgme_err_code(e)) {
	case GPG_ERR_BAD_PASSPHRASE:
	case GPG_ERR_NO_PASSPHRASE:
	case GPG_ERR_CANCELED:
	case GPG_ERR_FULLY_CANCELED:
	case GPG_ERR_NO_PIN:
	case GPG_ERR_BAD_PIN:
	case GPG_ERR_PIN_ENTRY:
	case GPG_ERR_NO_PIN_ENTRY:
		return 1;
	default:
		return 0;
	}
}

/* The one gpgme_error_t -> KLIC_ERR_* boundary. */
int keys_map_err(gpgme_error_t e, int dflt, const char *what)
{
	int code = dflt;

	if (gpgme_err_code(e) == GPG_ERR_ENOMEM)
		code = KLIC_ERR_NOMEM;
	else if (keys_is_passphrase_err(e))
		code = KLIC_ERR_PASSPHRASE;
	else if (gpgme_err_code(e) == GPG_ERR_INV_ENGINE ||
		 gpgme_err_code(e) == GPG_ERR_ENGINE_TOO_OLD)
		code = KLIC_ERR_GPG;
	return klic_error_set(code, "%s: %s (%s)", what, gpgme_strerror(e), gpgme_strsource(e));
}

/* Copy gpgme memory into a malloc'd buffer the caller frees with free(). */
int keys_data_take(uint8_t **out, size_t *outlen, gpgme_data_t *d)
{
	size_t n = 0;
	char *m;
	uint8_t *copy;

	m = gpgme_data_release_and_get_mem(*d, &n);
	*d = NULL;
	if (m == NULL && n != 0)
		return klic_error_set(KLIC_ERR_NOMEM, "gpgme_data_release_and_get_mem");
	if (n > KEYS_MAX_OUTPUT) {
		gpgme_free(m);
		return klic_error_set(KLIC_ERR_TOO_BIG, "gpg output of %zu bytes", n);
	}
	copy = malloc(n + 1);
	if (copy == NULL) {
		gpgme_free(m);
		return klic_error_set(KLIC_ERR_NOMEM, "output copy");
	}
	if (n)
		memcpy(copy, m, n);
	copy[n] = '\0';
	gpgme_free(m);
	*out = copy;
	*outlen = n;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* passphrases                                                               */

/* First line of the passphrase file into buf (NUL-terminated).  Works on
 * pipes and FIFOs too; reads at most bufsize - 1 bytes. */
static int read_passfile(const char *path, char *buf, size_t bufsize)
{
	int fd, r = KLIC_ERR_IO;
	size_t n = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return KLIC_ERR_IO;
	while (n + 1 < bufsize) {
		ssize_t k = read(fd, buf + n, bufsize - 1 - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (k == 0)
			break;
		if (memchr(buf + n, '\n', (size_t)k) != NULL) {
			n += (size_t)k;
			break;
		}
		n += (size_t)k;
	}
	{
		char *nl = memchr(buf, '\n', n);
		if (nl != NULL)
			n = (size_t)(nl - buf);
		else if (n + 1 >= bufsize) {
			r = KLIC_ERR_TOO_BIG; /* no newline within the cap */
			goto out;
		}
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (memchr(buf, '\0', n) != NULL) {
		r = KLIC_ERR_PASSPHRASE;
		goto out;
	}
	buf[n] = '\0';
	r = 0;
out:
	if (r != 0)
		klic_wipe(buf, bufsize);
	close(fd);
	return r;
}

static gpgme_error_t pass_cb(void *hook, const char *uid_hint, const char *info, int prev_was_bad,
			     int fd)
{
	struct klic_keyring *kr = hook;
	char buf[KEYS_MAX_PASSPHRASE];
	gpgme_error_t e = 0;
	size_t n;

	(void)uid_hint;
	(void)info;
	if (prev_was_bad)
		return gpgme_error(GPG_ERR_BAD_PASSPHRASE); /* never loop */
	memset(buf, 0, sizeof buf);
	if (kr->pcb != NULL) {
		if (kr->pcb(kr->pcb_ctx, buf, sizeof buf) != 0) {
			e = gpgme_error(GPG_ERR_NO_PASSPHRASE);
			goto out;
		}
		buf[sizeof buf - 1] = '\0';
	} else if (kr->passfile != NULL) {
		if (read_passfile(kr->passfile, buf, sizeof buf) != 0) {
			e = gpgme_error(GPG_ERR_NO_PASSPHRASE);
			goto out;
		}
	} else {
		e = gpgme_error(GPG_ERR_NO_PASSPHRASE); /* fail fast, never prompt */
		goto out;
	}
	n = strlen(buf);
	if (memchr(buf, '\n', n) != NULL) {
		e = gpgme_error(GPG_ERR_BAD_PASSPHRASE);
		goto out;
	}
	if (gpgme_io_writen(fd, buf, n) != 0 || gpgme_io_writen(fd, "\n", 1) != 0)
		e = gpgme_error_from_syserror();
out:
	klic_wipe(buf, sizeof buf);
	return e;
}

int keys_engine_set_passfile(struct klic_keyring *kr, const char *path)
{
	char *p;

	if (kr == NULL || path == NULL || path[0] == '\0')
		return klic_error_set(KLIC_ERR_INVALID_ARG, "passphrase file");
	if (access(path, R_OK) != 0)
		return klic_error_set(errno == ENOENT ? KLIC_ERR_NOT_FOUND : KLIC_ERR_IO, "%s: %s",
				      path, strerror(errno));
	p = strdup(path);
	if (p == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "strdup");
	free(kr->passfile);
	kr->passfile = p;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* keyring and contexts                                                      */

static int write_conf(const char *home, const char *name, const char *text)
{
	char path[PATH_MAX];
	int n, r;

	n = snprintf(path, sizeof path, "%s/%s", home, name);
	if (n < 0 || (size_t)n >= sizeof path)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s/%s: path too long", home, name);
	r = klic_write_atomic(path, text, strlen(text), 0600, KLIC_WRITE_NOREPLACE);
	if (r == KLIC_ERR_EXISTS) {
		klic_error_clear();
		return 0; /* keep an existing configuration */
	}
	return r;
}

int keys_engine_open(struct klic_keyring **out, const char *gnupghome, int create)
{
	struct klic_keyring *kr = NULL;
	char real[PATH_MAX];
	struct stat st;
	int r;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "keyring_open: out");
	*out = NULL;
	if (gnupghome == NULL || gnupghome[0] == '\0' || strlen(gnupghome) >= PATH_MAX)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "GNUPGHOME path");
	if ((r = klic_keys_init()) != 0)
		return r;

	if (create && (r = klic_mkdir_p(gnupghome, 0700)) != 0)
		return r;
	if (lstat(gnupghome, &st) != 0)
		return klic_error_set(errno == ENOENT ? KLIC_ERR_NOT_FOUND : KLIC_ERR_IO, "%s: %s",
				      gnupghome, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return klic_error_set(KLIC_ERR_KEY, "%s: GNUPGHOME is not a directory", gnupghome);
	if (st.st_uid != geteuid())
		return klic_error_set(KLIC_ERR_KEY, "%s: GNUPGHOME is owned by uid %lu, not by us",
				      gnupghome, (unsigned long)st.st_uid);
	if ((st.st_mode & 077) != 0)
		return klic_error_set(KLIC_ERR_KEY,
				      "%s: GNUPGHOME is accessible by group/other (mode %04o)",
				      gnupghome, (unsigned)(st.st_mode & 07777));
	if (realpath(gnupghome, real) == NULL)
		return klic_error_set(KLIC_ERR_IO, "%s: %s", gnupghome, strerror(errno));

	if (create) {
		char conf[sizeof keys_gpg_conf + 64];
		snprintf(conf, sizeof conf, "%s%s", keys_gpg_conf,
			 create == KLIC_KEYRING_VERIFY_ONLY
			     ? "# A scratch keyring: no gpg-agent.\nno-autostart\n"
			     : "");
		if ((r = write_conf(real, "gpg.conf", conf)) != 0)
			return r;
		if ((r = write_conf(real, "gpg-agent.conf", keys_agent_conf)) != 0)
			return r;
	}

	kr = calloc(1, sizeof *kr);
	if (kr == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "keyring");
	kr->home = strdup(real);
	if (kr->home == NULL) {
		free(kr);
		return klic_error_set(KLIC_ERR_NOMEM, "keyring");
	}
	if (pthread_mutex_init(&kr->mu, NULL) != 0) {
		free(kr->home);
		free(kr);
		return klic_error_set(KLIC_ERR_INTERNAL, "keyring mutex");
	}
	if (pthread_mutex_init(&kr->load_mu, NULL) != 0) {
		pthread_mutex_destroy(&kr->mu);
		free(kr->home);
		free(kr);
		return klic_error_set(KLIC_ERR_INTERNAL, "keyring mutex");
	}
	*out = kr;
	return 0;
}

/* Drop the public key snapshot (caller holds kr->mu). */
static void pub_cache_drop(struct klic_keyring *kr)
{
	for (size_t i = 0; i < kr->npub; i++)
		gpgme_key_unref(kr->pub[i]);
	free(kr->pub);
	kr->pub = NULL;
	kr->npub = kr->cappub = 0;
	kr->pub_loaded = 0;
}

void keys_engine_free(struct klic_keyring *kr)
{
	if (kr == NULL)
		return;
	pub_cache_drop(kr);
	gpgme_key_unref(kr->sign_key);
	while (kr->n_idle > 0)
		gpgme_release(kr->idle[--kr->n_idle]);
	pthread_mutex_destroy(&kr->load_mu);
	pthread_mutex_destroy(&kr->mu);
	free(kr->home);
	free(kr->passfile);
	free(kr);
}

void keys_pub_cache_forget(struct klic_keyring *kr)
{
	pthread_mutex_lock(&kr->mu);
	pub_cache_drop(kr);
	pthread_mutex_unlock(&kr->mu);
}

/* A context bound to this keyring: an idle one from the pool, else a new
 * one: OpenPGP, our home, offline (--disable-dirmngr), key locate local
 * only, loopback pinentry with our callback (which fails at once when no
 * passphrase source is set). */
int keys_ctx_get(struct klic_keyring *kr, gpgme_ctx_t *out)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_error_t e;
	int r;

	*out = NULL;
	pthread_mutex_lock(&kr->mu);
	if (kr->n_idle > 0)
		ctx = kr->idle[--kr->n_idle];
	pthread_mutex_unlock(&kr->mu);
	if (ctx != NULL) {
		*out = ctx;
		return 0;
	}
	if ((r = engine_check()) != 0)
		return r;
	if ((e = gpgme_new(&ctx)) != 0)
		return keys_map_err(e, KLIC_ERR_GPG, "gpgme_new");
	if ((e = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP)) != 0 ||
	    (e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, KLIC_GPG_PATH,
						kr->home)) != 0 ||
	    (e = gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK)) != 0 ||
	    (e = gpgme_set_ctx_flag(ctx, "auto-key-locate", "local")) != 0 ||
	    (e = gpgme_set_ctx_flag(ctx, "trust-model", "always")) != 0) {
		gpgme_release(ctx);
		return keys_map_err(e, KLIC_ERR_GPG, "gpgme context setup");
	}
	gpgme_set_offline(ctx, 1);
	gpgme_set_passphrase_cb(ctx, pass_cb, kr);
	gpgme_set_armor(ctx, 0);
	gpgme_set_textmode(ctx, 0);
	*out = ctx;
	return 0;
}

/* Done with a context: keep it for the next operation when it was used
 * successfully (its engine set-up runs `gpg --version` once, which would
 * otherwise double the processes per operation), else drop it. */
void keys_ctx_put(struct klic_keyring *kr, gpgme_ctx_t ctx, int reuse)
{
	if (ctx == NULL)
		return;
	if (reuse) {
		gpgme_signers_clear(ctx);
		gpgme_set_status_cb(ctx, NULL, NULL);
		reuse = gpgme_set_ctx_flag(ctx, "full-status", "0") == 0;
		gpgme_set_armor(ctx, 0);
		gpgme_set_textmode(ctx, 0);
		gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL);
	}
	pthread_mutex_lock(&kr->mu);
	if (reuse && kr->n_idle < KEYS_MAX_IDLE_CTX) {
		kr->idle[kr->n_idle++] = ctx;
		ctx = NULL;
	}
	pthread_mutex_unlock(&kr->mu);
	gpgme_release(ctx);
}

/* The key whose PRIMARY fingerprint is fpr (secret: with secret part). */
int keys_get_primary(gpgme_ctx_t ctx, gpgme_key_t *out, const char *fpr, int secret)
{
	gpgme_key_t key = NULL;
	gpgme_error_t e;

	*out = NULL;
	e = gpgme_get_key(ctx, fpr, &key, secret);
	if (gpgme_err_code(e) == GPG_ERR_EOF || (e == 0 && key == NULL))
		return klic_error_set(KLIC_ERR_NOT_FOUND, "no %s key %s in keyring",
				      secret ? "secret" : "public", fpr);
	if (e)
		return keys_map_err(e, KLIC_ERR_KEY, fpr);
	if (key->subkeys == NULL || key->subkeys->fpr == NULL ||
	    strcasecmp(key->subkeys->fpr, fpr) != 0) {
		gpgme_key_unref(key);
		return klic_error_set(KLIC_ERR_NOT_FOUND, "%s is not a primary key fingerprint",
				      fpr);
	}
	*out = key;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* key caches                                                                */

/* Find the (sub)key that made the signature: sig_fpr is a 40-hex
 * fingerprint of the primary or a subkey, or a 16-hex key ID. */
static gpgme_subkey_t find_subkey(gpgme_key_t key, const char *sig_fpr)
{
	gpgme_subkey_t sk;
	size_t n = strlen(sig_fpr);

	for (sk = key->subkeys; sk != NULL; sk = sk->next) {
		if (n == KLIC_FPR_HEX_LEN && sk->fpr != NULL && strcasecmp(sk->fpr, sig_fpr) == 0)
			return sk;
		if (n == 16 && sk->keyid != NULL && strcasecmp(sk->keyid, sig_fpr) == 0)
			return sk;
	}
	return NULL;
}

/* Append a new reference to key to a growing array. */
static int keys_append(gpgme_key_t **arr, size_t *n, size_t *cap, gpgme_key_t key)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		gpgme_key_t *p;
		if (c > SIZE_MAX / sizeof *p || (p = realloc(*arr, c * sizeof *p)) == NULL)
			return klic_error_set(KLIC_ERR_NOMEM, "key cache");
		*arr = p;
		*cap = c;
	}
	gpgme_key_ref(key);
	(*arr)[(*n)++] = key;
	return 0;
}

/* List every public key once (one gpg process) into the snapshot, with
 * with_secret: marking those with a secret part.  Loads are serialized by
 * load_mu; kr->mu is held only to install the result. */
static int pub_cache_load(struct klic_keyring *kr, int with_secret)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL, *keys = NULL;
	size_t n = 0, cap = 0;
	gpgme_error_t e;
	int r, loaded;

	pthread_mutex_lock(&kr->load_mu);
	pthread_mutex_lock(&kr->mu);
	loaded = kr->pub_loaded;
	pthread_mutex_unlock(&kr->mu);
	if (loaded) {
		pthread_mutex_unlock(&kr->load_mu);
		return 0;
	}
	if ((r = keys_ctx_get(kr, &ctx)) != 0)
		goto out;
	if (with_secret &&
	    (e = gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL |
						 GPGME_KEYLIST_MODE_WITH_SECRET)) != 0) {
		r = keys_map_err(e, KLIC_ERR_GPG, "keylist mode");
		goto out;
	}
	if ((e = gpgme_op_keylist_start(ctx, NULL, 0)) != 0) {
		r = keys_map_err(e, KLIC_ERR_GPG, "keylist");
		goto out;
	}
	for (;;) {
		e = gpgme_op_keylist_next(ctx, &key);
		if (gpgme_err_code(e) == GPG_ERR_EOF)
			break;
		if (e) {
			r = keys_map_err(e, KLIC_ERR_GPG, "keylist");
			goto out;
		}
		r = keys_append(&keys, &n, &cap, key);
		gpgme_key_unref(key);
		key = NULL;
		if (r != 0)
			goto out;
	}
	pthread_mutex_lock(&kr->mu);
	pub_cache_drop(kr);
	kr->pub = keys;
	kr->npub = n;
	kr->cappub = cap;
	kr->pub_loaded = 1;
	pthread_mutex_unlock(&kr->mu);
	keys = NULL; /* transferred */
	n = 0;
	r = 0;
out:
	if (r != 0 && ctx != NULL)
		(void)gpgme_op_keylist_end(ctx);
	keys_ctx_put(kr, ctx, r == 0);
	while (n > 0)
		gpgme_key_unref(keys[--n]);
	free(keys);
	pthread_mutex_unlock(&kr->load_mu);
	return r;
}

/* Find the one key holding the (sub)key sig_fpr in the snapshot: 1 found
 * (*out referenced), 0 none, -1 ambiguous (caller holds kr->mu). */
static int pub_cache_find(struct klic_keyring *kr, const char *sig_fpr, gpgme_key_t *out,
			  gpgme_subkey_t *sk_out)
{
	int found = 0;

	for (size_t i = 0; i < kr->npub; i++) {
		gpgme_subkey_t sk = find_subkey(kr->pub[i], sig_fpr);
		if (sk == NULL)
			continue;
		if (found++) {
			gpgme_key_unref(*out);
			*out = NULL;
			return -1;
		}
		gpgme_key_ref(kr->pub[i]);
		*out = kr->pub[i];
		*sk_out = sk;
	}
	return found;
}

/* The public key that made a signature (sig_fpr: its subkey fingerprint or
 * key ID), a new reference, from the snapshot or looked up on its own. */
int keys_signer_key(struct klic_keyring *kr, const char *sig_fpr, gpgme_key_t *out,
		    gpgme_subkey_t *sk_out)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_subkey_t sk;
	gpgme_error_t e;
	int r, f;

	*out = NULL;
	*sk_out = NULL;
	if ((r = pub_cache_load(kr, 0)) != 0)
		return r;
	pthread_mutex_lock(&kr->mu);
	f = pub_cache_find(kr, sig_fpr, out, sk_out);
	pthread_mutex_unlock(&kr->mu);
	if (f < 0)
		return klic_error_set(KLIC_ERR_SIG_BAD, "signing key %s is ambiguous", sig_fpr);
	if (f > 0)
		return 0;
	/* not in the snapshot: imported since? */
	if ((r = keys_ctx_get(kr, &ctx)) != 0)
		return r;
	e = gpgme_get_key(ctx, sig_fpr, &key, 0);
	keys_ctx_put(kr, ctx, e == 0);
	if (e || key == NULL || key->subkeys == NULL || (sk = find_subkey(key, sig_fpr)) == NULL) {
		gpgme_key_unref(key);
		return klic_error_set(KLIC_ERR_SIG_BAD,
				      "signing key %s not found unambiguously: %s", sig_fpr,
				      e ? gpgme_strerror(e) : "no such subkey");
	}
	pthread_mutex_lock(&kr->mu);
	/* the key changed since the snapshot (a new subkey, say): its old
	 * entry goes, so the signer stays unambiguous */
	for (size_t i = 0; i < kr->npub;) {
		gpgme_subkey_t p = kr->pub[i]->subkeys;
		if (p != NULL && p->fpr != NULL && key->subkeys->fpr != NULL &&
		    strcmp(p->fpr, key->subkeys->fpr) == 0) {
			gpgme_key_unref(kr->pub[i]);
			kr->pub[i] = kr->pub[--kr->npub];
		} else {
			i++;
		}
	}
	r = keys_append(&kr->pub, &kr->npub, &kr->cappub, key);
	pthread_mutex_unlock(&kr->mu);
	if (r != 0) {
		gpgme_key_unref(key);
		return r;
	}
	*out = key; /* transferred */
	*sk_out = sk;
	return 0;
}

int keys_usable_for_signing(gpgme_key_t key, const char *fpr)
{
	gpgme_subkey_t sk;

	if (key->revoked)
		return klic_error_set(KLIC_ERR_SIG_KEY_REVOKED, "key %s is revoked", fpr);
	if (key->expired)
		return klic_error_set(KLIC_ERR_SIG_KEY_EXPIRED, "key %s has expired", fpr);
	if (key->disabled || key->invalid)
		return klic_error_set(KLIC_ERR_KEY, "key %s is disabled or invalid", fpr);
	if (!key->can_sign)
		return klic_error_set(KLIC_ERR_KEY, "key %s cannot sign", fpr);
	for (sk = key->subkeys; sk != NULL; sk = sk->next) {
		if (sk->can_sign && sk->secret && !sk->revoked && !sk->expired && !sk->disabled &&
		    !sk->invalid)
			return 0;
	}
	return klic_error_set(KLIC_ERR_KEY, "key %s has no usable secret signing (sub)key", fpr);
}

/* The usable secret key `fpr` (a new reference), looked up once per
 * keyring object: every later signature is then one gpg process. */
int keys_signing_key(struct klic_keyring *kr, gpgme_ctx_t ctx, gpgme_key_t *out, const char *fpr)
{
	gpgme_key_t key = NULL;
	int r;

	*out = NULL;
	pthread_mutex_lock(&kr->mu);
	if (kr->sign_key != NULL && strcmp(kr->sign_fpr, fpr) == 0) {
		gpgme_key_ref(kr->sign_key);
		*out = kr->sign_key;
		pthread_mutex_unlock(&kr->mu);
		return 0;
	}
	pthread_mutex_unlock(&kr->mu);
	if ((r = keys_get_primary(ctx, &key, fpr, 1)) != 0)
		return r;
	if ((r = keys_usable_for_signing(key, fpr)) != 0) {
		gpgme_key_unref(key);
		return r;
	}
	pthread_mutex_lock(&kr->mu);
	gpgme_key_unref(kr->sign_key);
	gpgme_key_ref(key);
	kr->sign_key = key;
	memcpy(kr->sign_fpr, fpr, sizeof kr->sign_fpr);
	pthread_mutex_unlock(&kr->mu);
	*out = key; /* transferred: our reference */
	return 0;
}

/* List the public keys and look up the signing key now (both are kept in
 * kr), so that worker processes forked afterwards inherit them instead of
 * each running the same gpg processes again.  One gpg process: the
 * listing says which keys have a secret part (GPGME_KEYLIST_MODE_
 * WITH_SECRET), so the signing key comes from it when usable (else from
 * a listing of the secret keys, as when signing unwarmed).  Best effort:
 * a failure here is reported again by the operation that needs the key. */
void keys_warm(struct klic_keyring *kr, const char *sign_fpr)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	int want = sign_fpr != NULL && klic_fpr_check(sign_fpr) == 0;

	if (pub_cache_load(kr, want) == 0 && want) {
		gpgme_subkey_t sk = NULL;
		pthread_mutex_lock(&kr->mu);
		/* the one key whose primary is sign_fpr, with its secret part */
		if (pub_cache_find(kr, sign_fpr, &key, &sk) == 1 &&
		    (sk != key->subkeys || !key->secret ||
		     keys_usable_for_signing(key, sign_fpr) != 0)) {
			gpgme_key_unref(key);
			key = NULL;
		}
		if (key != NULL) { /* the lookup's reference goes to kr */
			gpgme_key_unref(kr->sign_key);
			kr->sign_key = key;
			memcpy(kr->sign_fpr, sign_fpr, sizeof kr->sign_fpr);
		}
		pthread_mutex_unlock(&kr->mu);
	}
	if (want && key == NULL && keys_ctx_get(kr, &ctx) == 0) {
		int r = keys_signing_key(kr, ctx, &key, sign_fpr);
		gpgme_key_unref(key);
		keys_ctx_put(kr, ctx, r == 0);
	}
	klic_error_clear();
}
