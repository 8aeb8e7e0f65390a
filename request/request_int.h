/* klic — internals shared by the files of klic_request (not installed). */
#ifndef KLIC_REQUEST_INT_H
#define KLIC_REQUEST_INT_H

#include "check_int.h"
#include "klic_request.h"

int klic_rq_issuers_save(const struct klic_user *u);

#endif
