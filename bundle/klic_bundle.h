/* klic — the file formats: .kreq, .kresp and .lic, written deterministically
 * and read strictly.  Normative description: spec/PROTOCOL.md.
 *
 * This library knows nothing about signatures beyond carrying their bytes:
 * callers verify manifest.sig over the manifest member's exact bytes with
 * keys/ and only then act on the parsed manifest.
 */
#ifndef KLIC_BUNDLE_H
#define KLIC_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "klic_error.h"
#include "klic_util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_PROTOCOL_VERSION 2

/* ---- limits (spec/PROTOCOL.md "Limits") -------------------------------- */
#define KLIC_MAX_BUNDLE_BYTES (256u * 1024u)   /* compressed .kreq/.kresp file */
#define KLIC_MAX_UNPACKED_BYTES (4096u * 1024u)/* all tar bytes after gunzip */
#define KLIC_MAX_MEMBER_BYTES (64u * 1024u)    /* any one member */
#define KLIC_MAX_MANIFEST_BYTES (24u * 1024u) /* 64 seats + a 4 KiB .kent + a 3072-char key */
#define KLIC_MAX_SIG_BYTES (4u * 1024u)
#define KLIC_MAX_KEY_BYTES (16u * 1024u)
#define KLIC_MAX_LIC_BYTES (32u * 1024u)    /* manifest + signature + framing */
#define KLIC_MAX_SEATS 64
#define KLIC_MAX_MEMBERS (3 + KLIC_MAX_SEATS)  /* manifest, sig, key|licenses */
#define KLIC_MAX_NAME_LEN 64                   /* member file names */
#define KLIC_MAX_TEXT_LEN 200                  /* reason, org, name, email */
#define KLIC_MAX_KENT_BYTES (4u * 1024u)       /* a whole .kent (clear-signed) */
#define KLIC_MAX_ISSUER_KEY_B64 3072           /* base64 of the minimal issuer key */
#define KLIC_MAX_ORG_KEYS 8                    /* issuer keys one entitlement names */
#define KLIC_MAX_ENT_SEATS 1000000             /* seats of one entitlement */

/* ---- machine ID display form ------------------------------------------- */
/* 24 Crockford base32 symbols (120 bits) + 1 Luhn mod 32 check symbol,
 * grouped 5-5-5-5-5 with '-': "7K3QD-9WXTB-0M2RA-FE5NP-4HJCV". */
#define KLIC_MACHINE_ID_LEN 29
#define KLIC_MACHINE_ID_RAW_LEN 15

/* Encode 15 raw bytes in the canonical display form (with check symbol). */
int klic_machine_id_encode(char out[KLIC_MACHINE_ID_LEN + 1],
			   const uint8_t raw[KLIC_MACHINE_ID_RAW_LEN]);

/* Parse what a person typed: case-insensitive, '-' optional, Crockford
 * aliases O->0, I/L->1 accepted; the check symbol must match.  Writes the
 * canonical form.  KLIC_ERR_MACHINE_ID on any error. */
int klic_machine_id_parse(char out[KLIC_MACHINE_ID_LEN + 1], const char *text);

/* Strict check that `s` is already in canonical form (what documents and
 * file names carry).  0 or KLIC_ERR_MACHINE_ID. */
int klic_machine_id_check(const char *s);

/* Derive the ID from the contents of a machine-id file (32 hex digits and a
 * newline, as /etc/machine-id): HMAC-SHA256 keyed with the 16 decoded bytes
 * over the ASCII app ID "klic/machine-id/v1", first 15 bytes, encoded.
 * Does not read any file itself (request/ chooses the source). */
int klic_machine_id_derive(char out[KLIC_MACHINE_ID_LEN + 1], const char *machine_id_file_text,
			   size_t len);

/* The machine-id files an ID is derived from, in the order they are tried
 * (spec 2.1): "/etc/machine-id", then "/var/lib/dbus/machine-id".  The one
 * list; *out points to a static array.  Returns its length. */
size_t klic_machine_id_sources(const char *const **out);

