/* klic — error codes, messages, exit statuses and the thread-local error
 * context (klic_error.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "klic_error.h"
#include "klic_internal.h"
#include "klic_util.h"

struct klic_err_info {
	int code;
	const char *name;
	const char *msg;
	int exit_code;
	enum klic_err_class cls;
};

static const struct klic_err_info klic_errors[] = {
#define KLIC_ERROR(name, value, cls, exit_status, msg) {name, #name, msg, exit_status, KLIC_CLASS_##cls},
#include "klic_errors.def"
#undef KLIC_ERROR
};

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

enum klic_err_class klic_err_class(int code)
{
	const struct klic_err_info *e = lookup(code);
	return e ? e->cls : KLIC_CLASS_SYSTEM;
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
		klic_printable_copy(err_detail, sizeof err_detail, err_detail, SIZE_MAX);
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
