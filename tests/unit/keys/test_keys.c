/* Unit tests for keys/: keyrings, generation, export/import, signing and
 * the verification policy (spec/PROTOCOL.md §4).  Every test works in its
 * own mkdtemp("/tmp/klic-XXXXXX") GNUPGHOMEs; teardown kills their agents
 * (gpgconf --kill all) and removes them. */
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
#include <gpgme.h>

#include "klic_bundle.h"
#include "klic_keys.h"

#define MAX_HOMES 6

struct fx {
	char home[MAX_HOMES][32];
	struct klic_keyring *kr[MAX_HOMES];
	int n;
};

/* ---- process helpers (fork/exec, never system()) ------------------------ */

static int run(const char *const argv[], const char *stdin_path)
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

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(klic_keys_init(), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
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
static int new_ring(struct fx *f)
{
	int i = f->n;

	assert_true(i < MAX_HOMES);
	snprintf(f->home[i], sizeof f->home[i], "/tmp/klic-XXXXXX");
	assert_non_null(mkdtemp(f->home[i]));
	f->n++;
	assert_int_equal(klic_keyring_open(&f->kr[i], f->home[i], 1), 0);
	return i;
}

static int new_key(struct fx *f, int ring, char fpr[KLIC_FPR_HEX_LEN + 1], const char *name)
{
	char email[64];
	snprintf(email, sizeof email, "%s@example.org", name);
	return klic_key_generate(f->kr[ring], fpr, name, email);
}

/* Export fpr from ring `from` and import it into ring `to`. */
static void copy_key(struct fx *f, int from, int to, const char *fpr)
{
	uint8_t *k = NULL;
	size_t kl = 0;
	char got[KLIC_FPR_HEX_LEN + 1];

	assert_int_equal(klic_key_export(f->kr[from], &k, &kl, fpr, 0), 0);
	assert_int_equal(klic_key_import(f->kr[to], got, k, kl), 0);
	assert_string_equal(got, fpr);
	free(k);
}

static gpgme_ctx_t raw_ctx(const char *home)
{
	gpgme_ctx_t ctx;
	assert_int_equal(gpgme_new(&ctx), 0);
	assert_int_equal(gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, home), 0);
	assert_int_equal(gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK), 0);
	return ctx;
}

static uint8_t *take(gpgme_data_t d, size_t *n)
{
	char *m = gpgme_data_release_and_get_mem(d, n);
	uint8_t *c = malloc(*n + 1);
	assert_non_null(c);
	memcpy(c, m, *n);
	gpgme_free(m);
	return c;
}

