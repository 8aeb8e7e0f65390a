/* klic — the user side (library behind the `klic` tool): home folder,
 * machine ID, requests, verified install, license checks, trusted clock.
 * Library code: never prints, never exits. */
#ifndef KLIC_USER_H
#define KLIC_USER_H

#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"
#include "klic_keys.h"

#define KLIC_PATH_MAX 4096
#define KLIC_MAX_ISSUERS 16
#define KLIC_CLOCK_SKEW 300 /* seconds of tolerance, spec 5.5 */

enum klic_os { KLIC_OS_LINUX, KLIC_OS_MACOS, KLIC_OS_WINDOWS };
typedef const char *(*klic_getenv_fn)(const char *name);

/* Default home per OS (spec 5.4): KLIC_HOME, else ~/.katalon
 * (%USERPROFILE%\.katalon on Windows).  Pure: env read through `env`. */
int klic_home_default(char out[KLIC_PATH_MAX], enum klic_os os, klic_getenv_fn env);

/* Machine ID of this machine from the fixed sources of spec 2.1. */
int klic_this_machine_id(char out[KLIC_MACHINE_ID_LEN + 1]);
/* Same from one given file (unit tests; the tool always uses the above). */
int klic_machine_id_from_file(char out[KLIC_MACHINE_ID_LEN + 1], const char *path);

struct klic_user {
	char home[KLIC_PATH_MAX];
	char gnupghome[KLIC_PATH_MAX];
	char licdir[KLIC_PATH_MAX];
	const char *passphrase_file;
	struct klic_keyring *kr;
	char issuers[KLIC_MAX_ISSUERS][KLIC_FPR_HEX_LEN + 1];
	size_t n_issuers;
};

/* Fill paths; gnupghome may be NULL for <home>/klic/gnupg. */
int klic_user_setup(struct klic_user *u, const char *home, const char *gnupghome,
		    const char *passphrase_file);
int klic_user_open_keyring(struct klic_user *u, int create);
void klic_user_dispose(struct klic_user *u);

int klic_user_init(struct klic_user *u, char fpr[KLIC_FPR_HEX_LEN + 1], const char *name,
		   const char *email);
int klic_user_trust(struct klic_user *u, char fpr[KLIC_FPR_HEX_LEN + 1], const char *file);

/* Write a signed request to out_path (NULL: <PRODUCT>_<id>.kreq), record it
 * as pending; path_out gets the path written, digest the request digest. */
int klic_user_request(struct klic_user *u, char path_out[KLIC_PATH_MAX],
		      char digest[KLIC_SHA256_HEX_LEN + 1], const char *product, unsigned seats,
		      const char *out_path);

/* Check one license file's bytes against this machine now (spec 5.2 #13-14
 * for one license).  `lic` gets the decoded license when the signature
 * verified (even if it is expired etc.). */
int klic_user_check_license(struct klic_user *u, struct klic_license *lic, const uint8_t *buf,
			    size_t len, const char *machine_id, int64_t now);

/* Clock (spec 5.5): 0 when now is not earlier than the latest trusted
 * time minus the tolerance, else KLIC_ERR_CLOCK.  advance records t. */
int klic_user_clock_check(struct klic_user *u, int64_t now);
int klic_user_clock_advance(struct klic_user *u, int64_t t);

/* Install a response (spec 5.2).  On success `installed` lists n paths
 * (newline separated, caller frees) and *n_new counts newly written ones.
 * A denial returns KLIC_ERR_DENIED with the reason in the error detail. */
int klic_user_install(struct klic_user *u, char **report, const char *file);

#endif
