/* klic — OpenPGP through GPGME (see klic_keys.h and spec/PROTOCOL.md §4).
 *
 * One gpgme context per operation: struct klic_keyring holds the home
 * directory and the passphrase settings, read-only after setup, and two
 * key caches behind a mutex, so several threads may sign/verify with the
 * same keyring at once.
 *
 * Cost model: every gpgme operation is one gpg process (about 7 ms here),
 * while the signature math is ~0.05 ms.  So a signature is ONE process and
 * a verification is ONE process: the signing key is looked up once per
 * keyring object and kept; the public keys that verification needs (to
 * attribute a subkey to its primary and to check key algorithm, size,
 * revocation and expiry from the key itself) are listed once per keyring
 * object with a single keylist and kept.  A key missing from that
 * snapshot is looked up on its own (it may have been imported since), and
 * an import through this keyring object drops the snapshot.  Revocation and
 * expiry are still reported live by gpg in every verification's status.
 *
 * This file is the one place where gpgme_error_t is mapped to KLIC_ERR_*.
 *
 * Trust model: we do not rely on OpenPGP validity or trust levels at all.
 * Every decision is made on the PRIMARY fingerprint of the signing key
 * (pinned issuer, registered member).  With the default "pgp" trust model a
 * good signature by a key nobody certified has validity "unknown", which
 * gives a summary without GREEN and without RED — the policy below never
 * asks for GREEN, so no "trust-model always" is needed; revocation and
 * expiry are still reported by gpg as status codes / summary bits whatever
 * the trust model (the unit tests pass identically with and without the
 * flag below).  We nevertheless pass --trust-model=always on every
 * invocation (gpgme "trust-model" flag): it makes the result independent of
 * whatever a user's own gpg.conf says (tofu conflicts would set RED), and it
 * spares gpg the trustdb check on every run.  The unit tests check that
 * revoked and expired keys are still refused with it.
 *
 * No key is ever fetched: every invocation runs offline (--disable-dirmngr)
 * with --auto-key-locate=local, and the gpg.conf of keyrings we create also
 * says no-auto-key-retrieve / no-auto-key-import (all accepted by gpg
 * 2.2.40).  An existing keyring (--gnupghome) keeps its own gpg.conf; gpgme
 * 1.18 cannot pass --no-auto-key-import, but a key imported from a signature
 * there would still not be pinned, so the verdict is unaffected.
 *
 * Opaque signed messages (gpg --sign) or clear-signed texts handed over as
 * a "detached signature" are KLIC_ERR_SIG_NONE: gpg 2.2.40 itself reports
 * no signature for them when signed_text is given, and we additionally
 * refuse any verification during which gpg reports literal data
 * (PLAINTEXT status) or encryption.
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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpgme.h>

#include "keys_int.h"
#include "klic_keys.h"

/* Hard caps on what we hand to gpg. */
#define KEYS_MAX_KEY_INPUT (64u * 1024u) /* public key block to import/inspect */
#define KEYS_MAX_IDLE_CTX 16
#define KEYS_MAX_PASSPHRASE 1024 /* bytes, including the NUL */
#define KEYS_MAX_NAME 200
#define KEYS_MAX_EMAIL 200

struct klic_keyring {
	char *home;
	char *passfile;
	klic_passphrase_fn pcb;
	void *pcb_ctx;
	pthread_mutex_t mu;      /* guards the caches and the context pool below */
	pthread_mutex_t load_mu; /* one public keyring listing at a time */
	gpgme_key_t sign_key; /* secret key sign_fpr, checked usable */
	char sign_fpr[KLIC_FPR_HEX_LEN + 1];
	gpgme_key_t *pub; /* snapshot of the public keyring */
	size_t npub, cappub;
	int pub_loaded;
	gpgme_ctx_t idle[KEYS_MAX_IDLE_CTX]; /* contexts set up for this home */
	size_t n_idle;
	struct keys_workers *workers; /* signing and verification in worker
				       * processes (workers.c), or NULL */
};

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
static int fpr_copy(char out[KLIC_FPR_HEX_LEN + 1], const char *in)
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