/* Raw gpgme signature of `mode` (for opaque/clear messages in the sig slot). */
static uint8_t *raw_sign(const char *home, const char *fpr, const char *msg, gpgme_sig_mode_t mode,
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

static const uint8_t MSG[] = "{\"type\":\"klic-request\",\"version\":1}\n";
#define MSGLEN (sizeof MSG - 1)

/* ---- keyring opening --------------------------------------------------- */

static void test_open_checks(void **state)
{
	struct fx *f = *state;
	struct klic_keyring *kr = NULL;
	char path[64], conf[96];
	uint8_t buf[2048];
	int i = new_ring(f), fd;
	ssize_t n;

	/* created keyring: 0700 and our gpg.conf / gpg-agent.conf */
	snprintf(conf, sizeof conf, "%s/gpg.conf", f->home[i]);
	fd = open(conf, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr((char *)buf, "\nno-auto-key-retrieve\n"));
	assert_non_null(strstr((char *)buf, "\nno-auto-key-import\n"));
	assert_non_null(strstr((char *)buf, "\nauto-key-locate local\n"));
	assert_non_null(strstr((char *)buf, "\nno-emit-version\n"));
	snprintf(conf, sizeof conf, "%s/gpg-agent.conf", f->home[i]);
	assert_int_equal(access(conf, R_OK), 0);
	assert_string_equal(klic_keyring_home(f->kr[i]), f->home[i]);

	/* missing, group-readable, not a directory */
	snprintf(path, sizeof path, "%s/nope", f->home[i]);
	assert_int_equal(klic_keyring_open(&kr, path, 0), KLIC_ERR_NOT_FOUND);
	assert_null(kr);
	assert_int_equal(mkdir(path, 0750), 0);
	assert_int_equal(chmod(path, 0750), 0);
	assert_int_equal(klic_keyring_open(&kr, path, 0), KLIC_ERR_KEY);
	assert_non_null(strstr(klic_error_detail(), "group/other"));
	assert_int_equal(klic_keyring_open(&kr, path, 1), KLIC_ERR_KEY);
	assert_null(kr);
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(klic_keyring_open(&kr, path, 0), 0);
	klic_keyring_free(kr);
	kr = NULL;
	snprintf(path, sizeof path, "%s/file", f->home[i]);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	assert_int_equal(klic_keyring_open(&kr, path, 0), KLIC_ERR_KEY);
	assert_null(kr);
}

/* ---- generation, export, import ---------------------------------------- */

static void test_generate_export_import(void **state)
{
	struct fx *f = *state;
	int a = new_ring(f), b = new_ring(f);
	char fpr[KLIC_FPR_HEX_LEN + 1], got[KLIC_FPR_HEX_LEN + 1], uid[KLIC_MAX_UID_LEN + 1];
	uint8_t *bin = NULL, *asc = NULL;
	size_t binl = 0, ascl = 0;

	assert_int_equal(klic_key_secret_fpr(f->kr[a], got), KLIC_ERR_NOT_FOUND);
	assert_int_equal(klic_key_generate(f->kr[a], fpr, "Alice Admin", "alice@example.org"), 0);
	assert_int_equal(klic_fpr_check(fpr), 0);
	assert_int_equal(klic_key_secret_fpr(f->kr[a], got), 0);
	assert_string_equal(got, fpr);
	assert_int_equal(klic_key_can_sign(f->kr[a], fpr), 0);

	assert_int_equal(klic_key_export(f->kr[a], &bin, &binl, fpr, 0), 0);
	assert_int_equal(klic_key_export(f->kr[a], &asc, &ascl, fpr, 1), 0);
	assert_true(binl > 0 && ascl > binl);
	assert_true((bin[0] & 0x80) != 0); /* binary packet */
	assert_memory_equal(asc, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n", 37);
	assert_null(strstr((char *)asc, "Version:"));

	/* inspect: fingerprint and uid, nothing imported */
	assert_int_equal(klic_key_inspect(f->kr[b], got, uid, asc, ascl), 0);
	assert_string_equal(got, fpr);
	assert_string_equal(uid, "Alice Admin <alice@example.org>");
	{
		uint8_t *x = NULL;
		size_t xl = 0;
		assert_int_equal(klic_key_export(f->kr[b], &x, &xl, fpr, 0), KLIC_ERR_NOT_FOUND);
		assert_null(x);
	}

	/* import binary, then armored again (unchanged) */
	assert_int_equal(klic_key_import(f->kr[b], got, bin, binl), 0);
	assert_string_equal(got, fpr);
	assert_int_equal(klic_key_import(f->kr[b], got, asc, ascl), 0);
	assert_string_equal(got, fpr);
	/* public only in b */
	assert_int_equal(klic_key_secret_fpr(f->kr[b], got), KLIC_ERR_NOT_FOUND);
	assert_int_equal(klic_key_can_sign(f->kr[b], fpr), KLIC_ERR_NOT_FOUND);

	/* bad arguments */
	{
		uint8_t *x = (uint8_t *)&binl;
		size_t xl = 1;
		assert_int_equal(klic_key_export(f->kr[a], &x, &xl, "abc", 0),
				 KLIC_ERR_INVALID_ARG);
		assert_null(x); /* outputs cleared on entry */
		assert_int_equal(xl, 0);
	}
	assert_int_equal(klic_key_generate(f->kr[a], got, "Eve <x>", "eve@example.org"),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_key_generate(f->kr[a], got, "Eve", "no-at-sign"),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_key_generate(f->kr[a], got, "", "eve@example.org"),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_key_generate(f->kr[a], got, "Eve\n", "eve@example.org"),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_key_generate(f->kr[a], got, "Eve", "e@v@example.org"),
			 KLIC_ERR_INVALID_ARG);
	/* still exactly one secret key */
	assert_int_equal(klic_key_secret_fpr(f->kr[a], got), 0);
	free(bin);
	free(asc);
}

static void test_import_refuses(void **state)
{
	struct fx *f = *state;
	int a = new_ring(f), b = new_ring(f), c = new_ring(f);
	char f1[KLIC_FPR_HEX_LEN + 1], f2[KLIC_FPR_HEX_LEN + 1], got[KLIC_FPR_HEX_LEN + 1];
	uint8_t *k1 = NULL, *k2 = NULL, *two, *sec;
	size_t l1, l2, secl;
	gpgme_ctx_t ctx;
	gpgme_data_t d;
	static const uint8_t garbage[] = "this is not an OpenPGP key\n";

	assert_int_equal(new_key(f, a, f1, "one"), 0);
	assert_int_equal(new_key(f, b, f2, "two"), 0);
	assert_int_equal(klic_key_export(f->kr[a], &k1, &l1, f1, 0), 0);
	assert_int_equal(klic_key_export(f->kr[b], &k2, &l2, f2, 0), 0);

	/* secret key material */
	ctx = raw_ctx(f->home[a]);
	assert_int_equal(gpgme_data_new(&d), 0);
	assert_int_equal(gpgme_op_export(ctx, f1, GPGME_EXPORT_MODE_SECRET, d), 0);
	gpgme_release(ctx);
	sec = take(d, &secl);
	assert_true(secl > l1);
	assert_int_equal(klic_key_inspect(f->kr[c], got, NULL, sec, secl), KLIC_ERR_KEY);
	assert_int_equal(klic_key_import(f->kr[c], got, sec, secl), KLIC_ERR_KEY);
	assert_string_equal(got, "");
	assert_int_equal(klic_key_secret_fpr(f->kr[c], got), KLIC_ERR_NOT_FOUND);

	/* two keys */
	two = malloc(l1 + l2);
	assert_non_null(two);
	memcpy(two, k1, l1);
	memcpy(two + l1, k2, l2);
	assert_int_equal(klic_key_inspect(f->kr[c], got, NULL, two, l1 + l2), KLIC_ERR_KEY);
	assert_int_equal(klic_key_import(f->kr[c], got, two, l1 + l2), KLIC_ERR_KEY);

	/* garbage, empty, truncated */
	assert_int_equal(klic_key_import(f->kr[c], got, garbage, sizeof garbage - 1), KLIC_ERR_KEY);
	assert_int_equal(klic_key_import(f->kr[c], got, garbage, 0), KLIC_ERR_KEY);
	assert_int_equal(klic_key_import(f->kr[c], got, k1, l1 / 2), KLIC_ERR_KEY);

	/* nothing of it landed in c */
	{
		uint8_t *x = NULL;
		size_t xl = 0;
		assert_int_equal(klic_key_export(f->kr[c], &x, &xl, f1, 0), KLIC_ERR_NOT_FOUND);
		assert_int_equal(klic_key_export(f->kr[c], &x, &xl, f2, 0), KLIC_ERR_NOT_FOUND);
	}
	free(k1);
	free(k2);
	free(two);
	free(sec);
}

/* ---- verification matrix ------------------------------------------------ */

static void test_verify_matrix(void **state)
{
	struct fx *f = *state;
	int is = new_ring(f), ot = new_ring(f), un = new_ring(f), v = new_ring(f);
	char fi[KLIC_FPR_HEX_LEN + 1], fo[KLIC_FPR_HEX_LEN + 1], fu[KLIC_FPR_HEX_LEN + 1];
	char signer[KLIC_FPR_HEX_LEN + 1];
	uint8_t *si = NULL, *so = NULL, *su = NULL, *two, *opaque, *clear, *opaque_a;
	size_t sil, sol, sul, opl, cll, opal;
	static const uint8_t junk[] = "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP "
				      "SIGNATURE-----\n";

	assert_int_equal(new_key(f, is, fi, "issuer"), 0);
	assert_int_equal(new_key(f, ot, fo, "other"), 0);
	assert_int_equal(new_key(f, un, fu, "unknown"), 0);
	copy_key(f, is, v, fi);
	copy_key(f, ot, v, fo);

	assert_int_equal(klic_sign_detached(f->kr[is], &si, &sil, fi, MSG, MSGLEN), 0);
	assert_int_equal(klic_sign_detached(f->kr[ot], &so, &sol, fo, MSG, MSGLEN), 0);
	assert_int_equal(klic_sign_detached(f->kr[un], &su, &sul, fu, MSG, MSGLEN), 0);
	assert_true((si[0] & 0x80) != 0); /* binary, not armored */

	/* the only passing case */
	assert_int_equal(klic_verify_pinned(f->kr[v], si, sil, MSG, MSGLEN, fi), 0);
	memset(signer, 'x', sizeof signer);
	assert_int_equal(klic_verify_detached(f->kr[v], signer, so, sol, MSG, MSGLEN,
					      (klic_fpr_allow_fn)(uintptr_t)NULL, NULL),
			 KLIC_ERR_INVALID_ARG);

	/* wrong key: valid signature by a key we hold but did not pin */
	assert_int_equal(klic_verify_pinned(f->kr[v], so, sol, MSG, MSGLEN, fi),
			 KLIC_ERR_SIG_WRONG_KEY);
	assert_non_null(strstr(klic_error_detail(), fo));
	/* ... and the signer ring verifies its own signature too */
	assert_int_equal(klic_verify_pinned(f->kr[ot], so, sol, MSG, MSGLEN, fo), 0);
	/* unknown key: never fetched or imported */
	assert_int_equal(klic_verify_pinned(f->kr[v], su, sul, MSG, MSGLEN, fi),
			 KLIC_ERR_SIG_UNKNOWN_KEY);
	assert_int_equal(klic_verify_pinned(f->kr[v], su, sul, MSG, MSGLEN, fu),
			 KLIC_ERR_SIG_UNKNOWN_KEY);
	/* other bytes */
	assert_int_equal(klic_verify_pinned(f->kr[v], si, sil, MSG, MSGLEN - 1, fi),
			 KLIC_ERR_SIG_BAD);
	assert_int_equal(klic_verify_pinned(f->kr[v], si, sil, (const uint8_t *)"", 0, fi),
			 KLIC_ERR_SIG_BAD);
	/* two signatures, both keys present, one pinned (room for either
	 * pair: two Ed25519 signatures may differ in length by a byte) */
	two = malloc(sil + (sol > sil ? sol : sil));
	assert_non_null(two);
	memcpy(two, si, sil);
	memcpy(two + sil, so, sol);
	assert_int_equal(klic_verify_pinned(f->kr[v], two, sil + sol, MSG, MSGLEN, fi),
			 KLIC_ERR_SIG_MULTIPLE);
	memcpy(two, si, sil);
	memcpy(two + sil, si, sil);
	assert_int_equal(klic_verify_pinned(f->kr[v], two, 2 * sil, MSG, MSGLEN, fi),
			 KLIC_ERR_SIG_MULTIPLE);
	/* zero signatures: empty, garbage, an empty armor block */
	assert_int_equal(klic_verify_pinned(f->kr[v], si, 0, MSG, MSGLEN, fi), KLIC_ERR_SIG_NONE);
	assert_int_equal(klic_verify_pinned(f->kr[v], MSG, MSGLEN, MSG, MSGLEN, fi),
			 KLIC_ERR_SIG_NONE);
	assert_int_equal(klic_verify_pinned(f->kr[v], junk, sizeof junk - 1, MSG, MSGLEN, fi),
			 KLIC_ERR_SIG_NONE);
	/* an opaque signed message (gpg --sign) of the very same bytes, binary and
	 * armored, and a clear-signed message, in the signature slot */
	opaque = raw_sign(f->home[is], fi, (const char *)MSG, GPGME_SIG_MODE_NORMAL, 0, &opl);
	opaque_a = raw_sign(f->home[is], fi, (const char *)MSG, GPGME_SIG_MODE_NORMAL, 1, &opal);
	clear = raw_sign(f->home[is], fi, "hello", GPGME_SIG_MODE_CLEAR, 1, &cll);
	assert_int_equal(klic_verify_pinned(f->kr[v], opaque, opl, MSG, MSGLEN, fi),
			 KLIC_ERR_SIG_NONE);
	assert_int_equal(klic_verify_pinned(f->kr[v], opaque_a, opal, MSG, MSGLEN, fi),
			 KLIC_ERR_SIG_NONE);
	assert_int_equal(klic_verify_pinned(f->kr[v], opaque, opl, (const uint8_t *)"x", 1, fi),
			 KLIC_ERR_SIG_NONE);
	assert_int_equal(klic_verify_pinned(f->kr[v], clear, cll, (const uint8_t *)"hello", 5, fi),
			 KLIC_ERR_SIG_NONE);
	/* a truncated signature */
	assert_int_not_equal(klic_verify_pinned(f->kr[v], si, sil - 10, MSG, MSGLEN, fi), 0);
	/* bad pinned argument */
	assert_int_equal(klic_verify_pinned(f->kr[v], si, sil, MSG, MSGLEN, "abc"),
			 KLIC_ERR_INVALID_ARG);
	free(si);
	free(so);
	free(su);
	free(two);
	free(opaque);
	free(opaque_a);
	free(clear);
}

static int allow_any(void *ctx, const char *fpr)
{
	int *calls = ctx;
	(*calls)++;
	return klic_fpr_check(fpr) == 0 ? 0 : KLIC_ERR_INTERNAL;
}

static int refuse_not_member(void *ctx, const char *fpr)
{
	(void)ctx;
	(void)fpr;
	return KLIC_ERR_NOT_MEMBER;
}

/* The allow callback over sig (by fs, over MSG): called once with the
 * primary, its refusal code passed on, not reached for a bad signature. */
static void check_allow_callback(struct klic_keyring *v, const uint8_t *sig, size_t sl,
				 const char *fs)
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

static void test_verify_allow_callback(void **state)
{
	struct fx *f = *state;
	int s = new_ring(f), v = new_ring(f);
	char fs[KLIC_FPR_HEX_LEN + 1];
	uint8_t *sig = NULL;
	size_t sl;

	assert_int_equal(new_key(f, s, fs, "member"), 0);
	copy_key(f, s, v, fs);
	assert_int_equal(klic_sign_detached(f->kr[s], &sig, &sl, fs, MSG, MSGLEN), 0);
	check_allow_callback(f->kr[v], sig, sl, fs);
	free(sig);
}

/* Expired key: the key expires 1 s after the signature was made. */
static void test_verify_expired(void **state)
{
	struct fx *f = *state;
	int s = new_ring(f), v = new_ring(f);
	char fs[KLIC_FPR_HEX_LEN + 1];
	uint8_t *sig = NULL, *again = NULL;
	size_t sl, al;
	gpgme_ctx_t ctx;
	gpgme_key_t key;

	assert_int_equal(new_key(f, s, fs, "expiring"), 0);
	assert_int_equal(klic_sign_detached(f->kr[s], &sig, &sl, fs, MSG, MSGLEN), 0);
	ctx = raw_ctx(f->home[s]);
	assert_int_equal(gpgme_get_key(ctx, fs, &key, 1), 0);
	/* 8 s: long enough that copying the key (under a loaded, parallel
	 * ctest run) finishes before it expires; the import refuses expired keys. */
	assert_int_equal(gpgme_op_setexpire(ctx, key, 8, NULL, 0), 0);
	gpgme_key_unref(key);
	gpgme_release(ctx);
	copy_key(f, s, v, fs);
	sleep(9);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fs),
			 KLIC_ERR_SIG_KEY_EXPIRED);
	assert_int_equal(klic_verify_pinned(f->kr[s], sig, sl, MSG, MSGLEN, fs),
			 KLIC_ERR_SIG_KEY_EXPIRED);
	assert_int_not_equal(klic_key_can_sign(f->kr[s], fs), 0);
	assert_int_not_equal(klic_sign_detached(f->kr[s], &again, &al, fs, MSG, MSGLEN), 0);
	assert_null(again);
	free(sig);
}

