/* klic — the lock of a home's license folder (spec 5.6): one klic at a
 * time reads and writes <home>/license.  Not installed. */
#ifndef KLIC_LOCK_H
#define KLIC_LOCK_H

#include "klic_request.h"

/* Take the exclusive flock(2) of <home>/klic/license.lock (created 0600,
 * never deleted).  When another klic holds it, prints one line "waiting
 * for another klic using <home>/license" on standard error and blocks until
 * it is free.  *fd gets the lock's descriptor, for klic_license_unlock();
 * -1 when <home>/klic does not exist (a home without it has no pending
 * request, so nothing can be installed there and nothing is locked).
 * KLIC_ERR_IO when the lock file cannot be opened or locked. */
int klic_license_lock(int *fd, const struct klic_user *u);

/* Release the lock taken by klic_license_lock(); fd -1 does nothing. */
void klic_license_unlock(int fd);

#endif
