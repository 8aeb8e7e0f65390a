/* The "gpg floor": wall-clock cost of one detached signature and one
 * verification through keys/ (one gpg process each), averaged over N
 * iterations (default 50).  Usage: klic_bench_keys_floor [N]
 * Works in two throw-away keyrings under /tmp, removed at the end. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "klic_keys.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(const char *home)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("gpgconf", "gpgconf", "--homedir", home, "--kill", "all", (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		(void)waitpid(pid, NULL, 0);
	(void)nftw(home, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int fail(const char *what, int r)
{
	fprintf(stderr, "klic_bench_keys_floor: %s: %s (%d): %s\n", what, klic_errname(r), r,
		klic_error_detail());
	return 1;
}

int main(int argc, char **argv)
{
	char hs[] = "/tmp/klic-XXXXXX", hv[] = "/tmp/klic-XXXXXX";
	char fpr[KLIC_FPR_HEX_LEN + 1], got[KLIC_FPR_HEX_LEN + 1];
	struct klic_keyring *ks = NULL, *kv = NULL;
	static const uint8_t msg[] = "{\"type\":\"klic-response\",\"version\":1}\n";
	uint8_t *key = NULL, **sigs = NULL;
	size_t keylen = 0, *siglens = NULL;
	unsigned long n = 50, i;
	double t0, tsign, tverify;
	int r, rc = 1;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [ITERATIONS]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		char *end;
		errno = 0;
		n = strtoul(argv[1], &end, 10);
		if (errno != 0 || end == argv[1] || *end != '\0' || n == 0 || n > 100000) {
			fprintf(stderr, "usage: %s [ITERATIONS 1..100000]\n", argv[0]);
			return 2;
		}
	}
	if (mkdtemp(hs) == NULL || mkdtemp(hv) == NULL) {
		perror("mkdtemp");
		return 3;
	}
	sigs = calloc(n, sizeof *sigs);
	siglens = calloc(n, sizeof *siglens);
	if (sigs == NULL || siglens == NULL) {
		rc = fail("calloc", KLIC_ERR_NOMEM);
		goto out;
	}
	if ((r = klic_keys_init()) != 0 || (r = klic_keyring_open(&ks, hs, 1)) != 0 ||
	    (r = klic_keyring_open(&kv, hv, 1)) != 0) {
		rc = fail("keyring", r);
		goto out;
	}
	if ((r = klic_key_generate(ks, fpr, "Bench Issuer", "bench@example.org")) != 0 ||
	    (r = klic_key_export(ks, &key, &keylen, fpr, 0)) != 0 ||
	    (r = klic_key_import(kv, got, key, keylen)) != 0) {
		rc = fail("key setup", r);
		goto out;
	}
	/* warm up the agent once, outside the measurement */
	{
		uint8_t *s = NULL;
		size_t sl;
		if ((r = klic_sign_detached(ks, &s, &sl, fpr, msg, sizeof msg - 1)) != 0) {
			rc = fail("sign", r);
			goto out;
		}
		free(s);
	}
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		if ((r = klic_sign_detached(ks, &sigs[i], &siglens[i], fpr, msg, sizeof msg - 1)) !=
		    0) {
			rc = fail("sign", r);
			goto out;
		}
	}
	tsign = (now_ms() - t0) / (double)n;
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		if ((r = klic_verify_pinned(kv, sigs[i], siglens[i], msg, sizeof msg - 1, fpr)) !=
		    0) {
			rc = fail("verify", r);
			goto out;
		}
	}
	tverify = (now_ms() - t0) / (double)n;
	printf("gpg floor over %lu iterations (Ed25519, %s):\n", n, fpr);
	printf("  sign_detached   %8.2f ms/op\n", tsign);
	printf("  verify_pinned   %8.2f ms/op\n", tverify);
	rc = 0;
out:
	if (sigs != NULL)
		for (i = 0; i < n; i++)
			free(sigs[i]);
	free(sigs);
	free(siglens);
	free(key);
	klic_keyring_free(ks);
	klic_keyring_free(kv);
	cleanup(hs);
	cleanup(hv);
	return rc;
}