/* Revoked key: import the revocation certificate gpg wrote at generation. */
static void test_verify_revoked(void **state)
{
	struct fx *f = *state;
	int s = new_ring(f), v = new_ring(f);
	char fs[KLIC_FPR_HEX_LEN + 1], path[128], got[KLIC_FPR_HEX_LEN + 1];
	uint8_t *sig = NULL, *rev, *k = NULL, *again = NULL;
	size_t sl, kl, al;
	char *begin;
	FILE *fp;
	long len;
	gpgme_ctx_t ctx;
	gpgme_data_t d;

	assert_int_equal(new_key(f, s, fs, "revoked"), 0);
	copy_key(f, s, v, fs);
	assert_int_equal(klic_sign_detached(f->kr[s], &sig, &sl, fs, MSG, MSGLEN), 0);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fs), 0);

	snprintf(path, sizeof path, "%s/openpgp-revocs.d/%s.rev", f->home[s], fs);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	assert_true(len > 0);
	rewind(fp);
	rev = calloc(1, (size_t)len + 1);
	assert_non_null(rev);
	assert_int_equal(fread(rev, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	begin = strstr((char *)rev, ":-----BEGIN PGP PUBLIC KEY BLOCK-----");
	assert_non_null(begin);
	begin[0] = ' '; /* as the file says: remove the colon */
	begin++;
	ctx = raw_ctx(f->home[s]);
	assert_int_equal(gpgme_data_new_from_mem(&d, begin, strlen(begin), 0), 0);
	assert_int_equal(gpgme_op_import(ctx, d), 0);
	assert_int_equal(gpgme_op_import_result(ctx)->new_revocations, 1);
	gpgme_data_release(d);
	gpgme_release(ctx);

	/* the revoked key, re-exported and imported over the pinned one */
	assert_int_equal(klic_key_export(f->kr[s], &k, &kl, fs, 1), 0);
	assert_int_equal(klic_key_import(f->kr[v], got, k, kl), 0);
	assert_string_equal(got, fs);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fs),
			 KLIC_ERR_SIG_KEY_REVOKED);
	assert_int_equal(klic_key_can_sign(f->kr[s], fs), KLIC_ERR_SIG_KEY_REVOKED);
	assert_int_equal(klic_sign_detached(f->kr[s], &again, &al, fs, MSG, MSGLEN),
			 KLIC_ERR_SIG_KEY_REVOKED);
	free(sig);
	free(rev);
	free(k);
}