/* ---- products ----------------------------------------------------------- */
/* 0 when p is exactly "KRE" or "KSE", else KLIC_ERR_FIELD. */
int klic_product_check(const char *p);

/* ---- archives ----------------------------------------------------------- */
struct klic_member {
	char name[KLIC_MAX_NAME_LEN + 1];
	uint8_t *data; /* owned; NUL-terminated for convenience (not counted in len) */
	size_t len;
};

struct klic_archive {
	struct klic_member m[KLIC_MAX_MEMBERS];
	size_t n;
};
#define KLIC_ARCHIVE_INIT {0}

enum klic_bundle_kind { KLIC_KIND_REQUEST = 1, KLIC_KIND_RESPONSE = 2 };

/* Read a .kreq or .kresp from memory, strictly: gzip + tar only (libarchive
 * with only those enabled, ARCHIVE_WARN is an error), member names from the
 * kind's allow-list, regular files only, no duplicates, per-member and total
 * size caps and the member-count cap enforced while decompressing, nothing
 * after the end-of-archive blocks.  Checks that manifest.json and
 * manifest.sig are present (and requester.pgp for requests).  Does not parse
 * the manifest. */
int klic_archive_read(struct klic_archive *out, enum klic_bundle_kind kind, const uint8_t *buf,
		      size_t len);

/* Write members in the given order as a deterministic ustar archive
 * (mtime 0, uid/gid 0, uname/gname "", mode 0644) compressed with zlib
 * (gzip, no name, mtime 0, OS 255, level 9). *out owned by caller. */
int klic_archive_write(uint8_t **out, size_t *outlen, const struct klic_archive *in);

/* Append a copy of data under name (for building). */
int klic_archive_add(struct klic_archive *a, const char *name, const void *data, size_t len);

/* Member by exact name or NULL. */
const struct klic_member *klic_archive_get(const struct klic_archive *a, const char *name);

void klic_archive_dispose(struct klic_archive *a);

/* Is `name` an allowed member name for this kind?  (For responses: the
 * manifest, the signature and license names "KRE_<id>.lic",
 * "KRE_<id>_<k>.lic" with k in 2..64.) */
int klic_member_name_allowed(enum klic_bundle_kind kind, const char *name);

/* The size cap of an allowed member name (spec 3.2): KLIC_MAX_MANIFEST_BYTES,
 * KLIC_MAX_SIG_BYTES, KLIC_MAX_KEY_BYTES or, for a license, KLIC_MAX_LIC_BYTES. */
size_t klic_member_cap(const char *name);

/* ---- request manifest (type "klic-request") ------------------------------ */
struct klic_request {
	char product[4];                          /* "KRE" | "KSE" */
	unsigned seats;                           /* KRE 1..64, KSE exactly 1 */
	char machine_id[KLIC_MACHINE_ID_LEN + 1];
	char nonce[KLIC_SHA256_HEX_LEN + 1];      /* 32 random bytes, hex */
	int64_t created;
	char requester_fpr[KLIC_FPR_HEX_LEN + 1]; /* primary fingerprint of requester.pgp */
	char requester_key_sha256[KLIC_SHA256_HEX_LEN + 1];
	char hostname[KLIC_MAX_TEXT_LEN + 1];     /* informational, printable, may be "" */
	/* optional (spec 3.3): a renewal names the licenses it renews, 32
	 * lower-case hex each, strictly ascending; then seats == n_renews.
	 * n_renews 0: a normal request (the field is absent). */
	unsigned n_renews;
	char renews[KLIC_MAX_SEATS][33];
};

/* Canonical manifest bytes (jansson, sorted keys, compact, trailing "\n").
 * *out owned by caller. */
int klic_request_manifest_build(char **out, size_t *outlen, const struct klic_request *r);

/* Strict parse: exact key set, types, ranges, type tag "klic-request",
 * version 1, duplicate keys refused, no NUL, no trailing bytes. */
int klic_request_manifest_parse(struct klic_request *out, const uint8_t *json, size_t len);

