/* Unit tests for keys/: the fixture and helpers the test files share
 * (test_keys_fx.c).  Every test works in its own
 * mkdtemp("/tmp/klic-XXXXXX") GNUPGHOMEs; teardown kills their agents
 * (gpgconf --kill all) and removes them. */
#ifndef KLIC_TEST_KEYS_FX_H
#define KLIC_TEST_KEYS_FX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <ftw.h>

#include <gpgme.h>

#include "klic_bundle.h"
#include "klic_keys.h"

#define MAX_HOMES 6

struct fx {
	char home[MAX_HOMES][32];
	struct klic_keyring *kr[MAX_HOMES];
	int n;
};

static const uint8_t MSG[] = "{\"type\":\"klic-request\",\"version\":1}\n";
#define MSGLEN (sizeof MSG - 1)

/* fork/exec argv (never system()), stdin from stdin_path or /dev/null:
 * its exit status, or -1. */
int run(const char *const argv[], const char *stdin_path);
int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw);
int setup(void **state);
int teardown(void **state);
/* A fresh keyring; returns its index. */
int new_ring(struct fx *f);
int new_key(struct fx *f, int ring, char fpr[KLIC_FPR_HEX_LEN + 1], const char *name);
/* Export fpr from ring `from` and import it into ring `to`. */
void copy_key(struct fx *f, int from, int to, const char *fpr);
gpgme_ctx_t raw_ctx(const char *home);
uint8_t *take(gpgme_data_t d, size_t *n);
/* Raw gpgme signature of `mode` (for opaque/clear messages in the sig slot). */
uint8_t *raw_sign(const char *home, const char *fpr, const char *msg, gpgme_sig_mode_t mode,
		  int armor, size_t *n);
int allow_any(void *ctx, const char *fpr);
int refuse_not_member(void *ctx, const char *fpr);
/* The allow callback over sig (by fs, over MSG): called once with the
 * primary, its refusal code passed on, not reached for a bad signature. */
void check_allow_callback(struct klic_keyring *v, const uint8_t *sig, size_t sl, const char *fs);
/* A passphrase callback giving the right passphrase; counts its calls. */
int pass_ok(void *ctx, char *buf, size_t n);
void *thr_main(void *arg);
/* n threads (at most 4) signing with signer and verifying with verifier
 * at once; every operation succeeds. */
void run_threads(struct klic_keyring *signer, struct klic_keyring *verifier, const char *fpr,
		 int n);

/* test_workers.c */
void test_workers(void **state);
void test_workers_program(void **state);
void test_workers_program_setup(void **state);

#endif
