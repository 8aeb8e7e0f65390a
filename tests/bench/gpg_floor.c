/* The gpg floor of issue 6: what one request costs at the very least when
 * every OpenPGP operation is one gpg process, measured with RAW GPGME (not
 * klic's keys/ wrappers, which add key listings of their own).
 *
 * In the given keyring (a copy of the admin's GNUPGHOME: the issuer secret
 * key and the members' public keys), it gets the signing key once, warms
 * up gpg-agent with one signature and one verification, then times
 *   M x gpgme_op_sign   (detached, armored, text mode: the response's
 *                        manifest.sig; over --sign-data)
 *   M x gpgme_op_verify (a member's signature of a request manifest:
 *                        --verify-sig over --verify-data; each must be a
 *                        good signature, else the run fails)
 * one operation at a time, on one context.  floor = sign + verify.
 *
 * usage: klic_bench_gpg_floor --gnupghome DIR --signer FPR --sign-data FILE
 *                             --verify-data FILE --verify-sig FILE
 *                             [--iterations M]
 * Output: "key value" lines (gpgme, gpg, iterations, sign_ms,
 * sign_ms_median, verify_ms, verify_ms_median, floor_ms), times in ms. */
#include <errno.h>
#include <getopt.h>
#include <gpgme.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "klic_bench_gpg_floor"
#define MAX_INPUT (256 * 1024)
#define MAX_ITER 100000UL

struct blob {
	char *p;
	size_t n;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of v[0..n-1] (sorts v in place); n > 0. */
static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Read at most MAX_INPUT bytes of PATH into *out (caller frees out->p).
 * Returns 0, or -1 with a message on stderr. */
static int read_file(struct blob *out, const char *path)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t n;
	int r = -1;

	out->p = NULL;
	out->n = 0;
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(MAX_INPUT + 1)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		goto out;
	}
	n = fread(buf, 1, MAX_INPUT + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "%s: %s: read error\n", PROG, path);
		goto out;
	}
	if (n == 0 || n > MAX_INPUT) {
		fprintf(stderr, "%s: %s: empty or larger than %d bytes\n", PROG, path, MAX_INPUT);
		goto out;
	}
	out->p = buf;
	out->n = n;
	buf = NULL; /* transferred */
	r = 0;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return r;
}

static int gpg_fail(const char *what, gpgme_error_t err)
{
	fprintf(stderr, "%s: %s: %s\n", PROG, what, gpgme_strerror(err));
	return -1;
}

/* One detached signature of msg; the result is checked and thrown away. */
static int sign_once(gpgme_ctx_t ctx, const struct blob *msg)
{
	gpgme_data_t in = NULL, sig = NULL;
	gpgme_sign_result_t res;
	gpgme_error_t err;
	int r = -1;

	if ((err = gpgme_data_new_from_mem(&in, msg->p, msg->n, 0)) != 0 ||
	    (err = gpgme_data_new(&sig)) != 0) {
		r = gpg_fail("gpgme_data_new", err);
		goto out;
	}
	if ((err = gpgme_op_sign(ctx, in, sig, GPGME_SIG_MODE_DETACH)) != 0) {
		r = gpg_fail("gpgme_op_sign", err);
		goto out;
	}
	res = gpgme_op_sign_result(ctx);
	if (res == NULL || res->invalid_signers != NULL || res->signatures == NULL ||
	    res->signatures->next != NULL) {
		fprintf(stderr, "%s: gpgme_op_sign: not exactly one signature made\n", PROG);
		goto out;
	}
	r = 0;
out:
	gpgme_data_release(in);
	gpgme_data_release(sig);
	return r;
}

/* One verification of sig over msg; it must be exactly one good signature
 * (status GPG_ERR_NO_ERROR, fingerprint known; the owner trust of member
 * keys is not what klic checks, so summary bits are not required). */
