/* klic.h — the klic runtime library (libklic): verify an installed offline
 * license (.lic) for this machine, as `klic verify FILE` does.
 *
 * Public, installed header.  Self-contained: it includes only <stddef.h>
 * and <time.h> and declares nothing of klic's internals; usable from C
 * (C99 and later) and C++.  Link with `pkg-config --cflags --libs klic`.
 *
 *   struct klic_license_info info;
 *   int r = klic_license_verify(&info, "/home/ada/.katalon/license/KRE_<id>.lic", NULL);
 *   if (r == KLIC_OK)
 *           printf("%s licensed until %lld\n", info.product, (long long)info.expires);
 *   else
 *           fprintf(stderr, "%s: %s\n", klic_license_strerror(r), info.detail);
 *
 * ABI: the shared library's SONAME is libklic.so.1.  Everything declared
 * here, including the layout of struct klic_license_info, is part of that
 * ABI; a change to it gets a new SONAME.  Symbols are versioned (KLIC_1).
 * Normative description of the checks: spec/PROTOCOL.md (license format,
 * signature policy, clock); the library is documented in libklic(3).
 */
#ifndef KLIC_H
#define KLIC_H

#include <stddef.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the klic release this header belongs to (also
 * klic_runtime_version() at run time, and `pkg-config --modversion klic`). */
#define KLIC_VERSION_MAJOR 0
#define KLIC_VERSION_MINOR 1
#define KLIC_VERSION_PATCH 0
#define KLIC_VERSION_STRING "0.1.0"
/* The runtime ABI (the number in the SONAME libklic.so.N). */
#define KLIC_RUNTIME_ABI 1

#if defined(__GNUC__) && defined(KLIC_BUILDING_RUNTIME)
#define KLIC_API __attribute__((visibility("default")))
#else
#define KLIC_API
#endif

/* Error codes: 0 or one of these negative values.  The same names and
 * values as every klic tool (spec/PROTOCOL.md section 6, the error table),
 * so a runtime's log and `klic verify` agree.  Inside klic's own sources
 * the library's internal error header defines the same enumeration. */
#ifndef KLIC_ERROR_H
enum klic_err {
	KLIC_OK = 0,
	KLIC_ERR_INTERNAL = -1,
	KLIC_ERR_NOMEM = -2,
	KLIC_ERR_IO = -3,
	KLIC_ERR_INVALID_ARG = -4,
	KLIC_ERR_NOT_FOUND = -5,
	KLIC_ERR_EXISTS = -6,
	KLIC_ERR_TOO_BIG = -7,
	KLIC_ERR_ARCHIVE_FORMAT = -10,
	KLIC_ERR_ARCHIVE_TRUNCATED = -11,
	KLIC_ERR_ARCHIVE_TRAILING = -12,
	KLIC_ERR_MEMBER_NAME = -13,
	KLIC_ERR_MEMBER_TYPE = -14,
	KLIC_ERR_MEMBER_DUP = -15,
	KLIC_ERR_MEMBER_SIZE = -16,
	KLIC_ERR_MEMBER_COUNT = -17,
	KLIC_ERR_MEMBER_MISSING = -18,
	KLIC_ERR_UNPACKED_SIZE = -19,
	KLIC_ERR_MEMBER_HASH = -20,
	KLIC_ERR_MEMBER_UNLISTED = -21,
	KLIC_ERR_JSON = -30,
	KLIC_ERR_TYPE_TAG = -31,
	KLIC_ERR_VERSION = -32,
	KLIC_ERR_FIELD = -33,
	KLIC_ERR_MACHINE_ID = -34,
	KLIC_ERR_LICENSE_FORMAT = -35,
	KLIC_ERR_LICENSE_NAME = -36,
	KLIC_ERR_SIG_NONE = -40,
	KLIC_ERR_SIG_MULTIPLE = -41,
	KLIC_ERR_SIG_BAD = -42,
	KLIC_ERR_SIG_UNKNOWN_KEY = -43,
	KLIC_ERR_SIG_WRONG_KEY = -44,
	KLIC_ERR_SIG_KEY_EXPIRED = -45,
	KLIC_ERR_SIG_KEY_REVOKED = -46,
	KLIC_ERR_SIG_ALGO = -47,
	KLIC_ERR_SIG_EXPIRED = -48,
	KLIC_ERR_KEY = -49,
	KLIC_ERR_GPG = -50,
	KLIC_ERR_PASSPHRASE = -51,
	KLIC_ERR_WRONG_MACHINE = -60,
	KLIC_ERR_NOT_PENDING = -61,
	KLIC_ERR_LICENSE_EXPIRED = -62,
	KLIC_ERR_LICENSE_FUTURE = -63,
	KLIC_ERR_CLOCK = -64,
	KLIC_ERR_DENIED = -65,
	KLIC_ERR_OLDER = -66,
	KLIC_ERR_MISMATCH = -67,
	KLIC_ERR_NOT_MEMBER = -70,
	KLIC_ERR_LEDGER = -71,
	KLIC_ERR_NOT_ISSUER = -72,
	KLIC_ERR_NO_MACHINE_ID = -73,
	KLIC_ERR_ARMOR = -74
};
#endif

