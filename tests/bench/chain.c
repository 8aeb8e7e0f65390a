/* Issue 14's bench (a measurement, never a timed test): what the chain
 * check costs, through the public API of libklic only.
 *   klic_bench_chain VENDOR.asc ONE.lic FOLDER GPG_HOME ROUNDS
 * prints, all from this one run (medians of ROUNDS rounds):
 *   - klic_license_check() of one license file;
 *   - klic_session_open() over FOLDER (64 license files of one response,
 *     byte-identical: the chain verified once), then closed; its ratio to
 *     one file (target <= 2);
 *   - one raw `gpg --verify` of the same file (KLIC_GPG_PATH, a keyring in
 *     GPG_HOME holding the issuer key), and the chain check's ratio to it.
 * Exit status 0 when every call succeeded (whatever the timings). */
#define _POSIX_C_SOURCE 200809L
#include <klic.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#ifndef KLIC_GPG_PATH
#error "KLIC_GPG_PATH must be defined by the build"
#endif

#define MAX_ROUNDS 101

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int raw_gpg(const char *home, const char *file)
{
	static char gpg[] = KLIC_GPG_PATH, a1[] = "--homedir", a2[] = "--batch", a3[] = "--quiet",
		    a4[] = "--status-fd", a5[] = "1", a6[] = "--verify";
	char h[4096], f[4096];
	char *argv[] = {gpg, a1, h, a2, a3, a4, a5, a6, f, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = -1;

	snprintf(h, sizeof h, "%s", home);
	snprintf(f, sizeof f, "%s", file);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
	if (posix_spawn(&pid, KLIC_GPG_PATH, &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *read_all(const char *path)
{
	static char buf[65536];
	size_t n;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0 ? buf : NULL;
}

int main(int argc, char **argv)
{
	double one[MAX_ROUNDS], folder[MAX_ROUNDS], gpg[MAX_ROUNDS], t;
	struct klic_license_info info;
	struct klic_session_info si;
	struct klic_session *s;
	const char *keys[1];
	char *end = NULL;
	long rounds = argc == 6 ? strtol(argv[5], &end, 10) : 0;
	int r;

	if (argc != 6 || end == argv[5] || *end != '\0' || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: %s VENDOR.asc ONE.lic FOLDER GPG_HOME ROUNDS(1..%d)\n",
			argv[0], MAX_ROUNDS);
		return 2;
	}
	if ((keys[0] = read_all(argv[1])) == NULL) {
		fprintf(stderr, "%s: unreadable\n", argv[1]);
		return 2;
	}
	/* warm-up: GPGME's one-time initialisation is not what is measured */
	if ((r = klic_license_check(&info, argv[2], keys, 1, NULL)) != KLIC_OK) {
		fprintf(stderr, "check: %s: %s\n", klic_license_errname(r), info.detail);
		return 1;
	}
	for (int i = 0; i < rounds; i++) {
		t = now_ms();
		r = klic_license_check(&info, argv[2], keys, 1, NULL);
		one[i] = now_ms() - t;
		if (r != KLIC_OK)
			return fprintf(stderr, "check: %s\n", info.detail), 1;
		t = now_ms();
		r = klic_session_open(&s, &si, info.product, argv[3], keys, 1);
		folder[i] = now_ms() - t;
		if (r != KLIC_OK)
			return fprintf(stderr, "session: %s\n", si.detail), 1;
		klic_session_close(s);
		t = now_ms();
		r = raw_gpg(argv[4], argv[2]);
		gpg[i] = now_ms() - t;
		if (r != 0)
			return fprintf(stderr, "gpg --verify: exit %d\n", r), 1;
	}
	double a = median(one, (int)rounds), b = median(folder, (int)rounds), c = median(gpg, (int)rounds);
	printf("chain check, one license file:            %8.1f ms (median of %ld)\n", a, rounds);
	printf("sessions over a folder of %2u files:        %8.1f ms (%u files checked, %u "
	       "licenses)\n",
	       si.files_checked, b, si.files_checked, si.sessions_total);
	printf("folder of %u / one file:                   %8.2f (target <= 2)\n", si.files_checked,
	       b / a);
	printf("one raw gpg --verify (%s):   %8.1f ms\n", KLIC_GPG_PATH, c);
	printf("chain check / raw gpg --verify:            %8.2f\n", a / c);
	return 0;
}