static int verify_once(gpgme_ctx_t ctx, const struct blob *sig, const struct blob *msg)
{
	gpgme_data_t s = NULL, m = NULL;
	gpgme_verify_result_t res;
	gpgme_error_t err;
	int r = -1;

	if ((err = gpgme_data_new_from_mem(&s, sig->p, sig->n, 0)) != 0 ||
	    (err = gpgme_data_new_from_mem(&m, msg->p, msg->n, 0)) != 0) {
		r = gpg_fail("gpgme_data_new", err);
		goto out;
	}
	if ((err = gpgme_op_verify(ctx, s, m, NULL)) != 0) {
		r = gpg_fail("gpgme_op_verify", err);
		goto out;
	}
	res = gpgme_op_verify_result(ctx);
	if (res == NULL || res->signatures == NULL || res->signatures->next != NULL ||
	    gpgme_err_code(res->signatures->status) != GPG_ERR_NO_ERROR ||
	    res->signatures->fpr == NULL) {
		fprintf(stderr, "%s: gpgme_op_verify: not exactly one good signature (%s)\n", PROG,
			res != NULL && res->signatures != NULL
			    ? gpgme_strerror(res->signatures->status)
			    : "none");
		goto out;
	}
	r = 0;
out:
	gpgme_data_release(s);
	gpgme_data_release(m);
	return r;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: %s --gnupghome DIR --signer FPR --sign-data FILE\n"
		"       --verify-data FILE --verify-sig FILE [--iterations 1..%lu]\n",
		PROG, MAX_ITER);
	return 2;
}

struct args {
	const char *home, *signer, *sign_path, *vdata_path, *vsig_path;
	unsigned long m; /* iterations */
};

/* The command line into a: 0, or usage()'s exit status. */
static int parse_args(struct args *a, int argc, char **argv)
{
	static const struct option opts[] = {{"gnupghome", required_argument, NULL, 'g'},
					     {"signer", required_argument, NULL, 's'},
					     {"sign-data", required_argument, NULL, 'd'},
					     {"verify-data", required_argument, NULL, 'v'},
					     {"verify-sig", required_argument, NULL, 'S'},
					     {"iterations", required_argument, NULL, 'n'},
					     {NULL, 0, NULL, 0}};
	const char *iter_s = NULL;
	char *end;
	int c;

	memset(a, 0, sizeof *a);
	a->m = 50;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char **slot;
		switch (c) {
		case 'g':
			slot = &a->home;
			break;
		case 's':
			slot = &a->signer;
			break;
		case 'd':
			slot = &a->sign_path;
			break;
		case 'v':
			slot = &a->vdata_path;
			break;
		case 'S':
			slot = &a->vsig_path;
			break;
		case 'n':
			slot = &iter_s;
			break;
		default:
			return usage();
		}
		if (*slot != NULL)
			return usage(); /* repeated option */
		*slot = optarg;
	}
	if (optind != argc || a->home == NULL || a->signer == NULL || a->sign_path == NULL ||
	    a->vdata_path == NULL || a->vsig_path == NULL)
		return usage();
	if (iter_s != NULL) {
		errno = 0;
		a->m = strtoul(iter_s, &end, 10);
		if (errno != 0 || end == iter_s || *end != '\0' || a->m == 0 || a->m > MAX_ITER)
			return usage();
	}
	return 0;
}

/* A context on home (armored, text mode, offline, loopback pinentry)
 * with the signing key `signer` (looked up once: a key listing, not part
 * of the floor) as its signer: 0, or -1 with a message. */
static int setup_ctx(gpgme_ctx_t *ctx, gpgme_key_t *key, const char *home, const char *signer)
{
	gpgme_error_t err;

	if ((err = gpgme_new(ctx)) != 0 ||
	    (err = gpgme_set_protocol(*ctx, GPGME_PROTOCOL_OpenPGP)) != 0 ||
	    (err = gpgme_ctx_set_engine_info(*ctx, GPGME_PROTOCOL_OpenPGP, NULL, home)) != 0 ||
	    (err = gpgme_set_pinentry_mode(*ctx, GPGME_PINENTRY_MODE_LOOPBACK)) != 0)
		return gpg_fail("gpgme context", err);
	gpgme_set_armor(*ctx, 1);
	gpgme_set_textmode(*ctx, 1);
	gpgme_set_offline(*ctx, 1);
	if ((err = gpgme_get_key(*ctx, signer, key, 1)) != 0)
		return gpg_fail(signer, err);
	if ((err = gpgme_signers_add(*ctx, *key)) != 0)
		return gpg_fail("gpgme_signers_add", err);
	return 0;
}

