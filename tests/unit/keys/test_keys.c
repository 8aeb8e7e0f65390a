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

#include "test_keys_fx.h"

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

/* Expired key: the key expires 8 s after the signature was made; the
 * signature stays valid (issue 14 item 8). */
static void test_verify_expired(void **state)
{
	struct fx *f = *state;
	struct klic_sig_info info;
	int calls = 0;
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
	/* judged at the signature's time: made before the key expired */
	assert_int_equal(klic_verify_detached_info(f->kr[v], &info, sig, sl, MSG, MSGLEN,
						   allow_any, &calls),
			 0);
	assert_int_equal(info.key_expired, 1);
	assert_true(info.created > 0 && info.created <= (int64_t)time(NULL));
	assert_int_equal(klic_verify_pinned(f->kr[s], sig, sl, MSG, MSGLEN, fs), 0);
	assert_int_not_equal(klic_key_can_sign(f->kr[s], fs), 0);
	assert_int_not_equal(klic_sign_detached(f->kr[s], &again, &al, fs, MSG, MSGLEN), 0);
	assert_null(again);
	free(sig);
}

/* gpg at a faked time (a key and signatures dated in the past). */
static int gpg_at(const char *home, long t, const char *const *args)
{
	char when[32];
	const char *argv[24] = {"gpg", "--homedir", home, "--batch", "--yes", "--pinentry-mode",
				"loopback", "--passphrase", "", "--faked-system-time", when};
	int n = 11;

	snprintf(when, sizeof when, "%ld!", t);
	while (*args != NULL && n < 23)
		argv[n++] = *args++;
	argv[n] = NULL;
	return run(argv, NULL);
}

/* A signature made after its key expired is refused; one made before the
 * expiry stays valid; both judged from the key's expiry, not from now. */
static void test_verify_expired_at_sig_time(void **state)
{
	struct fx *f = *state;
	int s = new_ring(f);
	long c = (long)time(NULL) - 100000;
	char fs[KLIC_FPR_HEX_LEN + 1], path[96], before[96], cs[32];
	const char *gen[] = {"--quick-generate-key", "Old <old@test.invalid>", "ed25519", "sign",
			     "never", NULL};
	const char *sign[] = {"--local-user", fs, "-o", before, "--detach-sign", path, NULL};
	const char *exp[] = {"--quick-set-expire", fs, cs, NULL};
	struct klic_keyring *kr = NULL;
	struct klic_sig_info info;
	int calls = 0;
	uint8_t *late = NULL, *early = NULL;
	size_t ll = 0, el = 0;
	FILE *fp;

	assert_int_equal(gpg_at(f->home[s], c, gen), 0);
	assert_int_equal(klic_keyring_open(&kr, f->home[s], 0), 0);
	assert_int_equal(klic_key_secret_fpr(kr, fs), 0);
	/* made now, and made at c + 50 */
	assert_int_equal(klic_sign_detached(kr, &late, &ll, fs, MSG, MSGLEN), 0);
	klic_keyring_free(kr);
	snprintf(path, sizeof path, "%s/msg", f->home[s]);
	snprintf(before, sizeof before, "%s/msg.sig", f->home[s]);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(MSG, 1, MSGLEN, fp), MSGLEN);
	fclose(fp);
	assert_int_equal(gpg_at(f->home[s], c + 50, sign), 0);
	/* then, dated c + 60, the key expires at c + 1000: long past */
	snprintf(cs, sizeof cs, "seconds=%d", 1000);
	assert_int_equal(gpg_at(f->home[s], c + 60, exp), 0);
	assert_int_equal(klic_read_file(&early, &el, before, 4096), 0);
	assert_int_equal(klic_keyring_open(&kr, f->home[s], 0), 0);
	assert_int_equal(klic_verify_detached_info(kr, &info, late, ll, MSG, MSGLEN, allow_any,
						   &calls),
			 KLIC_ERR_SIG_KEY_EXPIRED);
	assert_non_null(strstr(klic_error_detail(), "had expired when the signature was made"));
	assert_int_equal(klic_verify_detached_info(kr, &info, early, el, MSG, MSGLEN, allow_any,
						   &calls),
			 0);
	assert_int_equal(info.key_expired, 1);
	assert_true(info.created == (int64_t)c + 50);
	klic_keyring_free(kr);
	free(late);
	free(early);
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

/* ---- threads: several operations on one keyring at once ------------------ */

static void test_threads(void **state)
{
	struct fx *f = *state;
	int s = new_ring(f), v = new_ring(f);
	char fs[KLIC_FPR_HEX_LEN + 1];

	assert_int_equal(new_key(f, s, fs, "batch"), 0);
	copy_key(f, s, v, fs);
	run_threads(f->kr[s], f->kr[v], fs, 2);
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
	    cmocka_unit_test_setup_teardown(test_verify_expired_at_sig_time, setup, teardown),
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