/* A signature by a signing subkey is attributed to its primary key. */
static void test_verify_subkey(void **state)
{
	struct fx *f = *state;
	int s = new_ring(f), v = new_ring(f);
	char fs[KLIC_FPR_HEX_LEN + 1], signer[KLIC_FPR_HEX_LEN + 1], subfpr[KLIC_FPR_HEX_LEN + 1];
	uint8_t *sig = NULL;
	size_t sl;
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	gpgme_data_t sd, td;
	int calls = 0;

	assert_int_equal(new_key(f, s, fs, "withsub"), 0);
	ctx = raw_ctx(f->home[s]);
	assert_int_equal(gpgme_get_key(ctx, fs, &key, 1), 0);
	assert_int_equal(gpgme_op_createsubkey(ctx, key, "ed25519", 0, 0,
					       GPGME_CREATE_SIGN | GPGME_CREATE_NOPASSWD |
						   GPGME_CREATE_NOEXPIRE),
			 0);
	assert_int_equal(klic_fpr_check(gpgme_op_genkey_result(ctx)->fpr) == 0 ||
			     strlen(gpgme_op_genkey_result(ctx)->fpr) == 40,
			 1);
	snprintf(subfpr, sizeof subfpr, "%s", gpgme_op_genkey_result(ctx)->fpr);
	gpgme_key_unref(key);
	gpgme_release(ctx);
	assert_string_not_equal(subfpr, fs);
	copy_key(f, s, v, fs);

	assert_int_equal(klic_sign_detached(f->kr[s], &sig, &sl, fs, MSG, MSGLEN), 0);
	/* gpg used the subkey */
	ctx = raw_ctx(f->home[v]);
	assert_int_equal(gpgme_data_new_from_mem(&sd, (const char *)sig, sl, 0), 0);
	assert_int_equal(gpgme_data_new_from_mem(&td, (const char *)MSG, MSGLEN, 0), 0);
	assert_int_equal(gpgme_op_verify(ctx, sd, td, NULL), 0);
	assert_int_equal(strcasecmp(gpgme_op_verify_result(ctx)->signatures->fpr, subfpr), 0);
	gpgme_data_release(sd);
	gpgme_data_release(td);
	gpgme_release(ctx);

	assert_int_equal(
	    klic_verify_detached(f->kr[v], signer, sig, sl, MSG, MSGLEN, allow_any, &calls), 0);
	assert_string_equal(signer, fs);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fs), 0);
	{
		char up[KLIC_FPR_HEX_LEN + 1];
		size_t i;
		for (i = 0; i < KLIC_FPR_HEX_LEN; i++)
			up[i] = (char)((subfpr[i] >= 'a' && subfpr[i] <= 'f') ? subfpr[i] - 32
									      : subfpr[i]);
		up[KLIC_FPR_HEX_LEN] = 0;
		/* pinning the subkey fingerprint is not pinning the key */
		assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, up),
				 KLIC_ERR_SIG_WRONG_KEY);
	}
	free(sig);
}

