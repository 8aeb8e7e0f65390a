/* libklic from several threads at once: every call must return its own
 * verdict and its own detail (the error context is per thread).
 * Usage: rt_threads VENDOR.asc VALID.lic TAMPERED.lic KLIC_HOME
 * Includes nothing of klic but klic.h. */
#include <klic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>


#define THREADS 6
#define ROUNDS 4

static const char *valid_path, *tampered_path, *home;
static const char *keys[1];
static char keybuf[65536];

struct job {
	int id;
	int failures;
	char missing[64];
};

static void *worker(void *arg)
{
	struct job *j = arg;
	struct klic_license_info info;
	int r;

	for (int k = 0; k < ROUNDS; k++) {
		switch ((j->id + k) % 3) {
		case 0:
			r = klic_license_check(&info, valid_path, keys, 1, home);
			if (r != KLIC_OK || !info.verified || info.detail[0] != '\0' ||
			    strlen(info.license_id) != 32) {
				fprintf(stderr, "thread %d: valid: %s: %s\n", j->id,
					klic_license_errname(r), info.detail);
				j->failures++;
			}
			break;
		case 1:
			r = klic_license_check(&info, tampered_path, keys, 1, home);
			if (r != KLIC_ERR_SIG_BAD || info.verified) {
				fprintf(stderr, "thread %d: tampered: %s: %s\n", j->id,
					klic_license_errname(r), info.detail);
				j->failures++;
			}
			break;
		default:
			/* a path only this thread uses: the detail must name it */
			r = klic_license_check(&info, j->missing, keys, 1, home);
			if (r != KLIC_ERR_NOT_FOUND || strstr(info.detail, j->missing) == NULL) {
				fprintf(stderr, "thread %d: missing: %s: %s\n", j->id,
					klic_license_errname(r), info.detail);
				j->failures++;
			}
			break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];
	struct job jobs[THREADS];
	struct klic_license_info info;
	int failures = 0;

	FILE *f;
	size_t n;

	if (argc != 5) {
		fprintf(stderr, "usage: rt_threads VENDOR.asc VALID.lic TAMPERED.lic KLIC_HOME\n");
		return 2;
	}
	if ((f = fopen(argv[1], "r")) == NULL)
		return 2;
	n = fread(keybuf, 1, sizeof keybuf - 1, f);
	fclose(f);
	keybuf[n] = '\0';
	keys[0] = keybuf;
	valid_path = argv[2];
	tampered_path = argv[3];
	home = argv[4];

	/* argument checks */
	if (klic_license_check(NULL, valid_path, keys, 1, home) != KLIC_ERR_INVALID_ARG ||
	    klic_license_check(&info, NULL, keys, 1, home) != KLIC_ERR_INVALID_ARG ||
	    klic_license_check(&info, "-", keys, 1, home) != KLIC_ERR_INVALID_ARG ||
	    klic_license_check(&info, valid_path, keys, 1, "") != KLIC_ERR_INVALID_ARG ||
	    klic_license_check(&info, valid_path, NULL, 0, home) != KLIC_ERR_NO_VENDOR ||
	    klic_session_open(NULL, NULL, "KRE", NULL, keys, 1) != KLIC_ERR_INVALID_ARG ||
	    klic_runtime_machine_id(NULL, 30) != KLIC_ERR_INVALID_ARG) {
		fprintf(stderr, "argument checks failed\n");
		failures++;
	}
	if (strcmp(klic_license_errname(KLIC_ERR_LICENSE_EXPIRED), "KLIC_ERR_LICENSE_EXPIRED") != 0 ||
	    strcmp(klic_license_strerror(KLIC_ERR_LICENSE_EXPIRED), "license expired") != 0 ||
	    strcmp(klic_license_strerror(12345), "unknown error") != 0) {
		fprintf(stderr, "strerror/errname\n");
		failures++;
	}

	for (int i = 0; i < THREADS; i++) {
		jobs[i].id = i;
		jobs[i].failures = 0;
		snprintf(jobs[i].missing, sizeof jobs[i].missing, "/nonexistent/thread-%d.lic", i);
		if (pthread_create(&t[i], NULL, worker, &jobs[i]) != 0) {
			fprintf(stderr, "pthread_create\n");
			return 1;
		}
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		failures += jobs[i].failures;
	}
	printf("%d threads x %d calls: %d failures\n", THREADS, ROUNDS, failures);
	return failures == 0 ? 0 : 1;
}
