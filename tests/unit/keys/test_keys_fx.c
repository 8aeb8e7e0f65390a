/* Unit tests for keys/: the shared fixture and helpers (test_keys_fx.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_keys_fx.h"

/* ---- process helpers (fork/exec, never system()) ------------------------ */

int run(const char *const argv[], const char *stdin_path)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
		int nul = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 0);
		if (nul >= 0) {
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(klic_keys_init(), 0);
	*state = f;
	return 0;
}

int teardown(void **state)
{
	struct fx *f = *state;
	int i;

	for (i = 0; i < f->n; i++) {
		const char *argv[] = {"gpgconf", "--homedir", f->home[i], "--kill", "all", NULL};
		klic_keyring_free(f->kr[i]);
		(void)run(argv, NULL);
		(void)nftw(f->home[i], rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	}
	free(f);
	return 0;
}

/* A fresh keyring; returns its index. */
int new_ring(struct fx *f)
{
	int i = f->n;

	assert_true(i < MAX_HOMES);
	snprintf(f->home[i], sizeof f->home[i], "/tmp/klic-XXXXXX");
	assert_non_null(mkdtemp(f->home[i]));
	f->n++;
	assert_int_equal(klic_keyring_open(&f->kr[i], f->home[i], 1), 0);
	return i;
}

int new_key(struct fx *f, int ring, char fpr[KLIC_FPR_HEX_LEN + 1], const char *name)
{
	char email[64];
	snprintf(email, sizeof email, "%s@example.org", name);
	return klic_key_generate(f->kr[ring], fpr, name, email);
}

/* Export fpr from ring `from` and import it into ring `to`. */
void copy_key(struct fx *f, int from, int to, const char *fpr)
{
	uint8_t *k = NULL;
	size_t kl = 0;
	char got[KLIC_FPR_HEX_LEN + 1];

	assert_int_equal(klic_key_export(f->kr[from], &k, &kl, fpr, 0), 0);
	assert_int_equal(klic_key_import(f->kr[to], got, k, kl), 0);
	assert_string_equal(got, fpr);
	free(k);
}

gpgme_ctx_t raw_ctx(const char *home)
{
	gpgme_ctx_t ctx;
	assert_int_equal(gpgme_new(&ctx), 0);
	assert_int_equal(gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, home), 0);
	assert_int_equal(gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK), 0);
	return ctx;
}

uint8_t *take(gpgme_data_t d, size_t *n)
{
	char *m = gpgme_data_release_and_get_mem(d, n);
	uint8_t *c = malloc(*n + 1);
	assert_non_null(c);
	memcpy(c, m, *n);
	gpgme_free(m);
	return c;
}

/* Raw gpgme signature of `mode` (for opaque/clear messages in the sig slot). */
uint8_t *raw_sign(const char *home, const char *fpr, const char *msg, gpgme_sig_mode_t mode,
		  int armor, size_t *n)
{
	gpgme_ctx_t ctx = raw_ctx(home);
	gpgme_key_t key;
	gpgme_data_t in, out;

	assert_int_equal(gpgme_get_key(ctx, fpr, &key, 1), 0);
	assert_int_equal(gpgme_signers_add(ctx, key), 0);
	gpgme_set_armor(ctx, armor);
	assert_int_equal(gpgme_data_new_from_mem(&in, msg, strlen(msg), 1), 0);
	assert_int_equal(gpgme_data_new(&out), 0);
	assert_int_equal(gpgme_op_sign(ctx, in, out, mode), 0);
	gpgme_data_release(in);
	gpgme_key_unref(key);
	gpgme_release(ctx);
	return take(out, n);
}

int allow_any(void *ctx, const char *fpr)
{
	int *calls = ctx;
	(*calls)++;
	return klic_fpr_check(fpr) == 0 ? 0 : KLIC_ERR_INTERNAL;
}

int refuse_not_member(void *ctx, const char *fpr)
{
	(void)ctx;
	(void)fpr;
	return KLIC_ERR_NOT_MEMBER;
}

/* The allow callback over sig (by fs, over MSG): called once with the
 * primary, its refusal code passed on, not reached for a bad signature. */
void check_allow_callback(struct klic_keyring *v, const uint8_t *sig, size_t sl, const char *fs)
{
	char signer[KLIC_FPR_HEX_LEN + 1];
	int calls = 0;

	assert_int_equal(klic_verify_detached(v, signer, sig, sl, MSG, MSGLEN, allow_any, &calls),
			 0);
	assert_int_equal(calls, 1);
	assert_string_equal(signer, fs);
	assert_int_equal(
	    klic_verify_detached(v, signer, sig, sl, MSG, MSGLEN, refuse_not_member, NULL),
	    KLIC_ERR_NOT_MEMBER);
	assert_string_equal(signer, "");
	calls = 0;
	assert_int_equal(klic_verify_detached(v, signer, sig, sl, MSG, 3, allow_any, &calls),
			 KLIC_ERR_SIG_BAD);
	assert_int_equal(calls, 0);
}

int pass_ok(void *ctx, char *buf, size_t n)
{
	int *calls = ctx;
	(*calls)++;
	return snprintf(buf, n, "correct horse") < (int)n ? 0 : -1;
}

/* ---- threads ------------------------------------------------------------ */

struct thr {
	struct klic_keyring *signer, *verifier;
	const char *fpr;
	int failures;
};

void *thr_main(void *arg)
{
	struct thr *t = arg;
	int i;

	for (i = 0; i < 8; i++) {
		uint8_t *sig = NULL;
		size_t sl;
		if (klic_sign_detached(t->signer, &sig, &sl, t->fpr, MSG, MSGLEN) != 0 ||
		    klic_verify_pinned(t->verifier, sig, sl, MSG, MSGLEN, t->fpr) != 0)
			t->failures++;
		free(sig);
	}
	return NULL;
}

/* n threads (at most 4) signing with signer and verifying with verifier
 * at once; every operation succeeds. */
void run_threads(struct klic_keyring *signer, struct klic_keyring *verifier, const char *fpr, int n)
{
	pthread_t th[4];
	struct thr t[4];
	int i;

	assert_true(n <= 4);
	for (i = 0; i < n; i++) {
		t[i].signer = signer;
		t[i].verifier = verifier;
		t[i].fpr = fpr;
		t[i].failures = 0;
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	}
	for (i = 0; i < n; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].failures, 0);
	}
}