/* RSA-2048 is below the policy: signature algorithm refused. */
static void test_verify_algo(void **state)
{
	struct fx *f = *state;
	int s = new_ring(f), v = new_ring(f);
	char fs[KLIC_FPR_HEX_LEN + 1], sigpath[64], datapath[64];
	uint8_t *sig = NULL;
	size_t sl;
	gpgme_ctx_t ctx;
	FILE *fp;

	ctx = raw_ctx(f->home[s]);
	assert_int_equal(
	    gpgme_op_createkey(ctx, "Weak <weak@example.org>", "rsa2048", 0, 0, NULL,
			       GPGME_CREATE_SIGN | GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE),
	    0);
	snprintf(fs, sizeof fs, "%s", gpgme_op_genkey_result(ctx)->fpr);
	gpgme_release(ctx);
	copy_key(f, s, v, fs);
	assert_int_equal(klic_sign_detached(f->kr[s], &sig, &sl, fs, MSG, MSGLEN), 0);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fs), KLIC_ERR_SIG_ALGO);
	free(sig);
	sig = NULL;

	/* SHA-1 digest made with stock gpg: refused too */
	{
		char fe[KLIC_FPR_HEX_LEN + 1];
		int e = new_ring(f);
		const char *argv[] = {"gpg",      "--homedir",
				      f->home[e], "--batch",
				      "--yes",    "--pinentry-mode",
				      "loopback", "--passphrase",
				      "",         "--digest-algo",
				      "SHA1",     "--detach-sign",
				      "-u",       fe,
				      "-o",       sigpath,
				      datapath,   NULL};
		assert_int_equal(new_key(f, e, fe, "sha1"), 0);
		copy_key(f, e, v, fe);
		snprintf(sigpath, sizeof sigpath, "%s/m.sig", f->home[e]);
		snprintf(datapath, sizeof datapath, "%s/m", f->home[e]);
		fp = fopen(datapath, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(MSG, 1, MSGLEN, fp), MSGLEN);
		fclose(fp);
		assert_int_equal(run(argv, NULL), 0);
		fp = fopen(sigpath, "rb");
		assert_non_null(fp);
		sig = malloc(4096);
		assert_non_null(sig);
		sl = fread(sig, 1, 4096, fp);
		fclose(fp);
		assert_true(sl > 0);
		assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fe),
				 KLIC_ERR_SIG_ALGO);
		free(sig);
	}
}

/* ---- passphrases -------------------------------------------------------- */

static int pass_ok(void *ctx, char *buf, size_t n)
{
	int *calls = ctx;
	(*calls)++;
	return snprintf(buf, n, "correct horse") < (int)n ? 0 : -1;
}

static int pass_wrong(void *ctx, char *buf, size_t n)
{
	int *calls = ctx;
	(*calls)++;
	return snprintf(buf, n, "battery staple") < (int)n ? 0 : -1;
}

static void test_passphrase(void **state)
{
	struct fx *f = *state;
	int p = new_ring(f), v = new_ring(f), calls = 0;
	char fp_[KLIC_FPR_HEX_LEN + 1], passfile[64];
	struct klic_keyring *bare = NULL;
	uint8_t *sig = NULL;
	size_t sl;
	FILE *fp;
	time_t t0;

	snprintf(passfile, sizeof passfile, "%s/pass", f->home[v]);
	fp = fopen(passfile, "w");
	assert_non_null(fp);
	fputs("correct horse\nsecond line ignored\n", fp);
	fclose(fp);
	assert_int_equal(klic_keyring_set_passphrase_file(f->kr[p], "/nonexistent/pass"),
			 KLIC_ERR_NOT_FOUND);
	assert_int_equal(klic_keyring_set_passphrase_file(f->kr[p], passfile), 0);
	assert_int_equal(new_key(f, p, fp_, "protected"), 0);
	copy_key(f, p, v, fp_);

	/* with the file */
	assert_int_equal(klic_sign_detached(f->kr[p], &sig, &sl, fp_, MSG, MSGLEN), 0);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fp_), 0);
	free(sig);
	sig = NULL;

	/* with neither: fails fast, no prompt, no cache */
	assert_int_equal(klic_keyring_open(&bare, f->home[p], 0), 0);
	t0 = time(NULL);
	assert_int_equal(klic_sign_detached(bare, &sig, &sl, fp_, MSG, MSGLEN),
			 KLIC_ERR_PASSPHRASE);
	assert_null(sig);
	assert_true(time(NULL) - t0 < 20);

	/* wrong passphrase from a callback: asked once, then refused */
	klic_keyring_set_passphrase_cb(bare, pass_wrong, &calls);
	assert_int_equal(klic_sign_detached(bare, &sig, &sl, fp_, MSG, MSGLEN),
			 KLIC_ERR_PASSPHRASE);
	assert_null(sig);
	assert_int_equal(calls, 1);

	/* right passphrase from a callback */
	calls = 0;
	klic_keyring_set_passphrase_cb(bare, pass_ok, &calls);
	assert_int_equal(klic_sign_detached(bare, &sig, &sl, fp_, MSG, MSGLEN), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fp_), 0);
	free(sig);
	sig = NULL;

	/* callback removed again: still refused (agent caches nothing) */
	klic_keyring_set_passphrase_cb(bare, NULL, NULL);
	assert_int_equal(klic_sign_detached(bare, &sig, &sl, fp_, MSG, MSGLEN),
			 KLIC_ERR_PASSPHRASE);
	klic_keyring_free(bare);
}

/* ---- clear signing ------------------------------------------------------ */

