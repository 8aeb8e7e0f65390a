/* Writes the seed corpora under DIR/<target>/ (run once; the files are
 * committed):  klic_fuzz_gen_corpus tests/fuzz/corpus */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "klic_bundle.h"
#include "tutil.h"

static const char *root;

static void put(const char *target, const char *name, const void *buf, size_t len)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", root, target);
	if (klic_mkdir_p(p, 0755) != 0)
		exit(3);
	snprintf(p, sizeof p, "%s/%s/%s", root, target, name);
	if (klic_write_atomic(p, buf, len, 0644, 0) != 0)
		exit(3);
}

int main(int argc, char **argv)
{
	uint8_t *b;
	char *s, *body;
	size_t n, bn;
	struct klic_request rq;
	struct klic_response rs;

	if (argc != 2)
		return 2;
	root = argv[1];
	/* archives */
	b = tu_sample_kreq(&n);
	put("fuzz_archive", "valid.kreq", b, n);
	put("fuzz_archive", "truncated.kreq", b, n / 2);
	b[n / 3] ^= 0x10;
	put("fuzz_archive", "flipped.kreq", b, n);
	free(b);
	b = tu_sample_kresp(&n, 2);
	put("fuzz_archive", "valid.kresp", b, n);
	free(b);
	b = tu_sample_kresp(&n, 1);
	b = realloc(b, n + 4);
	memcpy(b + n, "JUNK", 4);
	put("fuzz_archive", "trailing.kresp", b, n + 4);
	free(b);
	put("fuzz_archive", "garbage", "not an archive\n", 15);
	/* manifests */
	tu_sample_request(&rq);
	klic_request_manifest_build(&s, &n, &rq);
	put("fuzz_manifest", "request.json", s, n);
	s[n - 1] = ' ';
	put("fuzz_manifest", "request_no_nl.json", s, n);
	free(s);
	tu_sample_response(&rs, 2, 0);
	klic_response_manifest_build(&s, &n, &rs);
	put("fuzz_manifest", "response_issued.json", s, n);
	free(s);
	tu_sample_response(&rs, 3, 1);
	klic_response_manifest_build(&s, &n, &rs);
	put("fuzz_manifest", "response_denied.json", s, n);
	free(s);
	put("fuzz_manifest", "dup_key.json",
	    "{\"type\":\"klic-request\",\"type\":\"klic-request\"}\n", 47);
	/* licenses: the clear-signed response document */
	body = tu_sample_response_doc(&bn, 2, 0);
	put("fuzz_license", "body.json", body, bn);
	s = tu_wrap_license(body, &n);
	put("fuzz_license", "license.lic", s, n);
	memcpy(s + 35, "Hash: SHA1  \n", 13);
	put("fuzz_license", "bad_hash.lic", s, n);
	free(s);
	free(body);
	body = tu_sample_response_doc(&bn, 1, 1);
	s = tu_wrap_license(body, &n);
	put("fuzz_license", "denial.lic", s, n);
	free(s);
	free(body);
	/* machine IDs */
	put("fuzz_machine_id", "canonical", tu_mid, strlen(tu_mid));
	put("fuzz_machine_id", "typed", "93ax8bb8qx4g7t62gc39rhavx", 25);
	put("fuzz_machine_id", "aliases", "oWHZ8-HHFBC-G2ADB-PVYH9-WGDF7", 29);
	put("fuzz_machine_id", "bad_check", "93AX8-BB8QX-4G7T6-2GC39-RHAVW", 29);
	put("fuzz_machine_id", "machine-id", "0123456789abcdef0123456789abcdef\n", 33);
	return 0;
}