/* ---- response manifest (type "klic-response") ---------------------------- */
/* One document answers a request, and it is also every license of the
 * answer: the response carries ONE signature (spec 3.4, 3.5).  It is
 * canonical JSON with sorted keys, 2-space indent, LF line ends and no
 * trailing newline, signed in text mode, so that its clear-signed form is
 * the .lic file and `gpg --verify` checks either form. */
#define KLIC_STATUS_ISSUED "issued"
#define KLIC_STATUS_DENIED "denied"

struct klic_response_entry {
	char file[KLIC_MAX_NAME_LEN + 1]; /* the .lic name this seat is installed under */
	char license_id[33];              /* 16 bytes, hex (spec 1) */
	unsigned seat;                    /* 1-based; entry i has seat i + 1 */
};

struct klic_response {
	char status[8];                           /* "issued" | "denied" */
	char request_digest[KLIC_SHA256_HEX_LEN + 1];
	char machine_id[KLIC_MACHINE_ID_LEN + 1];
	char product[4];
	unsigned seats;                           /* issued: number of licenses; denied: seats asked */
	int64_t created;                          /* time of issue / denial */
	int64_t expires;                          /* issued only (0 in a denial) */
	char issuer_org[KLIC_MAX_TEXT_LEN + 1];
	char issuer_fpr[KLIC_FPR_HEX_LEN + 1];
	char member_fpr[KLIC_FPR_HEX_LEN + 1];    /* requester the response answers */
	char reason_code[32];                     /* denied only: see spec */
	char reason[KLIC_MAX_TEXT_LEN + 1];       /* denied only: human text */
	size_t n_licenses;                        /* issued: == seats; denied: 0 */
	struct klic_response_entry lic[KLIC_MAX_SEATS];
	/* issued only (version 2): the chain to the vendor */
	char entitlement_id[33];                  /* == the embedded entitlement's */
	char entitlement[KLIC_MAX_KENT_BYTES + 1]; /* the .kent text, exactly */
	size_t entitlement_len;
	char issuer_key[KLIC_MAX_ISSUER_KEY_B64 + 1]; /* base64 of the issuer's minimal public key */
};

/* Canonical bytes (the exact bytes that are signed).  *out owned by the
 * caller.  The built document is re-parsed before it is returned. */
int klic_response_manifest_build(char **out, size_t *outlen, const struct klic_response *r);
/* Strict parse: canonical form, exact key set per status, every license
 * entry well-formed, names and license IDs distinct, seats in order. */
int klic_response_manifest_parse(struct klic_response *out, const uint8_t *json, size_t len);

/* ---- entitlement (.kent, type "klic-entitlement") ----------------------- */
/* What the vendor sold an organization (spec/PROTOCOL.md 3.6): a
 * clear-signed text of exactly the .lic shape (klic_license_split()),
 * signed by the vendor key in text mode, whose body is canonical JSON like
 * the response manifest (sorted keys, 2-space indent, no trailing
 * newline).  The period is [valid_from, valid_until). */
#define KLIC_MODEL_NODE_LOCKED "node-locked"
#define KLIC_MODEL_FLOATING "floating"
#define KLIC_BILLING_YEARLY "yearly"
#define KLIC_BILLING_MONTHLY "monthly"

struct klic_kent {
	char entitlement_id[33];                  /* 16 random bytes, hex */
	char org[KLIC_MAX_TEXT_LEN + 1];          /* the organization (== issuer_org) */
	char org_keys[KLIC_MAX_ORG_KEYS][KLIC_FPR_HEX_LEN + 1]; /* issuer keys, ascending */
	size_t n_org_keys;                        /* 1..KLIC_MAX_ORG_KEYS */
	char product[4];                          /* "KRE" | "KSE" */
	char model[16];                           /* "node-locked" | "floating" */
	char billing[8];                          /* "yearly" | "monthly" */
	unsigned seats;                           /* 1..KLIC_MAX_ENT_SEATS */
	int64_t valid_from, valid_until;          /* valid_from < valid_until */
	int returnable;                           /* 0 | 1 */
	char ref[KLIC_MAX_TEXT_LEN + 1];          /* the vendor's order reference */
	char vendor_fpr[KLIC_FPR_HEX_LEN + 1];    /* must equal the signer */
	int64_t created;
};

