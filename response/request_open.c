/* klic response/ — opening a request (spec/PROTOCOL.md 5.3 steps 1-3), for
 * `issue` and `member add --from-request` alike. */
#include <stdlib.h>
#include <string.h>

#include "response_int.h"

int klic_request_open(struct klic_opened_request *o, const char *path)
{
	char keysha[KLIC_SHA256_HEX_LEN + 1];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	memset(o, 0, sizeof *o);
	/* 1: readable, bounded, strict archive */
	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_BUNDLE_BYTES)) != 0)
		return r;
	r = klic_archive_read(&o->ar, KLIC_KIND_REQUEST, buf, len);
	free(buf);
	if (r != 0)
		return r;
	o->man = klic_archive_get(&o->ar, "manifest.json");
	o->sig = klic_archive_get(&o->ar, "manifest.sig");
	o->key = klic_archive_get(&o->ar, "requester.pgp");
	if (o->man == NULL || o->sig == NULL || o->key == NULL)
		return klic_error_set(KLIC_ERR_MEMBER_MISSING, "request members");
	/* 2: strict manifest */
	if ((r = klic_request_manifest_parse(&o->req, o->man->data, o->man->len)) != 0)
		return r;
	if ((r = klic_sha256_hex(o->digest, o->man->data, o->man->len)) != 0)
		return r;
	/* 3: the embedded key is the one the manifest names (its fingerprint
	 * is checked where the key is used) */
	if ((r = klic_sha256_hex(keysha, o->key->data, o->key->len)) != 0)
		return r;
	if (strcmp(keysha, o->req.requester_key_sha256) != 0)
		return klic_error_set(KLIC_ERR_MEMBER_HASH,
				      "requester.pgp does not match requester_key_sha256");
	return 0;
}

void klic_opened_request_dispose(struct klic_opened_request *o)
{
	klic_archive_dispose(&o->ar);
	memset(o, 0, sizeof *o);
}