/* Buffer sizes (including the terminating NUL). */
#define KLIC_INFO_PRODUCT_SIZE 4     /* "KRE" | "KSE" */
#define KLIC_INFO_MACHINE_ID_SIZE 30 /* "7K3QD-9WXTB-0M2RA-FE5NP-4HJCV" */
#define KLIC_INFO_LICENSE_ID_SIZE 33 /* 32 lower-case hex */
#define KLIC_INFO_FILE_SIZE 65       /* "KRE_<machine ID>_<k>.lic" */
#define KLIC_INFO_TEXT_SIZE 201      /* printable ASCII, at most 200 */
#define KLIC_INFO_FPR_SIZE 41        /* 40 upper-case hex */
#define KLIC_INFO_DIGEST_SIZE 65     /* 64 lower-case hex */
#define KLIC_INFO_DETAIL_SIZE 512

/* A decoded license.  Every string is NUL-terminated printable ASCII. */
struct klic_license_info {
	/* 1 when the fields below come from a license whose signature by a
	 * pinned issuer verified and that lists the file's name; they are
	 * then filled even when a later check failed (another machine,
	 * expired, issued in the future, clock set back), so a runtime can
	 * say which license is not valid and why.  0: the fields are empty. */
	int verified;
	char product[KLIC_INFO_PRODUCT_SIZE];
	char machine_id[KLIC_INFO_MACHINE_ID_SIZE]; /* the machine it is bound to */
	char license_id[KLIC_INFO_LICENSE_ID_SIZE];
	char file[KLIC_INFO_FILE_SIZE]; /* the file name that selected this seat */
	unsigned seat;  /* this license's seat, 1..seats */
	unsigned seats; /* seats granted by the same request */
	time_t issued;
	time_t expires; /* valid while now < expires */
	char issuer_org[KLIC_INFO_TEXT_SIZE];
	char issuer_fpr[KLIC_INFO_FPR_SIZE]; /* the issuer key that signed it */
	char member_fpr[KLIC_INFO_FPR_SIZE]; /* the user who requested it */
	char request_digest[KLIC_INFO_DIGEST_SIZE];
	/* On failure: what exactly failed (the file, the fingerprint, the
	 * time ...), "" on success.  Printable ASCII. */
	char detail[KLIC_INFO_DETAIL_SIZE];
};

/* Verify the license file `lic_path` for this machine, now, exactly as
 * `klic --home KLIC_HOME verify LIC_PATH` does:
 *   strict clear-signed format; one signature by an issuer pinned in
 *   KLIC_HOME (keys of <home>/klic/gnupg, list <home>/klic/issuers);
 *   strict document; the file's base name is one the license lists (all
 *   the files of one response are the same signed document, the name
 *   selects the seat: keep the name when copying a license); the license
 *   names this machine's ID; issued no more
 *   than 5 minutes in the future; not expired; the system clock not set
 *   back behind the latest trusted time (<home>/klic/clock).
 * On success the latest trusted time is advanced to now (as klic does).
 *
 * klic_home: the klic home folder; NULL means $KLIC_HOME when set and not
 * empty, else ~/.katalon (%USERPROFILE%\.katalon on Windows).
 *
 * Returns KLIC_OK (0) with *out filled, or a negative KLIC_ERR_* code with
 * out->detail set (and out->verified telling whether the other fields are
 * filled).  KLIC_ERR_INVALID_ARG when out or lic_path is NULL.
 * Thread-safe: concurrent calls from several threads are allowed (each call
 * uses its own state; nothing global but a once-only initialization of
 * GPGME).  Runs gpg(1) to check the signature; never prints, never exits,
 * never prompts; does not touch the process's locale or signals. */
KLIC_API int klic_license_verify(struct klic_license_info *out, const char *lic_path,
				 const char *klic_home);

/* Short, fixed English message for a code ("license expired"); never NULL,
 * "unknown error" for an unknown code.  Static storage. */
KLIC_API const char *klic_license_strerror(int code);

/* The code's stable name ("KLIC_ERR_LICENSE_EXPIRED"), for logs and
 * scripts; "KLIC_ERR_UNKNOWN" for an unknown code.  Static storage. */
KLIC_API const char *klic_license_errname(int code);

/* This machine's ID in its canonical form (the one license file names
 * carry, as `klic id` prints it) into buf; size at least
 * KLIC_INFO_MACHINE_ID_SIZE.  0 or KLIC_ERR_NO_MACHINE_ID /
 * KLIC_ERR_INVALID_ARG. */
KLIC_API int klic_runtime_machine_id(char *buf, size_t size);

/* The library's version, "0.1.0": compare with KLIC_VERSION_STRING to
 * detect a header/library mismatch. */
KLIC_API const char *klic_runtime_version(void);

#ifdef __cplusplus
}
#endif
#endif