static int arg_fpr(const char *fpr)
{
	if (klic_fpr_check(fpr) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "not a 40-hex upper-case fingerprint");
	return 0;
}

static int is_passphrase_err(gpgme_error_t e)
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
static int map_err(gpgme_error_t e, int dflt, const char *what)
{
	int code = dflt;

	if (gpgme_err_code(e) == GPG_ERR_ENOMEM)
		code = KLIC_ERR_NOMEM;
	else if (is_passphrase_err(e))
		code = KLIC_ERR_PASSPHRASE;
	else if (gpgme_err_code(e) == GPG_ERR_INV_ENGINE ||
		 gpgme_err_code(e) == GPG_ERR_ENGINE_TOO_OLD)
		code = KLIC_ERR_GPG;
	return klic_error_set(code, "%s: %s (%s)", what, gpgme_strerror(e), gpgme_strsource(e));
}

/* Copy gpgme memory into a malloc'd buffer the caller frees with free(). */
static int data_take(uint8_t **out, size_t *outlen, gpgme_data_t *d)
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

int klic_keyring_set_passphrase_file(struct klic_keyring *kr, const char *path)
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

void klic_keyring_set_passphrase_cb(struct klic_keyring *kr, klic_passphrase_fn fn, void *ctx)
{
	if (kr == NULL)
		return;
	kr->pcb = fn;
	kr->pcb_ctx = ctx;
}

