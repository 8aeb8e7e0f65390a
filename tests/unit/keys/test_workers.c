/* Unit tests for keys/: worker processes (klic_keyring_start_workers),
 * forked and through the worker program.  Run from test_keys.c's main. */
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
			/* "pid (comm) state ppid ...": the state and the ppid */
			const char *rp = strrchr(buf, ')');
			char st = 0, *end = NULL;
			long ppid = 0;
			if (rp != NULL) {
				rp++;
				while (*rp == ' ')
					rp++;
				st = *rp;
				if (st != '\0')
					ppid = strtol(rp + 1, &end, 10);
			}
			if (end != NULL && end != rp + 1 && ppid == (long)parent && st != 'Z')
				pids[n++] = (pid_t)strtol(de->d_name, NULL, 10);
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

void test_workers(void **state)
{
	workers_case(state, NULL);
}

void test_workers_program(void **state)
{
	workers_case(state, KLIC_TEST_WORKER_PROGRAM);
}

/* The worker program's settings: a passphrase file reaches it, a
 * callback cannot; a program that does not start, or cannot open the
 * keyring, leaves no process and says why. */
void test_workers_program_setup(void **state)
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