/* Canonical body bytes (what the vendor signs); org_keys are written
 * sorted (the builder sorts a copy); re-parsed before returned. */
int klic_kent_body_build(char **out, size_t *outlen, const struct klic_kent *e);
/* Strict parse of a body: canonical form, exact key set, types and
 * ranges, org_keys strictly ascending (no duplicates). */
int klic_kent_body_parse(struct klic_kent *out, const uint8_t *json, size_t len);
/* Index of fpr in e->org_keys, or -1. */
int klic_kent_names_key(const struct klic_kent *e, const char *fpr);

/* ---- license (.lic) --------------------------------------------------------- */
/* What one license file grants, decoded from the signed response it is a
 * rendering of and the file name that selects its seat. */
struct klic_license {
	char license_id[33];                      /* 16 bytes, hex (spec 1) */
	char file[KLIC_MAX_NAME_LEN + 1];         /* the name that selected it */
	char product[4];
	char machine_id[KLIC_MACHINE_ID_LEN + 1];
	unsigned seat, seats;                     /* 1-based seat of seats */
	int64_t issued, expires;
	char issuer_org[KLIC_MAX_TEXT_LEN + 1];
	char issuer_fpr[KLIC_FPR_HEX_LEN + 1];
	char member_fpr[KLIC_FPR_HEX_LEN + 1];
	char request_digest[KLIC_SHA256_HEX_LEN + 1];
	char entitlement_id[33];                  /* the vendor entitlement it draws on */
};

/* The license named `filename` (a base name, no directory) in an issued
 * response.  KLIC_ERR_FIELD for a denial; KLIC_ERR_LICENSE_NAME when the
 * response does not list that name. */
int klic_license_from_response(struct klic_license *out, const struct klic_response *r,
			       const char *filename);

/* Split a .lic (an OpenPGP clear-signed message, LF only) strictly:
 *   "-----BEGIN PGP SIGNED MESSAGE-----\n"
 *   "Hash: SHA256\n" | "Hash: SHA384\n" | "Hash: SHA512\n"
 *   "\n"
 *   <body: lines, none starting with '-', no CR, no trailing blanks>
 *   "\n-----BEGIN PGP SIGNATURE-----\n\n" <base64 lines> "=" <crc> "\n"
 *   "-----END PGP SIGNATURE-----\n"   and nothing after.
 * Returns pointers into buf: body (the signed bytes, without the LF before
 * the signature: a response manifest), sig (the armored signature block
 * from "-----BEGIN PGP SIGNATURE-----" through the final LF, which is the
 * response's manifest.sig) and the digest the Hash line names, which must
 * be the signature's. */
struct klic_lic_parts {
	const uint8_t *body;
	size_t body_len;
	const uint8_t *sig;
	size_t sig_len;
	unsigned hash_bits; /* 256, 384 or 512 */
};
int klic_license_split(struct klic_lic_parts *out, const uint8_t *buf, size_t len);
/* The same shape for a clear-signed document of at most max bytes (the
 * .kusage, whose cap is KLIC_MAX_KUSAGE_BYTES); klic_license_split() is
 * this with KLIC_MAX_LIC_BYTES. */
int klic_clearsigned_split(struct klic_lic_parts *out, const uint8_t *buf, size_t len,
			   size_t max);

/* The canonical name of a license file: "<PRODUCT>_<machine_id>.lic" for
 * k = 1, "<PRODUCT>_<machine_id>_<k>.lic" for k in 2..64. */
int klic_license_filename(char out[KLIC_MAX_NAME_LEN + 1], const char *product,
			  const char *machine_id, unsigned k);

/* Parse such a name: *k (1..64), product and machine ID.  0, or
 * KLIC_ERR_LICENSE_NAME for anything else (no error detail is recorded, so
 * it can be used as a predicate). */
int klic_license_name_parse(unsigned *k, char product[4], char machine_id[KLIC_MACHINE_ID_LEN + 1],
			    const char *name);

#ifdef __cplusplus
}
#endif
#endif
