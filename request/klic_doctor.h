/* klic — `klic doctor`: checks the user's setup and says what to fix.
 * The checks return structured results; the tool prints them.
 * Library code: never prints, never exits, never prompts, changes nothing
 * on disk (no keyring is created, the trusted clock is not advanced). */
#ifndef KLIC_DOCTOR_H
#define KLIC_DOCTOR_H

#include <stddef.h>
#include <stdint.h>

#include "klic_request.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_DOCTOR_MAX 160 /* checks per report (license files beyond are summed up) */

enum klic_check_status { KLIC_CHECK_OK = 0, KLIC_CHECK_WARN = 1, KLIC_CHECK_FAIL = 2 };

struct klic_check {
	/* "home", "state", "keyring", "user-key", "issuer", "clock",
	 * "machine-id", "vendor", "license-dir", "license" */
	char name[16];
	enum klic_check_status status;
	char detail[768]; /* what was found; printable ASCII */
	char fix[512];    /* what to do about it; "" when nothing */
};

struct klic_doctor_report {
	size_t n;
	struct klic_check c[KLIC_DOCTOR_MAX];
	size_t n_fail, n_warn;
};

/* "OK", "WARN", "FAIL". */
const char *klic_check_status_name(enum klic_check_status s);

/* Run every check for the klic home `home` (as klic_home_resolve() gives
 * it), with the keyring in `gnupghome` (NULL: <home>/klic/gnupg), at time
 * `now`, in this order: home folder; klic state folder; keyring folder;
 * user key; pinned issuers (each one's key present in the keyring); the
 * trusted clock; each machine-id source (klic_machine_id_sources()) and the
 * machine ID; the vendor key of each product in KLIC_VENDOR_DIR; the license
 * folder; each license file, by the chain check when its product's vendor
 * key is installed, else against the pinned issuers (valid, expiring soon,
 * expired, for another machine, or broken).  Returns 0 when the checks ran (whatever they
 * found), or an error when none could run (out of memory). */
int klic_doctor_run(struct klic_doctor_report *rep, const char *home, const char *gnupghome,
		    int64_t now);

/* A license expiring within this many days is a warning. */
#define KLIC_DOCTOR_EXPIRY_WARN_DAYS 7

#ifdef __cplusplus
}
#endif
#endif