static void test_clear_sign(void **state)
{
	struct fx *f = *state;
	int s = new_ring(f), v = new_ring(f);
	char fs[KLIC_FPR_HEX_LEN + 1];
	static const char body[] = "{\n  \"product\": \"KRE\",\n  \"type\": \"klic-license\",\n"
				   "  \"version\": 1\n}";
	uint8_t *lic = NULL, *bad = NULL, *mut;
	size_t ll, bl;
	struct klic_lic_parts parts;

	assert_int_equal(new_key(f, s, fs, "issuer"), 0);
	copy_key(f, s, v, fs);
	assert_int_equal(
	    klic_sign_clear(f->kr[s], &lic, &ll, fs, (const uint8_t *)body, sizeof body - 1), 0);
	assert_null(memchr(lic, '\r', ll));
	assert_null(strstr((char *)lic, "Version:"));
	assert_null(strstr((char *)lic, "Comment:"));
	assert_true(
	    strncmp((char *)lic, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n", 49) == 0 ||
	    strncmp((char *)lic, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n", 49) == 0);

	assert_int_equal(klic_license_split(&parts, lic, ll), 0);
	assert_int_equal(parts.body_len, sizeof body - 1);
	assert_memory_equal(parts.body, body, sizeof body - 1);
	assert_int_equal(
	    klic_verify_pinned(f->kr[v], parts.sig, parts.sig_len, parts.body, parts.body_len, fs),
	    0);
	/* the whole .lic in the signature slot is not a detached signature */
	assert_int_equal(klic_verify_pinned(f->kr[v], lic, ll, parts.body, parts.body_len, fs),
			 KLIC_ERR_SIG_NONE);
	/* one changed body byte */
	mut = malloc(parts.body_len);
	assert_non_null(mut);
	memcpy(mut, parts.body, parts.body_len);
	mut[5] ^= 1;
	assert_int_equal(
	    klic_verify_pinned(f->kr[v], parts.sig, parts.sig_len, mut, parts.body_len, fs),
	    KLIC_ERR_SIG_BAD);
	free(mut);

	/* bodies gpg would dash-escape or that break the strict form */
	assert_int_equal(klic_sign_clear(f->kr[s], &bad, &bl, fs, (const uint8_t *)"a\n-b", 4),
			 KLIC_ERR_LICENSE_FORMAT);
	assert_int_equal(klic_sign_clear(f->kr[s], &bad, &bl, fs, (const uint8_t *)"a \nb", 4),
			 KLIC_ERR_LICENSE_FORMAT);
	assert_int_equal(klic_sign_clear(f->kr[s], &bad, &bl, fs, (const uint8_t *)"a\r\nb", 4),
			 KLIC_ERR_LICENSE_FORMAT);
	assert_int_equal(klic_sign_clear(f->kr[s], &bad, &bl, fs, (const uint8_t *)"ab\n", 3),
			 KLIC_ERR_LICENSE_FORMAT);
	assert_int_equal(klic_sign_clear(f->kr[s], &bad, &bl, fs, (const uint8_t *)"x\nFrom y", 8),
			 KLIC_ERR_LICENSE_FORMAT);
	assert_null(bad);
	free(lic);
}

/* ---- threads: one context per operation -------------------------------- */

struct thr {
	struct klic_keyring *signer, *verifier;
	const char *fpr;
	int failures;
};

static void *thr_main(void *arg)
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
static void run_threads(struct klic_keyring *signer, struct klic_keyring *verifier,
			const char *fpr, int n)
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

static void test_threads(void **state)
{
	struct fx *f = *state;
	int s = new_ring(f), v = new_ring(f);
	char fs[KLIC_FPR_HEX_LEN + 1];

	assert_int_equal(new_key(f, s, fs, "batch"), 0);
	copy_key(f, s, v, fs);
	run_threads(f->kr[s], f->kr[v], fs, 2);
}

/* ---- worker processes --------------------------------------------------- */

/* The children of process parent that are still running, into pids. */
static int children_of(pid_t parent, pid_t *pids, int max)
{
	char path[300], buf[512];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc");
	FILE *fp;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL && n < max) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof buf, fp) != NULL) {
			const char *rp = strrchr(buf, ')');
			char st = 0;
			long ppid = 0;
			if (rp != NULL && sscanf(rp + 1, " %c %ld", &st, &ppid) == 2 &&
			    ppid == (long)parent && st != 'Z')
				pids[n++] = (pid_t)atol(de->d_name);
		}
		fclose(fp);
	}
	closedir(d);
	return n;
}

/* Our direct children that are still running, into pids. */
static int children(pid_t *pids, int max)
{
	return children_of(getpid(), pids, max);
}

/* The running worker processes: with program, the children of our
 * children that run it (the program forks them); else our children. */
static int workers(const char *program, pid_t *pids, int max)
{
	pid_t progs[8];
	char exe[PATH_MAX];
	int n = 0, np;

	if (program == NULL)
		return children(pids, max);
	np = children(progs, 8);
	for (int i = 0; i < np; i++) {
		pid_t kids[8];
		int nk = children_of(progs[i], kids, 8);
		for (int j = 0; j < nk && n < max; j++) {
			char path[64];
			ssize_t k;
			snprintf(path, sizeof path, "/proc/%ld/exe", (long)kids[j]);
			k = readlink(path, exe, sizeof exe - 1);
			assert_true(k > 0);
			exe[k] = '\0';
			assert_string_equal(exe, program);
			pids[n++] = kids[j];
		}
	}
	return n;
}

static void *wait_pipe(void *arg)
{
	char c;
	(void)!read(*(int *)arg, &c, 1);
	return NULL;
}

/* Workers forked from this process (program NULL) or forked by the
 * worker program: the same answers as in this process. */
static void workers_case(void **state, const char *program)
{
	struct fx *f = *state;
	int s = new_ring(f), v = new_ring(f), un = new_ring(f);
	char fs[KLIC_FPR_HEX_LEN + 1], fu[KLIC_FPR_HEX_LEN + 1];
	char local_detail[512];
	static const char body[] = "{\n  \"type\": \"klic-license\",\n  \"version\": 1\n}";
	uint8_t *sig = NULL, *lic = NULL, *su = NULL, *bad = NULL;
	size_t sl, ll, sul, bl;
	struct klic_lic_parts parts;
	pid_t pids[8];

	assert_int_equal(new_key(f, s, fs, "issuer"), 0);
	assert_int_equal(new_key(f, un, fu, "unknown"), 0);
	copy_key(f, s, v, fs);
	assert_int_equal(klic_sign_detached(f->kr[un], &su, &sul, fu, MSG, MSGLEN), 0);
	/* what the same calls say in this process */
	assert_int_equal(klic_verify_pinned(f->kr[v], su, sul, MSG, MSGLEN, fs),
			 KLIC_ERR_SIG_UNKNOWN_KEY);
	snprintf(local_detail, sizeof local_detail, "%s", klic_error_detail());

	assert_int_equal(children(pids, 8), 0);
	assert_int_equal(klic_keyring_start_workers(f->kr[s], 2, fs, program), 0);
	assert_int_equal(klic_keyring_start_workers(f->kr[s], 1, fs, program),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_keyring_start_workers(f->kr[v], 2, NULL, program), 0);
	assert_int_equal(klic_keyring_start_workers(f->kr[un], 0, NULL, program),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(workers(program, pids, 8), 4);
	/* one program per keyring, the workers its children */
	assert_int_equal(children(pids, 8), program != NULL ? 2 : 4);

	/* signatures made by a worker verify, in a worker and in this process */
	assert_int_equal(klic_sign_detached(f->kr[s], &sig, &sl, fs, MSG, MSGLEN), 0);
	assert_int_equal(
	    klic_sign_clear(f->kr[s], &lic, &ll, fs, (const uint8_t *)body, sizeof body - 1), 0);
	assert_int_equal(klic_license_split(&parts, lic, ll), 0);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fs), 0);
	assert_int_equal(
	    klic_verify_pinned(f->kr[v], parts.sig, parts.sig_len, parts.body, parts.body_len, fs),
	    0);
	/* the allow callback runs here (a callback run in a worker would not
	 * count its calls in this process) */
	check_allow_callback(f->kr[v], sig, sl, fs);
	/* refusals: the same codes and details as in this process */
	assert_int_equal(klic_verify_pinned(f->kr[v], su, sul, MSG, MSGLEN, fs),
			 KLIC_ERR_SIG_UNKNOWN_KEY);
	assert_string_equal(klic_error_detail(), local_detail);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN - 1, fs),
			 KLIC_ERR_SIG_BAD);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fu),
			 KLIC_ERR_SIG_WRONG_KEY);
	assert_non_null(strstr(klic_error_detail(), fs));
	assert_int_equal(klic_verify_pinned(f->kr[v], MSG, MSGLEN, MSG, MSGLEN, fs),
			 KLIC_ERR_SIG_NONE);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, 0, MSG, MSGLEN, fs), KLIC_ERR_SIG_NONE);
	assert_int_equal(klic_sign_clear(f->kr[s], &bad, &bl, fs, (const uint8_t *)"a \nb", 4),
			 KLIC_ERR_LICENSE_FORMAT);
	assert_int_equal(klic_sign_detached(f->kr[s], &bad, &bl, fu, MSG, MSGLEN),
			 KLIC_ERR_NOT_FOUND);
	assert_null(bad);

	/* threads share the workers */
	run_threads(f->kr[s], f->kr[v], fs, 4);

	/* a worker killed while idle: the call that finds it dead is made
	 * again on the other one; none left: calls run in this process */
	klic_keyring_stop_workers(f->kr[s]);
	assert_int_equal(children(pids, 8), program != NULL ? 1 : 2);
	assert_int_equal(workers(program, pids, 8), 2);
	assert_int_equal(kill(pids[0], SIGKILL), 0);
	usleep(100 * 1000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fs), 0);
	assert_int_equal(workers(program, pids, 8), 1);
	assert_int_equal(kill(pids[0], SIGKILL), 0);
	usleep(100 * 1000);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fs), 0);
	/* (a program whose workers are all gone has ended too) */
	assert_int_equal(children(pids, 8), 0);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN - 1, fs),
			 KLIC_ERR_SIG_BAD);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fu),
			 KLIC_ERR_SIG_WRONG_KEY);
	klic_keyring_stop_workers(f->kr[v]);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fs), 0);

	/* workers are forked from a process with one thread only */
	{
		pthread_t th;
		int pfd[2];
		assert_int_equal(pipe(pfd), 0);
		assert_int_equal(pthread_create(&th, NULL, wait_pipe, &pfd[0]), 0);
		assert_int_equal(klic_keyring_start_workers(f->kr[v], 1, NULL, program),
				 KLIC_ERR_INVALID_ARG);
		assert_int_equal(write(pfd[1], "x", 1), 1);
		assert_int_equal(pthread_join(th, NULL), 0);
		close(pfd[0]);
		close(pfd[1]);
		assert_int_equal(children(pids, 8), 0);
	}
	free(sig);
	free(lic);
	free(su);
}

static void test_workers(void **state)
{
	workers_case(state, NULL);
}

static void test_workers_program(void **state)
{
	workers_case(state, KLIC_TEST_WORKER_PROGRAM);
}

/* The worker program's settings: a passphrase file reaches it, a
 * callback cannot; a program that does not start, or cannot open the
 * keyring, leaves no process and says why. */
