/* klic — the members of an organization (klic-admin member list, add,
 * remove): the ledger's members table and the members' keyring
 * <state>/members (spec 5.3).  Library code: returns data, never prints;
 * a question to the admin is a callback of the caller. */
#ifndef KLIC_MEMBERS_H
#define KLIC_MEMBERS_H

#include <stdint.h>

#include "klic_response.h"

struct klic_member_info {
	char fpr[KLIC_FPR_HEX_LEN + 1];
	char name[KLIC_MAX_UID_LEN + 1];  /* as recorded (UTF-8 text) */
	char email[KLIC_MAX_UID_LEN + 1]; /* "" when the user ID has none */
	char added[KLIC_TIME_LEN + 1];    /* time it was registered */
};

/* Calls fn with each member, by fingerprint (a non-zero return stops and
 * is returned). */
typedef int (*klic_member_info_fn)(void *ctx, const struct klic_member_info *m);
int klic_ledger_member_list(struct klic_ledger *l, klic_member_info_fn fn, void *ctx);

/* The member fpr into *m; KLIC_ERR_NOT_MEMBER when it is not one. */
int klic_ledger_member_get(struct klic_ledger *l, struct klic_member_info *m, const char *fpr);

/* Delete member fpr and append the audit event 'member-remove' (detail:
 * "FPR name <email>"), in one transaction; KLIC_ERR_NOT_MEMBER (nothing
 * changed) when it is not a member. */
int klic_ledger_member_remove(struct klic_ledger *l, const char *fpr, int64_t now);

/* The admin's answer before a member is added or removed: 0 to go on, else
 * an error code (returned as it is; nothing has changed then).  uid is the
 * key's user ID (printable). */
typedef int (*klic_member_ask_fn)(void *ctx, const char *fpr, const char *uid);

/* klic_admin_member_add_key / _request (klic_response.h), asking ask (NULL:
 * no question) once the key is read and before anything is written; not
 * asked when the key is a member already. */
int klic_admin_member_add_ask(struct klic_admin *a, char fpr[KLIC_FPR_HEX_LEN + 1],
			      char uid[KLIC_MAX_UID_LEN + 1], int *added, const char *path,
			      int from_request, klic_member_ask_fn ask, void *ctx);

/* Remove member fpr (40 upper-case hex): ask (NULL: no question), then its
 * row (audit 'member-remove') and its key in <state>/members.  Licenses
 * already issued are untouched; its later requests are denied not-member.
 * uid gets its recorded user ID.  KLIC_ERR_NOT_MEMBER when fpr is not a
 * member (nothing changed). */
int klic_admin_member_remove(struct klic_admin *a, char uid[KLIC_MAX_UID_LEN + 1], const char *fpr,
			     klic_member_ask_fn ask, void *ctx);

#endif