/* m timed signatures into ts[], then m timed verifications into tv[]
 * (after one of each to warm up: start gpg-agent, load the key). */
static int time_ops(gpgme_ctx_t ctx, const struct blob *smsg, const struct blob *vsig,
		    const struct blob *vmsg, double *ts, double *tv, unsigned long m)
{
	double t0;
	unsigned long i;

	if (sign_once(ctx, smsg) != 0 || verify_once(ctx, vsig, vmsg) != 0)
		return -1;
	for (i = 0; i < m; i++) {
		t0 = now_ms();
		if (sign_once(ctx, smsg) != 0)
			return -1;
		ts[i] = now_ms() - t0;
	}
	for (i = 0; i < m; i++) {
		t0 = now_ms();
		if (verify_once(ctx, vsig, vmsg) != 0)
			return -1;
		tv[i] = now_ms() - t0;
	}
	return 0;
}

/* The "key value" lines. */
static void report(gpgme_ctx_t ctx, const char *gpgme_ver, double *ts, double *tv, unsigned long m)
{
	gpgme_engine_info_t eng = gpgme_ctx_get_engine_info(ctx);
	double sum_s = 0, sum_v = 0, mean_s, mean_v;
	unsigned long i;

	for (i = 0; i < m; i++) {
		sum_s += ts[i];
		sum_v += tv[i];
	}
	mean_s = sum_s / (double)m;
	mean_v = sum_v / (double)m;
	printf("gpgme %s\n", gpgme_ver);
	printf("gpg %s\n", eng != NULL && eng->version != NULL ? eng->version : "unknown");
	printf("iterations %lu\n", m);
	printf("sign_ms %.3f\n", mean_s);
	printf("sign_ms_median %.3f\n", median(ts, m));
	printf("verify_ms %.3f\n", mean_v);
	printf("verify_ms_median %.3f\n", median(tv, m));
	printf("floor_ms %.3f\n", mean_s + mean_v);
}

int main(int argc, char **argv)
{
	struct args a;
	struct blob smsg = {NULL, 0}, vmsg = {NULL, 0}, vsig = {NULL, 0};
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_error_t err;
	const char *gpgme_ver;
	double *ts = NULL, *tv = NULL;
	int rc = 1;

	if ((rc = parse_args(&a, argc, argv)) != 0)
		return rc;
	rc = 1;
	setlocale(LC_ALL, "");
	if ((gpgme_ver = gpgme_check_version(NULL)) == NULL) {
		fprintf(stderr, "%s: gpgme_check_version failed\n", PROG);
		goto out;
	}
	if ((err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP)) != 0) {
		gpg_fail("OpenPGP engine", err);
		goto out;
	}
	if (read_file(&smsg, a.sign_path) != 0 || read_file(&vmsg, a.vdata_path) != 0 ||
	    read_file(&vsig, a.vsig_path) != 0)
		goto out;
	if ((ts = calloc(a.m, sizeof *ts)) == NULL || (tv = calloc(a.m, sizeof *tv)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		goto out;
	}
	if (setup_ctx(&ctx, &key, a.home, a.signer) != 0)
		goto out;
	if (time_ops(ctx, &smsg, &vsig, &vmsg, ts, tv, a.m) != 0)
		goto out;
	report(ctx, gpgme_ver, ts, tv, a.m);
	rc = 0;
out:
	gpgme_key_unref(key);
	gpgme_release(ctx);
	free(ts);
	free(tv);
	free(smsg.p);
	free(vmsg.p);
	free(vsig.p);
	return rc;
}
