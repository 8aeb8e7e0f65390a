/* klic — one error namespace for every library (OpenSSH ssherr.h style).
 *
 * Every library function returns 0 (KLIC_OK) or one of the negative
 * KLIC_ERR_* codes below.  A function that fails also records a detail
 * string (the member name, the fingerprint, the path ...) in a thread-local
 * error context with klic_error_set(); the command-line tools print
 *   klic: FILE: <klic_strerror(code)>: <detail>
 * The code is never overwritten with a vaguer one on the way up.
 *
 * The codes, their classes, messages and exit statuses are listed once, in
 * klic_errors.def; spec/PROTOCOL.md section "Errors" is the same table.
 */
#ifndef KLIC_ERROR_H
#define KLIC_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum klic_err {
#define KLIC_ERROR(name, value, cls, exit_status, msg) name = value,
#include "klic_errors.def"
#undef KLIC_ERROR
};

/* What kind of failure a code is (the class column of klic_errors.def):
 * callers that treat "any signature failure" alike ask this instead of
 * comparing code ranges. */
enum klic_err_class {
	KLIC_CLASS_NONE = 0, /* KLIC_OK */
	KLIC_CLASS_SYSTEM,    /* memory, I/O, arguments, the machine */
	KLIC_CLASS_ARCHIVE,   /* the .kreq/.kresp container */
	KLIC_CLASS_DOCUMENT,  /* manifests, licenses, armor */
	KLIC_CLASS_SIGNATURE, /* a signature was checked and refused */
	KLIC_CLASS_KEY,       /* key material, passphrase, the OpenPGP engine */
	KLIC_CLASS_BINDING,   /* valid documents, but not for this machine or now */
	KLIC_CLASS_ADMIN,     /* ledger and membership */
};

/* The class of a code; unknown codes are KLIC_CLASS_SYSTEM. */
enum klic_err_class klic_err_class(int code);

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