static void test_workers_program_setup(void **state)
{
	struct fx *f = *state;
	const char *prog = KLIC_TEST_WORKER_PROGRAM;
	int p = new_ring(f), v = new_ring(f), calls = 0;
	char fp_[KLIC_FPR_HEX_LEN + 1], passfile[64];
	struct klic_keyring *bare = NULL;
	uint8_t *sig = NULL;
	size_t sl;
	pid_t pids[8];
	FILE *fp;

	snprintf(passfile, sizeof passfile, "%s/pass", f->home[v]);
	fp = fopen(passfile, "w");
	assert_non_null(fp);
	fputs("correct horse\n", fp);
	fclose(fp);
	assert_int_equal(klic_keyring_set_passphrase_file(f->kr[p], passfile), 0);
	assert_int_equal(new_key(f, p, fp_, "protected"), 0);
	copy_key(f, p, v, fp_);

	/* the passphrase file reaches the program's workers */
	assert_int_equal(klic_keyring_start_workers(f->kr[p], 2, fp_, prog), 0);
	assert_int_equal(workers(prog, pids, 8), 2);
	assert_int_equal(klic_sign_detached(f->kr[p], &sig, &sl, fp_, MSG, MSGLEN), 0);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fp_), 0);
	free(sig);
	sig = NULL;
	klic_keyring_stop_workers(f->kr[p]);
	assert_int_equal(children(pids, 8), 0);

	/* none: the workers' signature is refused as in this process */
	assert_int_equal(klic_keyring_open(&bare, f->home[p], 0), 0);
	assert_int_equal(klic_keyring_start_workers(bare, 1, fp_, prog), 0);
	assert_int_equal(klic_sign_detached(bare, &sig, &sl, fp_, MSG, MSGLEN),
			 KLIC_ERR_PASSPHRASE);
	assert_null(sig);
	klic_keyring_stop_workers(bare);
	/* a callback cannot reach a program */
	klic_keyring_set_passphrase_cb(bare, pass_ok, &calls);
	assert_int_equal(klic_keyring_start_workers(bare, 1, fp_, prog), KLIC_ERR_INVALID_ARG);
	assert_int_equal(calls, 0);
	klic_keyring_free(bare);

	/* program paths: relative, missing, not a worker program */
	assert_int_equal(klic_keyring_start_workers(f->kr[v], 1, NULL, "klic-keys-worker"),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_keyring_start_workers(f->kr[v], 1, NULL, "/nonexistent/worker"),
			 KLIC_ERR_NOT_FOUND);
	assert_int_equal(klic_keyring_start_workers(f->kr[v], 2, NULL, "/bin/true"), KLIC_ERR_GPG);
	assert_non_null(strstr(klic_error_detail(), "did not start"));
	assert_int_equal(children(pids, 8), 0);
	/* programs whose ready frame is wrong (each then reads its socket to
	 * end-of-file, so that stopping it is quick): refused, with nothing
	 * left running; an error frame is the program's error */
	{
		static const struct {
			const char *frame; /* printf(1) octal escapes */
			int rc;
		} fake[] = {
		    /* part of a frame, then silence: the receive timeout */
		    {"\\131\\167", KLIC_ERR_GPG},
		    /* wrong magic */
		    {"\\130\\167\\154\\153\\0\\0\\0\\0\\0\\0\\0\\0\\2\\0\\0\\0", KLIC_ERR_GPG},
		    /* rc > 0 */
		    {"\\131\\167\\154\\153\\1\\0\\0\\0\\0\\0\\0\\0\\2\\0\\0\\0", KLIC_ERR_GPG},
		    /* pid 1 */
		    {"\\131\\167\\154\\153\\0\\0\\0\\0\\0\\0\\0\\0\\1\\0\\0\\0", KLIC_ERR_GPG},
		    /* an error (KLIC_ERR_KEY, -49) with its detail */
		    {"\\131\\167\\154\\153\\317\\377\\377\\377\\4\\0\\0\\0\\2\\0\\0\\0boom",
		     KLIC_ERR_KEY},
		};
		char fdir[] = "/tmp/klic-XXXXXX", fprog[64];
		assert_non_null(mkdtemp(fdir));
		snprintf(fprog, sizeof fprog, "%s/fake-worker", fdir);
		for (size_t i = 0; i < sizeof fake / sizeof fake[0]; i++) {
			time_t t0 = time(NULL);
			fp = fopen(fprog, "w");
			assert_non_null(fp);
			fprintf(fp, "#!/bin/sh\nprintf '%s' >&3\nexec cat <&3 >/dev/null\n",
				fake[i].frame);
			fclose(fp);
			assert_int_equal(chmod(fprog, 0755), 0);
			assert_int_equal(klic_keyring_start_workers(f->kr[v], 1, NULL, fprog),
					 fake[i].rc);
			if (fake[i].rc == KLIC_ERR_KEY)
				assert_string_equal(klic_error_detail(), "worker program: boom");
			else
				assert_non_null(strstr(klic_error_detail(), "did not start"));
			assert_true(time(NULL) - t0 < 9); /* 5 s at most for the partial one */
			assert_int_equal(children(pids, 8), 0);
		}
		(void)nftw(fdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	}
	/* a keyring the program refuses to open (mode 0750 since): its error,
	 * and calls still work in this process */
	assert_int_equal(chmod(f->home[v], 0750), 0);
	assert_int_equal(klic_keyring_start_workers(f->kr[v], 2, NULL, prog), KLIC_ERR_KEY);
	assert_non_null(strstr(klic_error_detail(), "accessible by group/other"));
	assert_int_equal(children(pids, 8), 0);
	assert_int_equal(chmod(f->home[v], 0700), 0);
	assert_int_equal(klic_sign_detached(f->kr[p], &sig, &sl, fp_, MSG, MSGLEN), 0);
	assert_int_equal(klic_verify_pinned(f->kr[v], sig, sl, MSG, MSGLEN, fp_), 0);
	free(sig);
}

/* A verify-only scratch keyring imports and verifies without ever
 * starting a gpg-agent (its gpg.conf says no-autostart). */
static void test_verify_only_keyring(void **state)
{
	struct fx *f = *state;
	int s = new_ring(f);
	char fs[KLIC_FPR_HEX_LEN + 1], got[KLIC_FPR_HEX_LEN + 1], dir[] = "/tmp/klic-XXXXXX";
	char sock[64];
	struct klic_keyring *kr = NULL;
	uint8_t *key = NULL, *sig = NULL;
	size_t kl = 0, sl = 0;
	struct stat st;

	assert_int_equal(new_key(f, s, fs, "scratch-signer"), 0);
	assert_int_equal(klic_key_export(f->kr[s], &key, &kl, fs, 0), 0);
	assert_int_equal(klic_sign_detached(f->kr[s], &sig, &sl, fs, MSG, MSGLEN), 0);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(klic_keyring_open(&kr, dir, KLIC_KEYRING_VERIFY_ONLY), 0);
	assert_int_equal(klic_key_import(kr, got, key, kl), 0);
	assert_string_equal(got, fs);
	assert_int_equal(klic_verify_pinned(kr, sig, sl, MSG, MSGLEN, fs), 0);
	assert_int_equal(klic_verify_pinned(kr, sig, sl, MSG, MSGLEN - 1, fs), KLIC_ERR_SIG_BAD);
	snprintf(sock, sizeof sock, "%s/S.gpg-agent", dir);
	assert_int_not_equal(lstat(sock, &st), 0); /* no agent was started */
	klic_keyring_free(kr);
	(void)nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(key);
	free(sig);
}

static void test_fpr_check(void **state)
{
	(void)state;
	assert_int_equal(klic_fpr_check("0123456789ABCDEF0123456789ABCDEF01234567"), 0);
	assert_int_not_equal(klic_fpr_check("0123456789abcdef0123456789ABCDEF01234567"), 0);
	assert_int_not_equal(klic_fpr_check("0123456789ABCDEF0123456789ABCDEF0123456"), 0);
	assert_int_not_equal(klic_fpr_check("0123456789ABCDEF0123456789ABCDEF012345678"), 0);
	assert_int_not_equal(klic_fpr_check("0123456789ABCDEG0123456789ABCDEF01234567"), 0);
	assert_int_not_equal(klic_fpr_check(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fpr_check),
	    cmocka_unit_test_setup_teardown(test_open_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_generate_export_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_matrix, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_allow_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_expired, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_revoked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_subkey, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_algo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_passphrase, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clear_sign, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_only_keyring, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_workers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_workers_program, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_workers_program_setup, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
