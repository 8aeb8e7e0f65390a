/* TEST-ONLY: build a signed .kreq with arbitrary fields, for the admin-side
 * scripted tests (malformed requests, requests re-signed by a stranger,
 * mismatched embedded keys).  Not installed.
 *
 * usage: mkreq -o OUT.kreq --signer-home DIR [--signer FPR]
 *              [--key-home DIR] [--key-fpr FPR] [--requester-fpr FPR]
 *              [--product P] [--seats N] [--machine-hex HEX32]
 *              [--no-sig] [--bad-key-sha]
 * The manifest is written here with jansson (sorted keys, compact, "\n"),
 * so values the real builder would refuse (KSE with 2 seats) can be made.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"
#include "klic_keys.h"

static int die(const char *what, int r)
{
	fprintf(stderr, "mkreq: %s: %s: %s\n", what, klic_strerror(r), klic_error_detail());
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"signer-home", required_argument, NULL, 'S'},
					     {"signer", required_argument, NULL, 's'},
					     {"key-home", required_argument, NULL, 'K'},
					     {"key-fpr", required_argument, NULL, 'k'},
					     {"requester-fpr", required_argument, NULL, 'r'},
					     {"product", required_argument, NULL, 'p'},
					     {"seats", required_argument, NULL, 'n'},
					     {"machine-hex", required_argument, NULL, 'm'},
					     {"no-sig", no_argument, NULL, 'N'},
					     {"bad-key-sha", no_argument, NULL, 'B'},
					     {"output", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	const char *signer_home = NULL, *signer = NULL, *key_home = NULL, *key_fpr = NULL;
	const char *req_fpr = NULL, *product = "KRE", *machine_hex = NULL, *out = NULL;
	long seats = 1;
	int no_sig = 0, bad_sha = 0, c, r;
	struct klic_keyring *skr = NULL, *kkr = NULL;
	char sfpr[KLIC_FPR_HEX_LEN + 1], kfpr[KLIC_FPR_HEX_LEN + 1], mid[KLIC_MACHINE_ID_LEN + 1];
	char keysha[KLIC_SHA256_HEX_LEN + 1], nonce_hex[65], created[KLIC_TIME_LEN + 1];
	char mtext[40];
	uint8_t nonce[32], *key = NULL, *sig = NULL, *bundle = NULL;
	size_t keylen = 0, siglen = 0, blen = 0;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	json_t *m = NULL;
	char *man = NULL, *end;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			signer_home = optarg;
			break;
		case 's':
			signer = optarg;
			break;
		case 'K':
			key_home = optarg;
			break;
		case 'k':
			key_fpr = optarg;
			break;
		case 'r':
			req_fpr = optarg;
			break;
		case 'p':
			product = optarg;
			break;
		case 'n':
			errno = 0;
			seats = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg)
				return 2;
			break;
		case 'm':
			machine_hex = optarg;
			break;
		case 'N':
			no_sig = 1;
			break;
		case 'B':
			bad_sha = 1;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return 2;
		}
	}
	if (signer_home == NULL || out == NULL) {
		fprintf(stderr, "usage: mkreq -o OUT --signer-home DIR [options]\n");
		return 2;
	}
	if ((r = klic_keys_init()) != 0)
		return die("init", r);
	if ((r = klic_keyring_open(&skr, signer_home, 0)) != 0)
		return die(signer_home, r);
	if (signer == NULL) {
		if ((r = klic_key_secret_fpr(skr, sfpr)) != 0)
			return die("signer", r);
		signer = sfpr;
	}
	if (key_home != NULL) {
		if ((r = klic_keyring_open(&kkr, key_home, 0)) != 0)
			return die(key_home, r);
	}
	if (key_fpr == NULL) {
		if (kkr != NULL) {
			if ((r = klic_key_secret_fpr(kkr, kfpr)) != 0)
				return die("key", r);
			key_fpr = kfpr;
		} else {
			key_fpr = signer;
		}
	}
	if ((r = klic_key_export(kkr != NULL ? kkr : skr, &key, &keylen, key_fpr, 0)) != 0)
		return die("export", r);
	if (req_fpr == NULL)
		req_fpr = key_fpr;
	if (machine_hex == NULL) {
		uint8_t raw[16];
		char hex[33];
		if ((r = klic_random(raw, sizeof raw)) != 0)
			return die("random", r);
		klic_hex(hex, raw, sizeof raw);
		snprintf(mtext, sizeof mtext, "%s\n", hex);
	} else {
		snprintf(mtext, sizeof mtext, "%s\n", machine_hex);
	}
	if ((r = klic_machine_id_derive(mid, mtext, strlen(mtext))) != 0)
		return die("machine id", r);
	if ((r = klic_random(nonce, sizeof nonce)) != 0)
		return die("random", r);
	klic_hex(nonce_hex, nonce, sizeof nonce);
	if ((r = klic_sha256_hex(keysha, key, keylen)) != 0)
		return die("sha", r);
	if (bad_sha)
		keysha[0] = keysha[0] == '0' ? '1' : '0';
	if ((r = klic_time_format(created, klic_now())) != 0)
		return die("time", r);
	m = json_pack("{s:s,s:i,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "klic-request",
		      "version", 1, "product", product, "seats", (json_int_t)seats, "machine_id",
		      mid, "nonce", nonce_hex, "created", created, "requester_fpr", req_fpr,
		      "requester_key_sha256", keysha, "hostname", "mkreq-host");
	man = m != NULL ? json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	if (man == NULL)
		return 1;
	{
		size_t ml = strlen(man);
		char *t = realloc(man, ml + 2);
		if (t == NULL)
			return 1;
		man = t;
		man[ml] = '\n';
		man[ml + 1] = '\0';
	}
	if ((r = klic_sign_detached(skr, &sig, &siglen, signer, (const uint8_t *)man,
				    strlen(man))) != 0)
		return die("sign", r);
	if ((r = klic_archive_add(&ar, "manifest.json", man, strlen(man))) != 0 ||
	    (!no_sig && (r = klic_archive_add(&ar, "manifest.sig", sig, siglen)) != 0) ||
	    (r = klic_archive_add(&ar, "requester.pgp", key, keylen)) != 0)
		return die("archive", r);
	if ((r = klic_archive_write(&bundle, &blen, &ar)) != 0)
		return die("archive", r);
	if ((r = klic_write_atomic(out, bundle, blen, 0644, 0)) != 0)
		return die(out, r);
	printf("%s\n", mid);
	klic_archive_dispose(&ar);
	json_decref(m);
	free(man);
	free(key);
	free(sig);
	free(bundle);
	klic_keyring_free(skr);
	klic_keyring_free(kkr);
	return 0;
}
