/* klic — error codes, messages, exit statuses and the thread-local error
 * context (klic_error.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "klic_error.h"
#include "klic_internal.h"

struct klic_err_info {
	int code;
	const char *name;
	const char *msg;
	int exit_code;
};

#define E(c, m, x) {c, #c, m, x}
static const struct klic_err_info klic_errors[] = {
	E(KLIC_OK, "success", 0),
	E(KLIC_ERR_INTERNAL, "internal error", 4),
	E(KLIC_ERR_NOMEM, "out of memory", 3),
	E(KLIC_ERR_IO, "input/output error", 3),
	E(KLIC_ERR_INVALID_ARG, "invalid argument", 2),
	E(KLIC_ERR_NOT_FOUND, "not found", 3),
	E(KLIC_ERR_EXISTS, "already exists", 1),
	E(KLIC_ERR_TOO_BIG, "file too large", 1),
	E(KLIC_ERR_ARCHIVE_FORMAT, "not a gzip-compressed tar archive", 1),
	E(KLIC_ERR_ARCHIVE_TRUNCATED, "archive truncated or corrupt", 1),
	E(KLIC_ERR_ARCHIVE_TRAILING, "data after the end of the archive", 1),
	E(KLIC_ERR_MEMBER_NAME, "archive member name not allowed", 1),
	E(KLIC_ERR_MEMBER_TYPE, "archive member is not a regular file", 1),
	E(KLIC_ERR_MEMBER_DUP, "duplicate archive member", 1),
	E(KLIC_ERR_MEMBER_SIZE, "archive member too large", 1),
	E(KLIC_ERR_MEMBER_COUNT, "too many archive members", 1),
	E(KLIC_ERR_MEMBER_MISSING, "required archive member missing", 1),
	E(KLIC_ERR_UNPACKED_SIZE, "archive too large when decompressed", 1),
	E(KLIC_ERR_MEMBER_HASH, "archive member does not match its SHA-256", 1),
	E(KLIC_ERR_MEMBER_UNLISTED, "archive members do not match the manifest", 1),
	E(KLIC_ERR_JSON, "malformed JSON document", 1),
	E(KLIC_ERR_TYPE_TAG, "wrong document type", 1),
	E(KLIC_ERR_VERSION, "unsupported document version", 1),
	E(KLIC_ERR_FIELD, "missing, unknown or invalid field", 1),
	E(KLIC_ERR_MACHINE_ID, "malformed machine ID", 1),
	E(KLIC_ERR_LICENSE_FORMAT, "malformed license file", 1),
	E(KLIC_ERR_LICENSE_NAME, "license file name not granted by the license", 1),
	E(KLIC_ERR_SIG_NONE, "no signature", 1),
	E(KLIC_ERR_SIG_MULTIPLE, "more than one signature", 1),
	E(KLIC_ERR_SIG_BAD, "bad signature", 1),
	E(KLIC_ERR_SIG_UNKNOWN_KEY, "signature by an unknown key", 1),
	E(KLIC_ERR_SIG_WRONG_KEY, "signature made by the wrong key", 1),
	E(KLIC_ERR_SIG_KEY_EXPIRED, "signing key expired", 1),
	E(KLIC_ERR_SIG_KEY_REVOKED, "signing key revoked", 1),
	E(KLIC_ERR_SIG_ALGO, "signature algorithm not allowed", 1),
	E(KLIC_ERR_SIG_EXPIRED, "signature expired", 1),
	E(KLIC_ERR_KEY, "unusable key", 1),
	E(KLIC_ERR_GPG, "OpenPGP engine failed", 3),
	E(KLIC_ERR_PASSPHRASE, "missing or wrong passphrase", 1),
	E(KLIC_ERR_WRONG_MACHINE, "made for another machine", 1),
	E(KLIC_ERR_NOT_PENDING, "not a response to a pending request", 1),
	E(KLIC_ERR_LICENSE_EXPIRED, "license expired", 1),
	E(KLIC_ERR_LICENSE_FUTURE, "license issued in the future", 1),
	E(KLIC_ERR_CLOCK, "system clock is behind the latest trusted time", 1),
	E(KLIC_ERR_DENIED, "request denied", 1),
	E(KLIC_ERR_OLDER, "would replace a license with an older one", 1),
	E(KLIC_ERR_MISMATCH, "documents disagree", 1),
	E(KLIC_ERR_NOT_MEMBER, "signer is not a registered member", 1),
	E(KLIC_ERR_LEDGER, "ledger failure", 4),
	E(KLIC_ERR_NOT_ISSUER, "no issuer key pinned", 1),
	E(KLIC_ERR_NO_MACHINE_ID, "no machine ID source readable", 1),
	E(KLIC_ERR_ARMOR, "malformed ASCII armor", 1),
};
#undef E

static const struct klic_err_info *lookup(int code)
{
	for (size_t i = 0; i < sizeof(klic_errors) / sizeof(klic_errors[0]); i++)
		if (klic_errors[i].code == code)
			return &klic_errors[i];
	return NULL;
}

const char *klic_strerror(int code)
{
	const struct klic_err_info *e = lookup(code);
	return e ? e->msg : "unknown error";
}

const char *klic_errname(int code)
{
	const struct klic_err_info *e = lookup(code);
	return e ? e->name : "KLIC_ERR_UNKNOWN";
}

int klic_exit_code(int code)
{
	const struct klic_err_info *e = lookup(code);
	return e ? e->exit_code : 4;
}

size_t klic_error_table_size(void)
{
	return sizeof(klic_errors) / sizeof(klic_errors[0]);
}

int klic_error_table_entry(size_t i, int *code, const char **name, const char **msg, int *exit_code)
{
	if (i >= klic_error_table_size())
		return KLIC_ERR_INVALID_ARG;
	*code = klic_errors[i].code;
	*name = klic_errors[i].name;
	*msg = klic_errors[i].msg;
	*exit_code = klic_errors[i].exit_code;
	return 0;
}

static _Thread_local int err_code;
static _Thread_local char err_detail[512];

int klic_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	err_code = code;
	err_detail[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		/* truncation is intended: the detail is capped at 511 bytes */
		(void)vsnprintf(err_detail, sizeof(err_detail), fmt, ap);
		va_end(ap);
		/* details quote bytes from hostile files (jansson's "near '...'",
		 * member names): only printable ASCII ever reaches a terminal */
		for (char *p = err_detail; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	}
	return code;
}

const char *klic_error_detail(void)
{
	return err_detail;
}

int klic_error_code(void)
{
	return err_code;
}

void klic_error_clear(void)
{
	err_code = 0;
	err_detail[0] = '\0';
}