static int have_passphrase_source(const struct klic_keyring *kr)
{
	return kr->pcb != NULL || kr->passfile != NULL;
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

int klic_keyring_open(struct klic_keyring **out, const char *gnupghome, int create)
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

void klic_keyring_free(struct klic_keyring *kr)
{
	if (kr == NULL)
		return;
	keys_workers_stop(kr->workers);
	kr->workers = NULL;
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

const char *klic_keyring_home(const struct klic_keyring *kr)
{
	return kr != NULL ? kr->home : NULL;
}

/* A fresh context bound to this keyring: OpenPGP, our home, offline
 * (--disable-dirmngr), key locate local only, loopback pinentry with our
 * callback (which fails at once when no passphrase source is set). */
static int kr_ctx(struct klic_keyring *kr, gpgme_ctx_t *out)
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
		return map_err(e, KLIC_ERR_GPG, "gpgme_new");
	if ((e = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP)) != 0 ||
	    (e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, kr->home)) != 0 ||
	    (e = gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK)) != 0 ||
	    (e = gpgme_set_ctx_flag(ctx, "auto-key-locate", "local")) != 0 ||
	    (e = gpgme_set_ctx_flag(ctx, "trust-model", "always")) != 0) {
		gpgme_release(ctx);
		return map_err(e, KLIC_ERR_GPG, "gpgme context setup");
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
static void kr_ctx_put(struct klic_keyring *kr, gpgme_ctx_t ctx, int reuse)
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
static int get_primary(gpgme_ctx_t ctx, gpgme_key_t *out, const char *fpr, int secret)
{
	gpgme_key_t key = NULL;
	gpgme_error_t e;

	*out = NULL;
	e = gpgme_get_key(ctx, fpr, &key, secret);
	if (gpgme_err_code(e) == GPG_ERR_EOF || (e == 0 && key == NULL))
		return klic_error_set(KLIC_ERR_NOT_FOUND, "no %s key %s in keyring",
				      secret ? "secret" : "public", fpr);
	if (e)
		return map_err(e, KLIC_ERR_KEY, fpr);
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
/* generation                                                                */

static int check_text(const char *s, size_t max, const char *what)
{
	size_t n;

	if (s == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s missing", what);
	n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s must be 1..%zu characters", what,
				      max);
	if (!klic_is_printable(s, n))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s must be printable ASCII", what);
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
	if ((r = check_text(name, KEYS_MAX_NAME, "name")) != 0)
		return r;
	if ((r = check_text(email, KEYS_MAX_EMAIL, "email")) != 0)
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

	if ((r = kr_ctx(kr, &ctx)) != 0)
		return r;
	flags = GPGME_CREATE_SIGN | GPGME_CREATE_NOEXPIRE;
	if (!have_passphrase_source(kr))
		flags |= GPGME_CREATE_NOPASSWD;
	e = gpgme_op_createkey(ctx, uid, "ed25519", 0, 0, NULL, flags);
	if (e) {
		r = map_err(e, KLIC_ERR_KEY, "key generation");
		goto out;
	}
	res = gpgme_op_genkey_result(ctx);
	if (res == NULL || !res->primary || fpr_copy(fpr_out, res->fpr) != 0) {
		r = klic_error_set(KLIC_ERR_KEY, "key generation returned no fingerprint");
		goto out;
	}
	r = 0;
out:
	kr_ctx_put(kr, ctx, r == 0);
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
	if ((r = arg_fpr(fpr)) != 0)
		return r;
	if ((r = kr_ctx(kr, &ctx)) != 0)
		return r;
	if ((r = get_primary(ctx, &key, fpr, 0)) != 0)
		goto out;
	gpgme_set_armor(ctx, armor ? 1 : 0);
	if ((e = gpgme_data_new(&d)) != 0) {
		r = map_err(e, KLIC_ERR_NOMEM, "gpgme_data_new");
		goto out;
	}
	if ((e = gpgme_op_export(ctx, fpr, GPGME_EXPORT_MODE_MINIMAL, d)) != 0) {
		r = map_err(e, KLIC_ERR_KEY, "export");
		goto out;
	}
	if ((r = data_take(out, outlen, &d)) != 0)
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
	kr_ctx_put(kr, ctx, r == 0);
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
		return map_err(e, KLIC_ERR_NOMEM, "gpgme_data_new_from_mem");
	if ((e = gpgme_op_keylist_from_data_start(ctx, d, 0)) != 0) {
		r = map_err(e, KLIC_ERR_KEY, "reading key data");
		goto out;
	}
	started = 1;
	for (;;) {
		e = gpgme_op_keylist_next(ctx, &key);
		if (gpgme_err_code(e) == GPG_ERR_EOF)
			break;
		if (e) {
			r = map_err(e, KLIC_ERR_KEY, "reading key data");
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
	if (first->subkeys == NULL || fpr_copy(fpr_out, first->subkeys->fpr) != 0) {
		r = klic_error_set(KLIC_ERR_KEY, "key without a v4 fingerprint");
		goto out;
	}
	if (uid_out != NULL && uidsz > 0) {
		const char *u =
		    (first->uids != NULL && first->uids->uid != NULL) ? first->uids->uid : "";
		size_t i;
		/* informational only: keep it printable for terminals */
		for (i = 0; i + 1 < uidsz && u[i] != '\0'; i++)
			uid_out[i] = klic_is_printable(&u[i], 1) ? u[i] : '?';
		uid_out[i] = '\0';
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
	if ((r = kr_ctx(kr, &ctx)) != 0)
		return r;
	r = inspect_data(ctx, fpr_out, uid_out, KLIC_MAX_UID_LEN + 1, key, keylen);
	if (r != 0) {
		fpr_out[0] = '\0';
		if (uid_out != NULL)
			uid_out[0] = '\0';
	}
	kr_ctx_put(kr, ctx, r == 0);
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
	if ((r = kr_ctx(kr, &ctx)) != 0)
		return r;
	/* 1. look before importing: exactly one public key, no secrets */
	if ((r = inspect_data(ctx, fpr, NULL, 0, keybuf, keylen)) != 0)
		goto out;
	/* 2. import and check that gpg did exactly that */
	if ((e = gpgme_data_new_from_mem(&d, (const char *)keybuf, keylen, 0)) != 0) {
		r = map_err(e, KLIC_ERR_NOMEM, "gpgme_data_new_from_mem");
		goto out;
	}
	if ((e = gpgme_op_import(ctx, d)) != 0) {
		r = map_err(e, KLIC_ERR_KEY, "import");
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
		if (st->result != 0 || fpr_copy(got, st->fpr) != 0 || strcmp(got, fpr) != 0) {
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
	if ((r = get_primary(ctx, &key, fpr, 0)) != 0) {
		r = klic_error_set(KLIC_ERR_KEY, "import: %s not in keyring afterwards", fpr);
		goto out;
	}
	memcpy(fpr_out, fpr, sizeof fpr);
	r = 0;
out:
	if (d != NULL) { /* an import was tried: the snapshot may be stale */
		pthread_mutex_lock(&kr->mu);
		pub_cache_drop(kr);
		pthread_mutex_unlock(&kr->mu);
	}
	gpgme_key_unref(key);
	gpgme_data_release(d);
	kr_ctx_put(kr, ctx, r == 0);
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
	if ((r = kr_ctx(kr, &ctx)) != 0)
		return r;
	if ((e = gpgme_op_keylist_start(ctx, NULL, 1)) != 0) {
		r = map_err(e, KLIC_ERR_GPG, "listing secret keys");
		goto out;
	}
	started = 1;
	for (;;) {
		e = gpgme_op_keylist_next(ctx, &key);
		if (gpgme_err_code(e) == GPG_ERR_EOF)
			break;
		if (e) {
			r = map_err(e, KLIC_ERR_GPG, "listing secret keys");
			goto out;
		}
		n++;
		if (n == 1 && (key->subkeys == NULL || fpr_copy(fpr, key->subkeys->fpr) != 0)) {
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
	kr_ctx_put(kr, ctx, r == 0);
	return r;
}

static int key_usable_for_signing(gpgme_key_t key, const char *fpr)
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
static int signing_key(struct klic_keyring *kr, gpgme_ctx_t ctx, gpgme_key_t *out, const char *fpr)
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
	if ((r = get_primary(ctx, &key, fpr, 1)) != 0)
		return r;
	if ((r = key_usable_for_signing(key, fpr)) != 0) {
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

static int pub_cache_load(struct klic_keyring *kr, int with_secret);
static int pub_cache_find(struct klic_keyring *kr, const char *sig_fpr, gpgme_key_t *out,
			  gpgme_subkey_t *sk_out);

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
		     key_usable_for_signing(key, sign_fpr) != 0)) {
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
	if (want && key == NULL && kr_ctx(kr, &ctx) == 0) {
		int r = signing_key(kr, ctx, &key, sign_fpr);
		gpgme_key_unref(key);
		kr_ctx_put(kr, ctx, r == 0);
	}
	klic_error_clear();
}

struct keys_workers *keys_get_workers(const struct klic_keyring *kr)
{
	return kr->workers;
}

void keys_set_workers(struct klic_keyring *kr, struct keys_workers *w)
{
	kr->workers = w;
}

const char *keys_passfile(const struct klic_keyring *kr)
{
	return kr->passfile;
}

int keys_has_passphrase_cb(const struct klic_keyring *kr)
{
	return kr->pcb != NULL;
}

int klic_key_can_sign(struct klic_keyring *kr, const char *fpr)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	int r;

	if (kr == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "key_can_sign");
	if ((r = arg_fpr(fpr)) != 0)
		return r;
	if ((r = kr_ctx(kr, &ctx)) != 0)
		return r;
	if ((r = get_primary(ctx, &key, fpr, 1)) != 0)
		goto out;
	r = key_usable_for_signing(key, fpr);
out:
	gpgme_key_unref(key);
	kr_ctx_put(kr, ctx, r == 0);
	return r;
}

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

/* The .lic body rules (spec 3.5): printable ASCII and LF only, no line
 * starting with '-' (or "From ", which gpg would escape), no line ending in
 * a blank, no empty body, no trailing LF. */
static int check_lic_body(const uint8_t *b, size_t len)
{
	size_t i, ls = 0;

	if (len == 0 || b[len - 1] == '\n')
		return klic_error_set(KLIC_ERR_LICENSE_FORMAT, "license body empty or ends in LF");
	for (i = 0; i <= len; i++) {
		if (i == len || b[i] == '\n') {
			size_t ll = i - ls;
			if (ll > 0 && (b[ls] == '-' || b[i - 1] == ' ' || b[i - 1] == '\t'))
				return klic_error_set(
				    KLIC_ERR_LICENSE_FORMAT,
				    "license body line at offset %zu starts with '-' or "
				    "ends in a blank",
				    ls);
			if (ll >= 5 && memcmp(b + ls, "From ", 5) == 0)
				return klic_error_set(KLIC_ERR_LICENSE_FORMAT,
						      "license body line starts with \"From \"");
			ls = i + 1;
			continue;
		}
		if (b[i] < 0x20 || b[i] > 0x7e)
			return klic_error_set(KLIC_ERR_LICENSE_FORMAT,
					      "license body byte 0x%02x at %zu", b[i], i);
	}
	return 0;
}

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

static int do_sign(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		   const uint8_t *data, size_t len, gpgme_sig_mode_t mode)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_data_t in = NULL, sigd = NULL;
	gpgme_sign_result_t res;
	gpgme_new_signature_t ns;
	gpgme_error_t e;
	int r, n = 0;

	if (kr == NULL || out == NULL || outlen == NULL || (data == NULL && len != 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "sign");
	*out = NULL;
	*outlen = 0;
	if ((r = arg_fpr(fpr)) != 0)
		return r;
	if (len > KEYS_MAX_SIGN_INPUT)
		return klic_error_set(KLIC_ERR_TOO_BIG, "%zu bytes to sign", len);
	if (kr->workers != NULL &&
	    (r = keys_workers_sign(kr->workers, out, outlen, fpr, data, len,
				   mode == GPGME_SIG_MODE_CLEAR)) != KEYS_RUN_LOCAL)
		return r;
	if ((r = kr_ctx(kr, &ctx)) != 0)
		return r;
	if ((r = signing_key(kr, ctx, &key, fpr)) != 0)
		goto out;
	if ((e = gpgme_signers_add(ctx, key)) != 0) {
		r = map_err(e, KLIC_ERR_KEY, "signers_add");
		goto out;
	}
	gpgme_set_armor(ctx, mode == GPGME_SIG_MODE_CLEAR ? 1 : 0);
	if ((e = gpgme_data_new_from_mem(&in, (const char *)(data ? data : (const uint8_t *)""),
					 len, 0)) != 0 ||
	    (e = gpgme_data_new(&sigd)) != 0) {
		r = map_err(e, KLIC_ERR_NOMEM, "gpgme_data_new");
		goto out;
	}
	e = gpgme_op_sign(ctx, in, sigd, mode);
	res = gpgme_op_sign_result(ctx);
	if (e) {
		gpgme_invalid_key_t inv = res ? res->invalid_signers : NULL;
		if (inv != NULL && is_passphrase_err(inv->reason))
			e = inv->reason;
		r = map_err(e, KLIC_ERR_GPG, "signing");
		if (r == KLIC_ERR_GPG || r == KLIC_ERR_KEY) {
			/* the kept key may have changed since it was looked up
			 * (revoked, expired): look again, and say why */
			gpgme_key_t fresh = NULL;
			pthread_mutex_lock(&kr->mu);
			gpgme_key_unref(kr->sign_key);
			kr->sign_key = NULL;
			pthread_mutex_unlock(&kr->mu);
			int r2 = signing_key(kr, ctx, &fresh, fpr);
			gpgme_key_unref(fresh);
			if (r2 != 0)
				r = r2;
			else
				r = map_err(e, KLIC_ERR_GPG, "signing");
		}
		goto out;
	}
	if (res == NULL) {
		r = klic_error_set(KLIC_ERR_GPG, "signing: no result");
		goto out;
	}
	if (res->invalid_signers != NULL) {
		r = map_err(res->invalid_signers->reason, KLIC_ERR_KEY, "signing: invalid signer");
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
	if ((r = data_take(out, outlen, &sigd)) != 0)
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
	kr_ctx_put(kr, ctx, r == 0);
	return r;
}

int keys_sign(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
	      const uint8_t *data, size_t len, int clear)
{
	return do_sign(kr, out, outlen, fpr, data, len,
		       clear ? GPGME_SIG_MODE_CLEAR : GPGME_SIG_MODE_DETACH);
}

int klic_sign_detached(struct klic_keyring *kr, uint8_t **sig, size_t *siglen, const char *fpr,
		       const uint8_t *data, size_t len)
{
	return do_sign(kr, sig, siglen, fpr, data, len, GPGME_SIG_MODE_DETACH);
}

int klic_sign_clear(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		    const uint8_t *body, size_t len)
{
	int r;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (body == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "sign_clear: body");
	if ((r = check_lic_body(body, len)) != 0)
		return r;
	return do_sign(kr, out, outlen, fpr, body, len, GPGME_SIG_MODE_CLEAR);
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
	if ((r = kr_ctx(kr, &ctx)) != 0)
		goto out;
	if (with_secret &&
	    (e = gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL |
						 GPGME_KEYLIST_MODE_WITH_SECRET)) != 0) {
		r = map_err(e, KLIC_ERR_GPG, "keylist mode");
		goto out;
	}
	if ((e = gpgme_op_keylist_start(ctx, NULL, 0)) != 0) {
		r = map_err(e, KLIC_ERR_GPG, "keylist");
		goto out;
	}
	for (;;) {
		e = gpgme_op_keylist_next(ctx, &key);
		if (gpgme_err_code(e) == GPG_ERR_EOF)
			break;
		if (e) {
			r = map_err(e, KLIC_ERR_GPG, "keylist");
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
	kr_ctx_put(kr, ctx, r == 0);
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
static int signer_key(struct klic_keyring *kr, const char *sig_fpr, gpgme_key_t *out,
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
	if ((r = kr_ctx(kr, &ctx)) != 0)
		return r;
	e = gpgme_get_key(ctx, sig_fpr, &key, 0);
	kr_ctx_put(kr, ctx, e == 0);
	if (e || key == NULL || key->subkeys == NULL || (sk = find_subkey(key, sig_fpr)) == NULL) {
		gpgme_key_unref(key);
		return klic_error_set(KLIC_ERR_SIG_BAD, "signing key %s not found unambiguously: %s",
				      sig_fpr, e ? gpgme_strerror(e) : "no such subkey");
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

static unsigned hash_bits(gpgme_hash_algo_t h)
{
	return h == GPGME_MD_SHA256 ? 256 : h == GPGME_MD_SHA384 ? 384 : h == GPGME_MD_SHA512 ? 512 : 0;
}

int klic_verify_detached(struct klic_keyring *kr, char signer_out[KLIC_FPR_HEX_LEN + 1],
			 const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len,
			 klic_fpr_allow_fn allow, void *allow_ctx)
{
	struct klic_sig_info info;
	int r;

	if (signer_out != NULL)
		signer_out[0] = '\0';
	r = klic_verify_detached_info(kr, &info, sig, siglen, data, len, allow, allow_ctx);
	if (r == 0 && signer_out != NULL)
		memcpy(signer_out, info.signer, sizeof info.signer);
	return r;
}

/* The policy's steps 1-5 (everything but the caller's choice of signer),
 * in one of kr's workers if it has any: on success info holds the signer's
 * primary fingerprint, digest and signature class. */
int keys_verify(struct klic_keyring *kr, struct klic_sig_info *info, const uint8_t *sig,
		      size_t siglen, const uint8_t *data, size_t len)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t sigd = NULL, textd = NULL;
	gpgme_verify_result_t res;
	gpgme_signature_t s;
	gpgme_key_t key = NULL;
	gpgme_subkey_t sk;
	gpgme_error_t e, ve;
	struct verify_watch w = {0, 0, 0, -1};
	char primary[KLIC_FPR_HEX_LEN + 1];
	const char *sfpr;
	unsigned sum;
	int r, n = 0;

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
	if (kr->workers != NULL &&
	    (r = keys_workers_verify(kr->workers, info, sig, siglen, data, len)) != KEYS_RUN_LOCAL)
		return r;
	if ((r = kr_ctx(kr, &ctx)) != 0)
		return r;
	if ((e = gpgme_set_ctx_flag(ctx, "full-status", "1")) != 0) {
		r = map_err(e, KLIC_ERR_GPG, "full-status");
		goto out;
	}
	gpgme_set_status_cb(ctx, verify_status_cb, &w);
	if ((e = gpgme_data_new_from_mem(&sigd, (const char *)sig, siglen, 0)) != 0 ||
	    (e = gpgme_data_new_from_mem(&textd, (const char *)(data ? data : (const uint8_t *)""),
					 len, 0)) != 0) {
		r = map_err(e, KLIC_ERR_NOMEM, "gpgme_data_new_from_mem");
		goto out;
	}
	ve = gpgme_op_verify(ctx, sigd, textd, NULL);
	res = gpgme_op_verify_result(ctx);

	/* 1. exactly one signature, and it must be a detached one */
	if (w.literal || w.encrypted) {
		r = klic_error_set(KLIC_ERR_SIG_NONE,
				   "not a detached signature (%s in the "
				   "signature slot)",
				   w.literal ? "signed message" : "encrypted data");
		goto out;
	}
	for (s = res ? res->signatures : NULL; s != NULL; s = s->next)
		n++;
	if (n == 0) {
		r = klic_error_set(KLIC_ERR_SIG_NONE, "no signature found%s%s", ve ? ": " : "",
				   ve ? gpgme_strerror(ve) : "");
		goto out;
	}
	if (n > 1 || w.newsig > 1) {
		r = klic_error_set(KLIC_ERR_SIG_MULTIPLE, "%d signatures, expected exactly one",
				   n > w.newsig ? n : w.newsig);
		goto out;
	}
	s = res->signatures;
	sfpr = s->fpr ? s->fpr : "";
	sum = (unsigned)s->summary;

	/* 2. key present */
	if (gpgme_err_code(s->status) == GPG_ERR_NO_PUBKEY || (sum & GPGME_SIGSUM_KEY_MISSING)) {
		r = klic_error_set(KLIC_ERR_SIG_UNKNOWN_KEY, "signing key %s is not in the keyring",
				   sfpr);
		goto out;
	}
	/* 3. verifies */
	if (gpgme_err_code(s->status) == GPG_ERR_BAD_SIGNATURE) {
		r = klic_error_set(KLIC_ERR_SIG_BAD, "bad signature by %s", sfpr);
		goto out;
	}
	/* 4. key not revoked/expired, signature not expired */
	if (gpgme_err_code(s->status) == GPG_ERR_CERT_REVOKED || (sum & GPGME_SIGSUM_KEY_REVOKED)) {
		r = klic_error_set(KLIC_ERR_SIG_KEY_REVOKED, "signing key %s is revoked", sfpr);
		goto out;
	}
	if (gpgme_err_code(s->status) == GPG_ERR_KEY_EXPIRED || (sum & GPGME_SIGSUM_KEY_EXPIRED)) {
		r = klic_error_set(KLIC_ERR_SIG_KEY_EXPIRED, "signing key %s has expired", sfpr);
		goto out;
	}
	if (gpgme_err_code(s->status) == GPG_ERR_SIG_EXPIRED || (sum & GPGME_SIGSUM_SIG_EXPIRED)) {
		r = klic_error_set(KLIC_ERR_SIG_EXPIRED, "signature by %s has expired", sfpr);
		goto out;
	}
	if (s->status != 0 || ve != 0 ||
	    (sum & (GPGME_SIGSUM_RED | GPGME_SIGSUM_CRL_MISSING | GPGME_SIGSUM_CRL_TOO_OLD |
		    GPGME_SIGSUM_BAD_POLICY | GPGME_SIGSUM_SYS_ERROR))) {
		r = klic_error_set(KLIC_ERR_SIG_BAD, "signature by %s not valid: %s (summary 0x%x)",
				   sfpr, gpgme_strerror(s->status ? s->status : ve), sum);
		goto out;
	}
	/* 5a. signature algorithms */
	if (!sig_pk_allowed(s->pubkey_algo) || !hash_allowed(s->hash_algo)) {
		r = klic_error_set(
		    KLIC_ERR_SIG_ALGO, "signature algorithm %s/%s not allowed",
		    gpgme_pubkey_algo_name(s->pubkey_algo) ? gpgme_pubkey_algo_name(s->pubkey_algo)
							   : "?",
		    gpgme_hash_algo_name(s->hash_algo) ? gpgme_hash_algo_name(s->hash_algo) : "?");
		goto out;
	}
	/* the key that made it, in THIS keyring (never fetched) */
	if (strlen(sfpr) != KLIC_FPR_HEX_LEN && strlen(sfpr) != 16) {
		r = klic_error_set(KLIC_ERR_SIG_BAD, "signature without a usable issuer (%s)",
				   sfpr);
		goto out;
	}
	if ((r = signer_key(kr, sfpr, &key, &sk)) != 0)
		goto out;
	if (w.sig_class != 0x00 && w.sig_class != 0x01) {
		r = klic_error_set(KLIC_ERR_SIG_BAD, "signature by %s of class %d, not a document "
						     "signature",
				   sfpr, w.sig_class);
		goto out;
	}
	if (fpr_copy(primary, key->subkeys->fpr) != 0) {
		r = klic_error_set(KLIC_ERR_SIG_BAD, "signing key %s: no primary fingerprint",
				   sfpr);
		goto out;
	}
	/* 4 again, from the key itself (defence in depth) */
	if (key->revoked || sk->revoked) {
		r = klic_error_set(KLIC_ERR_SIG_KEY_REVOKED, "signing key %s is revoked", primary);
		goto out;
	}
	if (key->expired || sk->expired) {
		r = klic_error_set(KLIC_ERR_SIG_KEY_EXPIRED, "signing key %s has expired", primary);
		goto out;
	}
	if (key->disabled || key->invalid || sk->disabled || sk->invalid) {
		r = klic_error_set(KLIC_ERR_SIG_BAD, "signing key %s is disabled or invalid",
				   primary);
		goto out;
	}
	/* 5b. key algorithm and size */
	if (sk->pubkey_algo != s->pubkey_algo || !subkey_algo_allowed(sk)) {
		r = klic_error_set(KLIC_ERR_SIG_ALGO, "signing key %s: %s %u bits (%s) not allowed",
				   primary,
				   gpgme_pubkey_algo_name(sk->pubkey_algo)
				       ? gpgme_pubkey_algo_name(sk->pubkey_algo)
				       : "?",
				   sk->length, sk->curve ? sk->curve : "-");
		goto out;
	}
	memcpy(info->signer, primary, sizeof primary);
	info->hash_bits = hash_bits(s->hash_algo);
	info->sig_class = w.sig_class;
	r = 0;
out:
	gpgme_key_unref(key);
	gpgme_data_release(sigd);
	gpgme_data_release(textd);
	kr_ctx_put(kr, ctx, r == 0);
	return r;
}

int klic_verify_detached_info(struct klic_keyring *kr, struct klic_sig_info *info,
			      const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len,
			      klic_fpr_allow_fn allow, void *allow_ctx)
{
	char primary[KLIC_FPR_HEX_LEN + 1];
	int r;

	if (info != NULL)
		memset(info, 0, sizeof *info);
	if (kr == NULL || info == NULL || allow == NULL || (data == NULL && len != 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "verify_detached");
	if ((r = keys_verify(kr, info, sig, siglen, data, len)) != 0) {
		memset(info, 0, sizeof *info);
		return r;
	}
	/* 6. the expected role's key, by primary fingerprint */
	memcpy(primary, info->signer, sizeof primary);
	r = allow(allow_ctx, primary);
	if (r != 0) {
		memset(info, 0, sizeof *info);
		if (r > 0)
			r = KLIC_ERR_SIG_WRONG_KEY;
		return klic_error_set(r, "signed by %s", primary);
	}
	return 0;
}

static int allow_pinned(void *ctx, const char *primary_fpr)
{
	const char *pinned = ctx;

	return strcmp(pinned, primary_fpr) == 0 ? 0 : KLIC_ERR_SIG_WRONG_KEY;
}

int klic_verify_pinned(struct klic_keyring *kr, const uint8_t *sig, size_t siglen,
		       const uint8_t *data, size_t len, const char *pinned_fpr)
{
	int r;

	if ((r = arg_fpr(pinned_fpr)) != 0)
		return r;
	return klic_verify_detached(kr, NULL, sig, siglen, data, len, allow_pinned,
				    (void *)(uintptr_t)pinned_fpr);
}
