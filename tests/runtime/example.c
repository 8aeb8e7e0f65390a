/* Example product: checks its klic license with libklic at start-up and
 * takes a session seat, as a product would.  A real product compiles its
 * vendor's public key in (a string constant); for the tests it is read from
 * a file given on the command line.  Built against the installed library
 * through pkg-config (tests/install/install.sh):
 *
 *   cc example.c $(pkg-config --cflags --libs klic) -o example
 *   ./example check VENDOR.asc ~/.katalon/license/KRE_<machineID>.lic [KLIC_HOME]
 *   ./example session VENDOR.asc KRE [LICENSE_DIR] [hold]
 *
 * check: prints the decoded license and exits 0 when it is valid on this
 * machine now.  session: opens a session of the product (every license of
 * the folder checked; one license ID held machine-wide), prints it and,
 * with "hold", keeps it until standard input is closed or the process is
 * killed ("holding" on stdout once held).  Failures print "invalid:
 * <ERRNAME>: <message>: <detail>" on stderr and exit 1 (2 usage).  Includes
 * nothing of klic but <klic.h>. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <klic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void print_time(const char *label, time_t t)
{
	char buf[32];
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, sizeof buf, "%lld", (long long)t);
	printf("%-15s %s\n", label, buf);
}

static void print_info(const struct klic_license_info *i)
{
	printf("product         %s\n", i->product);
	printf("machine_id      %s\n", i->machine_id);
	printf("license_id      %s\n", i->license_id);
	printf("file            %s\n", i->file);
	printf("seat            %u of %u\n", i->seat, i->seats);
	print_time("issued", i->issued);
	print_time("expires", i->expires);
	printf("issuer_org      %s\n", i->issuer_org);
	printf("issuer_fpr      %s\n", i->issuer_fpr);
	printf("member_fpr      %s\n", i->member_fpr);
	printf("request_digest  %s\n", i->request_digest);
	printf("entitlement_id  %s\n", i->entitlement_id);
	printf("vendor_fpr      %s\n", i->vendor_fpr);
	if (i->clock_unknown)
		printf("clock           no trusted-time record (not checked)\n");
}

/* The embedded key of a real product; a file here. */
static char *read_key(const char *path)
{
	static char buf[65536];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0 && n < sizeof buf - 1 ? buf : NULL;
}

static int fail(int r, const char *detail)
{
	fprintf(stderr, "invalid: %s: %s: %s\n", klic_license_errname(r), klic_license_strerror(r),
		detail);
	return 1;
}

static int session(const char *const *keys, int argc, char **argv)
{
	struct klic_session_info si;
	struct klic_session *s = NULL;
	const char *dir = argc > 4 && strcmp(argv[4], "hold") != 0 ? argv[4] : NULL;
	int hold = argc > 4 && strcmp(argv[argc - 1], "hold") == 0;
	int r = klic_session_open(&s, &si, argv[3], dir, keys, 1);

	if (r != KLIC_OK)
		return fail(r, si.detail);
	printf("session: license %s (%s), %u of %u sessions in use\n", si.license.license_id,
	       si.license.file, si.sessions_in_use, si.sessions_total);
	print_info(&si.license);
	if (hold) {
		printf("holding\n");
		fflush(stdout);
		while (getchar() != EOF)
			;
	}
	klic_session_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	struct klic_license_info info;
	char mid[KLIC_INFO_MACHINE_ID_SIZE];
	const char *keys[1];
	int r;

	if (argc < 4 || argc > 6 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "session") != 0) ||
	    (strcmp(argv[1], "check") == 0 && argc > 5)) {
		fprintf(stderr, "usage: %s check VENDOR.asc FILE.lic [KLIC_HOME]\n"
				"       %s session VENDOR.asc PRODUCT [LICENSE_DIR] [hold]\n",
			argv[0], argv[0]);
		return 2;
	}
	if (strcmp(klic_runtime_version(), KLIC_VERSION_STRING) != 0) {
		fprintf(stderr, "header %s, library %s\n", KLIC_VERSION_STRING,
			klic_runtime_version());
		return 1;
	}
	if ((keys[0] = read_key(argv[2])) == NULL) {
		fprintf(stderr, "%s: cannot read the vendor key\n", argv[2]);
		return 2;
	}
	if (strcmp(argv[1], "session") == 0)
		return session(keys, argc, argv);
	r = klic_license_check(&info, argv[3], keys, 1, argc == 5 ? argv[4] : NULL);
	if (r != KLIC_OK) {
		fail(r, info.detail);
		if (info.verified) {
			/* the chain verified, but not valid here and now */
			printf("not valid:\n");
			print_info(&info);
		}
		return 1;
	}
	printf("valid license (libklic %s)\n", klic_runtime_version());
	print_info(&info);
	if (klic_runtime_machine_id(mid, sizeof mid) == KLIC_OK)
		printf("this machine    %s\n", mid);
	return 0;
}
