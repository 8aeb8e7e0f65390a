/* klic — one error namespace for every library (OpenSSH ssherr.h style).
 *
 * Every library function returns 0 (KLIC_OK) or one of the negative
 * KLIC_ERR_* codes below.  A function that fails also records a detail
 * string (the member name, the fingerprint, the path ...) in a thread-local
 * error context with klic_error_set(); the command-line tools print
 *   klic: FILE: <klic_strerror(code)>: <detail>
 * The code is never overwritten with a vaguer one on the way up.
 *
 * The table of codes, their messages and exit statuses is normative:
 * spec/PROTOCOL.md section "Errors" lists the same table.
 */
#ifndef KLIC_ERROR_H
#define KLIC_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum klic_err {
	KLIC_OK = 0,

	/* generic (exit 4 internal, 3 I/O) */
	KLIC_ERR_INTERNAL = -1,       /* bug or unexpected library failure */
	KLIC_ERR_NOMEM = -2,          /* out of memory */
	KLIC_ERR_IO = -3,             /* read/write/fsync/rename failed */
	KLIC_ERR_INVALID_ARG = -4,    /* caller passed a bad argument (usage) */
	KLIC_ERR_NOT_FOUND = -5,      /* file, key, record not found */
	KLIC_ERR_EXISTS = -6,         /* would overwrite something that exists */
	KLIC_ERR_TOO_BIG = -7,        /* input file larger than its cap */

	/* archive layer: .kreq / .kresp (exit 1) */
	KLIC_ERR_ARCHIVE_FORMAT = -10,    /* not a gzip-compressed ustar/pax tar */
	KLIC_ERR_ARCHIVE_TRUNCATED = -11, /* archive or gzip stream ends early */
	KLIC_ERR_ARCHIVE_TRAILING = -12,  /* bytes after the end of the archive */
	KLIC_ERR_MEMBER_NAME = -13,       /* member name not allowed (path, ../, unknown) */
	KLIC_ERR_MEMBER_TYPE = -14,       /* member is not a regular file */
	KLIC_ERR_MEMBER_DUP = -15,        /* member name appears twice */
	KLIC_ERR_MEMBER_SIZE = -16,       /* member larger than its cap */
	KLIC_ERR_MEMBER_COUNT = -17,      /* too many members */
	KLIC_ERR_MEMBER_MISSING = -18,    /* a required member is absent */
	KLIC_ERR_UNPACKED_SIZE = -19,     /* decompressed total exceeds the cap (bomb) */
	KLIC_ERR_MEMBER_HASH = -20,       /* member bytes do not match the manifest SHA-256 */
	KLIC_ERR_MEMBER_UNLISTED = -21,   /* payload member not listed in manifest, or listed but absent */

	/* documents: manifests and licenses (exit 1) */
	KLIC_ERR_JSON = -30,          /* not strict JSON (syntax, duplicate key, NUL, trailing) */
	KLIC_ERR_TYPE_TAG = -31,      /* "type" is not the one this reader expects */
	KLIC_ERR_VERSION = -32,       /* unknown "version" */
	KLIC_ERR_FIELD = -33,         /* field missing, unknown, wrong type or bad value */
	KLIC_ERR_MACHINE_ID = -34,    /* malformed machine ID or wrong check character */
	KLIC_ERR_LICENSE_FORMAT = -35,/* .lic is not a strict clear-signed klic license */
	KLIC_ERR_LICENSE_NAME = -36,  /* .lic file name is not one its license lists */

	/* signatures (exit 1) */
	KLIC_ERR_SIG_NONE = -40,      /* no signature found */
	KLIC_ERR_SIG_MULTIPLE = -41,  /* more than one signature */
	KLIC_ERR_SIG_BAD = -42,       /* signature does not verify over these bytes */
	KLIC_ERR_SIG_UNKNOWN_KEY = -43, /* signing key not in this keyring */
	KLIC_ERR_SIG_WRONG_KEY = -44, /* valid signature, but not by the pinned/expected key */
	KLIC_ERR_SIG_KEY_EXPIRED = -45,
	KLIC_ERR_SIG_KEY_REVOKED = -46,
	KLIC_ERR_SIG_ALGO = -47,      /* public-key or digest algorithm not allowed */
	KLIC_ERR_SIG_EXPIRED = -48,   /* the signature itself has expired */
	KLIC_ERR_KEY = -49,           /* key material unusable (import/export/generate) */
	KLIC_ERR_GPG = -50,           /* the OpenPGP engine failed to run */
	KLIC_ERR_PASSPHRASE = -51,    /* no or wrong passphrase for a protected key */

	/* protocol binding (exit 1) */
	KLIC_ERR_WRONG_MACHINE = -60, /* document names another machine */
	KLIC_ERR_NOT_PENDING = -61,   /* response to a request this home did not make */
	KLIC_ERR_LICENSE_EXPIRED = -62,
	KLIC_ERR_LICENSE_FUTURE = -63,/* issued after "now": clock or forgery */
	KLIC_ERR_CLOCK = -64,         /* system clock earlier than the latest trusted time */
	KLIC_ERR_DENIED = -65,        /* the admin denied the request */
	KLIC_ERR_OLDER = -66,         /* would replace a license with an older one */
	KLIC_ERR_MISMATCH = -67,      /* manifest and license disagree */
	KLIC_ERR_NOT_MEMBER = -70,    /* request signer is not a registered member */
	KLIC_ERR_LEDGER = -71,        /* ledger (SQLite) failure or inconsistency */
	KLIC_ERR_NOT_ISSUER = -72,    /* no issuer pinned / issuer key missing */
	KLIC_ERR_NO_MACHINE_ID = -73, /* no machine identifier source readable */
	KLIC_ERR_ARMOR = -74,         /* malformed ASCII armor (spec/ARMOR.md), checksum mismatch */
};

/* Short, fixed, human message for a code ("signature made by the wrong key").
 * Never NULL; unknown codes give "unknown error". */
const char *klic_strerror(int code);

/* Stable machine-readable name ("KLIC_ERR_SIG_BAD"), for --json and tests. */
const char *klic_errname(int code);

/* Exit status for a code, per the spec's exit table:
 * 0 ok, 1 refused/invalid, 2 usage, 3 I/O or system, 4 internal. */
int klic_exit_code(int code);

/* Record `code` with a printf-style detail in this thread's error context
 * and return `code`, so callers can write `return klic_error_set(...)`.
 * The detail is truncated to 511 bytes. */
int klic_error_set(int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* The last detail recorded on this thread ("" if none).  Valid until the
 * next klic_error_set()/klic_error_clear() on this thread. */
const char *klic_error_detail(void);
int klic_error_code(void);
void klic_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif
