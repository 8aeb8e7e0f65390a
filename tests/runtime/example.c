/* Example runtime: checks a klic license with libklic, as a product would at
 * start-up.  Built against the installed library through pkg-config
 * (tests/install/install.sh):
 *
 *   cc example.c $(pkg-config --cflags --libs klic) -o example
 *   ./example ~/.katalon/license/KRE_<machineID>.lic [KLIC_HOME]
 *
 * Prints the decoded license and exits 0 when it is valid on this machine
 * now; else prints "invalid: <ERRNAME>: <message>: <detail>" on stderr and
 * exits 1 (2 for a usage error).  Includes nothing of klic but <klic.h>. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <klic.h>
#include <stdio.h>
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
}

int main(int argc, char **argv)
{
	struct klic_license_info info;
	char mid[KLIC_INFO_MACHINE_ID_SIZE];
	int r;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s FILE.lic [KLIC_HOME]\n", argv[0]);
		return 2;
	}
	if (strcmp(klic_runtime_version(), KLIC_VERSION_STRING) != 0) {
		fprintf(stderr, "header %s, library %s\n", KLIC_VERSION_STRING,
			klic_runtime_version());
		return 1;
	}
	r = klic_license_verify(&info, argv[1], argc == 3 ? argv[2] : NULL);
	if (r != KLIC_OK) {
		fprintf(stderr, "invalid: %s: %s: %s\n", klic_license_errname(r),
			klic_license_strerror(r), info.detail);
		if (info.verified) {
			/* signed by a pinned issuer, but not valid here and now */
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
