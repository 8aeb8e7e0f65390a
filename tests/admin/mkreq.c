/* TEST-ONLY: build a signed .kreq with arbitrary fields, for the admin-side
 * scripted tests (malformed requests, requests re-signed by a stranger,
 * mismatched embedded keys).  Not installed.
 *
 * usage: mkreq -o OUT.kreq --signer-home DIR [--signer FPR]
 *              [--key-home DIR] [--key-fpr FPR] [--requester-fpr FPR]
 *              [--product P] [--seats N] [--machine-hex HEX32]
 *              [--no-sig] [--bad-key-sha] [--renews ID[,ID...]]
 * --renews adds the optional "renews" array (spec 3.3) exactly as given
 * (the order is the caller's, so a wrongly ordered one can be made).
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

struct mkreq_opts {
	const char *signer_home, *signer, *key_home, *key_fpr, *req_fpr, *product, *machine_hex,
	    *out, *renews;
	long seats;
	int no_sig, bad_sha;
};

/* 0, or 2 for a usage error. */
static int parse_args(struct mkreq_opts *o, int argc, char **argv)
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
					     {"renews", required_argument, NULL, 'R'},
					     {NULL, 0, NULL, 0}};
	char *end;
	int c;

	memset(o, 0, sizeof *o);
	o->product = "KRE";
	o->seats = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			o->signer_home = optarg;
			break;
		case 's':
			o->signer = optarg;
			break;
		case 'K':
			o->key_home = optarg;
			break;
		case 'k':
			o->key_fpr = optarg;
			break;
		case 'r':
			o->req_fpr = optarg;
			break;
		case 'p':
			o->product = optarg;
			break;
		case 'n':
			errno = 0;
			o->seats = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg)
				return 2;
			break;
		case 'm':
			o->machine_hex = optarg;
			break;
		case 'N':
			o->no_sig = 1;
			break;
		case 'B':
			o->bad_sha = 1;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'R':
			o->renews = optarg;
			break;
		default:
			return 2;
		}
	}
	if (o->signer_home == NULL || o->out == NULL) {
		fprintf(stderr, "usage: mkreq -o OUT --signer-home DIR [options]\n");
		return 2;
	}
	return 0;
}

/* The manifest text (sorted keys, compact, "\n") for the request's fields,
 * or NULL.  *mid gets the machine ID. */
static char *manifest(const struct mkreq_opts *o, char mid[KLIC_MACHINE_ID_LEN + 1],
		      const char *req_fpr, const uint8_t *key, size_t keylen, int *rp)
{
	char keysha[KLIC_SHA256_HEX_LEN + 1], nonce_hex[65], created[KLIC_TIME_LEN + 1];
	char mtext[40];
	uint8_t nonce[32];
	json_t *m = NULL;
	char *man = NULL;
	int r;

	*rp = 0;
	if (o->machine_hex == NULL) {
		uint8_t raw[16];
		char hex[33];
		if ((r = klic_random(raw, sizeof raw)) != 0) {
			*rp = die("random", r);
			return NULL;
		}
		klic_hex(hex, raw, sizeof raw);
		snprintf(mtext, sizeof mtext, "%s\n", hex);
	} else {
		snprintf(mtext, sizeof mtext, "%s\n", o->machine_hex);
	}
	if ((r = klic_machine_id_derive(mid, mtext, strlen(mtext))) != 0) {
		*rp = die("machine id", r);
		return NULL;
	}
	if ((r = klic_random(nonce, sizeof nonce)) != 0) {
		*rp = die("random", r);
		return NULL;
	}
	klic_hex(nonce_hex, nonce, sizeof nonce);
	if ((r = klic_sha256_hex(keysha, key, keylen)) != 0) {
		*rp = die("sha", r);
		return NULL;
	}
	if (o->bad_sha)
		keysha[0] = keysha[0] == '0' ? '1' : '0';
	if ((r = klic_time_format(created, klic_now())) != 0) {
		*rp = die("time", r);
		return NULL;
	}
	m = json_pack("{s:s,s:i,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "klic-request",
		      "version", KLIC_PROTOCOL_VERSION, "product", o->product, "seats", (json_int_t)o->seats,
		      "machine_id", mid, "nonce", nonce_hex, "created", created, "requester_fpr",
		      req_fpr, "requester_key_sha256", keysha, "hostname", "mkreq-host");
	if (m != NULL && o->renews != NULL) {
		json_t *arr = json_array();
		const char *p = o->renews;
		while (arr != NULL && *p != '\0') {
			size_t n = strcspn(p, ",");
			json_array_append_new(arr, json_stringn(p, n));
			p += n;
			if (*p == ',')
				p++;
		}
		json_object_set_new(m, "renews", arr);
	}
	man = m != NULL ? json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	json_decref(m);
	*rp = 1;
	if (man == NULL)
		return NULL;
	{
		size_t ml = strlen(man);
		char *t = realloc(man, ml + 2);
		if (t == NULL) {
			free(man);
			return NULL;
		}
		man = t;
		man[ml] = '\n';
		man[ml + 1] = '\0';
	}
	*rp = 0;
	return man;
}

int main(int argc, char **argv)
{
	struct mkreq_opts o;
	const char *signer, *key_fpr, *req_fpr;
	int r;
	struct klic_keyring *skr = NULL, *kkr = NULL;
	char sfpr[KLIC_FPR_HEX_LEN + 1], kfpr[KLIC_FPR_HEX_LEN + 1], mid[KLIC_MACHINE_ID_LEN + 1];
	uint8_t *key = NULL, *sig = NULL, *bundle = NULL;
	size_t keylen = 0, siglen = 0, blen = 0;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	char *man = NULL;

	if ((r = parse_args(&o, argc, argv)) != 0)
		return r;
	signer = o.signer;
	key_fpr = o.key_fpr;
	if ((r = klic_keys_init()) != 0)
		return die("init", r);
	if ((r = klic_keyring_open(&skr, o.signer_home, 0)) != 0)
		return die(o.signer_home, r);
	if (signer == NULL) {
		if ((r = klic_key_secret_fpr(skr, sfpr)) != 0)
			return die("signer", r);
		signer = sfpr;
	}
	if (o.key_home != NULL) {
		if ((r = klic_keyring_open(&kkr, o.key_home, 0)) != 0)
			return die(o.key_home, r);
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
	req_fpr = o.req_fpr != NULL ? o.req_fpr : key_fpr;
	if ((man = manifest(&o, mid, req_fpr, key, keylen, &r)) == NULL)
		return r;
	if ((r = klic_sign_detached(skr, &sig, &siglen, signer, (const uint8_t *)man,
				    strlen(man))) != 0)
		return die("sign", r);
	if ((r = klic_archive_add(&ar, "manifest.json", man, strlen(man))) != 0 ||
	    (!o.no_sig && (r = klic_archive_add(&ar, "manifest.sig", sig, siglen)) != 0) ||
	    (r = klic_archive_add(&ar, "requester.pgp", key, keylen)) != 0)
		return die("archive", r);
	if ((r = klic_archive_write(&bundle, &blen, &ar)) != 0)
		return die("archive", r);
	if ((r = klic_write_atomic(o.out, bundle, blen, 0644, 0)) != 0)
		return die(o.out, r);
	printf("%s\n", mid);
	klic_archive_dispose(&ar);
	free(man);
	free(key);
	free(sig);
	free(bundle);
	klic_keyring_free(skr);
	klic_keyring_free(kkr);
	return 0;
}
