/* klic — `klic doctor`: the user's setup, checked one item at a time, with
 * what to do about each problem (klic_doctor.h).  Reads only: nothing is
 * created, fixed or advanced here. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_doctor.h"
#include "request_int.h"

/* At most this many machine-id sources (klic_machine_id_sources()). */
#define MID_SOURCES_MAX 4

/* The vendor keys of this machine, per product (KRE, KSE): the chain check
 * runs when one is installed; otherwise licenses are checked against the
 * pinned issuers only, and said so. */
struct doctor_vendor {
	struct klic_chain *c[2];
};
static const char *const products[2] = {"KRE", "KSE"};

const char *klic_check_status_name(enum klic_check_status s)
{
	return s == KLIC_CHECK_OK ? "OK" : s == KLIC_CHECK_WARN ? "WARN" : "FAIL";
}

/* ---- building the report ---------------------------------------------------- */

static void vset(char *dst, size_t dstsz, const char *fmt, va_list ap)
{
	int n = vsnprintf(dst, dstsz, fmt, ap);
	if (n < 0) {
		dst[0] = '\0';
	} else if ((size_t)n >= dstsz && dstsz > 4) {
		memcpy(dst + dstsz - 4, "...", 4); /* cut: say so */
	}
}

/* A new check line, or NULL when the report is full (then the last line
 * says so). */
static struct klic_check *add(struct klic_doctor_report *rep, const char *name,
			      enum klic_check_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static struct klic_check *add(struct klic_doctor_report *rep, const char *name,
			      enum klic_check_status st, const char *fmt, ...)
{
	struct klic_check *c;
	va_list ap;

	if (rep->n >= KLIC_DOCTOR_MAX)
		return NULL;
	c = &rep->c[rep->n++];
	memset(c, 0, sizeof(*c));
	(void)snprintf(c->name, sizeof c->name, "%s", name);
	c->status = st;
	va_start(ap, fmt);
	vset(c->detail, sizeof c->detail, fmt, ap);
	va_end(ap);
	return c;
}

static void fix(struct klic_check *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void fix(struct klic_check *c, const char *fmt, ...)
{
	va_list ap;
	if (c == NULL)
		return;
	va_start(ap, fmt);
	vset(c->fix, sizeof c->fix, fmt, ap);
	va_end(ap);
}

/* ---- folders -------------------------------------------------------------------- */

enum dir_rule {
	DIR_NO_OTHER_WRITE, /* group/other may read, not write: warn */
	DIR_PRIVATE_WARN,   /* 0700 expected: warn */
	DIR_PRIVATE_FAIL,   /* 0700 required (gpg): fail */
};

/* Checks a folder; returns 1 when it exists as a directory. */
static int check_dir(struct klic_doctor_report *rep, const char *name, const char *path,
		     enum dir_rule rule, enum klic_check_status missing, const char *missing_fix)
{
	struct stat st;
	struct klic_check *c;
	mode_t perm;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT) {
			c = add(rep, name, missing, "%s does not exist", path);
			fix(c, "%s", missing_fix);
		} else {
			c = add(rep, name, KLIC_CHECK_FAIL, "%s: %s", path, strerror(errno));
			fix(c, "make it accessible to you");
		}
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		c = add(rep, name, KLIC_CHECK_FAIL, "%s is not a folder", path);
		fix(c, "move it out of the way; klic needs a folder there");
		return 0;
	}
	perm = st.st_mode & 07777;
	if (st.st_uid != geteuid()) {
		c = add(rep, name, rule == DIR_PRIVATE_FAIL ? KLIC_CHECK_FAIL : KLIC_CHECK_WARN,
			"%s is owned by uid %u, not by you (uid %u)", path, (unsigned)st.st_uid,
			(unsigned)geteuid());
		fix(c, "chown %u %s", (unsigned)geteuid(), path);
		return 1;
	}
	if (rule == DIR_NO_OTHER_WRITE && (perm & 022) != 0) {
		c = add(rep, name, KLIC_CHECK_WARN,
			"%s (mode %04o) is writable by others: they could plant or remove files",
			path, (unsigned)perm);
		fix(c, "chmod go-w %s", path);
	} else if (rule != DIR_NO_OTHER_WRITE && (perm & 077) != 0) {
		c = add(rep, name, rule == DIR_PRIVATE_FAIL ? KLIC_CHECK_FAIL : KLIC_CHECK_WARN,
			"%s (mode %04o) is open to other users%s", path, (unsigned)perm,
			rule == DIR_PRIVATE_FAIL ? "; gpg and klic refuse such a keyring" : "");
		fix(c, "chmod 700 %s", path);
	} else {
		add(rep, name, KLIC_CHECK_OK, "%s (mode %04o)", path, (unsigned)perm);
	}
	return 1;
}

/* ---- keyring, user key, issuers --------------------------------------------------- */

/* Returns 1 when the keyring is usable (the later checks need it). */
static int check_keys(struct klic_doctor_report *rep, struct klic_user *u, int issuers_ok,
		      const char *issuers_err)
{
	char fpr[KLIC_FPR_HEX_LEN + 1], issuers_path[KLIC_PATH_MAX];
	struct klic_check *c;
	size_t first = rep->n;
	int kr_ok = 0, r;

	(void)klic_rq_path(issuers_path, u->home, "klic/issuers");
	if (check_dir(rep, "keyring", u->gnupghome, DIR_PRIVATE_FAIL, KLIC_CHECK_FAIL,
		      u->own_keyring ? "run: klic init --name NAME --email EMAIL"
				     : "give --gnupghome an existing keyring, or leave it out") &&
	    !(rep->n > first && rep->c[first].status == KLIC_CHECK_FAIL)) {
		/* a keyring of the wrong mode or owner has its line and its fix
		 * (chmod/chown) above: gpg would only refuse it a second time */
		if ((r = klic_user_open_keyring(u, 0)) != 0) {
			c = add(rep, "keyring", KLIC_CHECK_FAIL, "%s: %s: %s", u->gnupghome,
				klic_strerror(r), klic_error_detail());
			fix(c, "check that gpg works with this keyring: gpg --homedir %s -K",
			    u->gnupghome);
		} else {
			kr_ok = 1;
		}
	}

	/* the user's key */
	if (!kr_ok) {
		c = add(rep, "user-key", KLIC_CHECK_FAIL, "not checked: the keyring is not usable");
		fix(c, "fix the keyring first (see above)");
	} else if ((r = klic_key_secret_fpr(u->kr, fpr)) == KLIC_ERR_NOT_FOUND) {
		c = add(rep, "user-key", KLIC_CHECK_FAIL,
			"no secret key in %s: you cannot sign requests", u->gnupghome);
		fix(c, "run: klic init --name NAME --email EMAIL");
	} else if (r != 0) {
		c = add(rep, "user-key", KLIC_CHECK_FAIL, "%s: %s", klic_strerror(r),
			klic_error_detail());
		fix(c, "keep exactly one secret key in this keyring, or use --gnupghome DIR");
	} else if ((r = klic_key_can_sign(u->kr, fpr)) != 0) {
		c = add(rep, "user-key", KLIC_CHECK_FAIL, "%s cannot sign: %s: %s", fpr,
			klic_strerror(r), klic_error_detail());
		fix(c, "the key is expired, revoked or unavailable: make a new key in a new home "
		       "(klic --home DIR init) and have your admin add it (klic-admin member add)");
	} else {
		add(rep, "user-key", KLIC_CHECK_OK, "%s can sign requests", fpr);
	}

	/* the pinned issuers and their keys */
	if (!issuers_ok) {
		c = add(rep, "issuer", KLIC_CHECK_FAIL, "%s: %s", issuers_path, issuers_err);
		fix(c, "remove %s and pin your issuer again: klic trust FILE.asc", issuers_path);
		return kr_ok;
	}
	if (u->n_issuers == 0) {
		c = add(rep, "issuer", KLIC_CHECK_FAIL,
			"no issuer pinned: responses and licenses cannot be verified");
		fix(c, "get the issuer key from your admin (klic-admin export-key) and run: klic "
		       "trust FILE.asc");
		return kr_ok;
	}
	for (size_t i = 0; i < u->n_issuers; i++) {
		uint8_t *key = NULL;
		size_t keylen = 0;
		if (!kr_ok) {
			c = add(rep, "issuer", KLIC_CHECK_FAIL,
				"%s pinned; not checked: the keyring is not usable", u->issuers[i]);
			fix(c, "fix the keyring first (see above)");
			continue;
		}
		r = klic_key_export(u->kr, &key, &keylen, u->issuers[i], 0);
		free(key);
		if (r == 0) {
			add(rep, "issuer", KLIC_CHECK_OK, "%s pinned, its key is in the keyring",
			    u->issuers[i]);
		} else {
			c = add(rep, "issuer", KLIC_CHECK_FAIL,
				"%s is pinned but its key is missing from %s: nothing it signed "
				"can be verified",
				u->issuers[i], u->gnupghome);
			fix(c, "run again: klic trust FILE.asc (the key your admin gave you)");
		}
	}
	return kr_ok;
}

/* ---- clock ------------------------------------------------------------------------ */

static void check_clock(struct klic_doctor_report *rep, const struct klic_user *u, int64_t now)
{
	char ns[KLIC_TIME_LEN + 1] = "?", ts[KLIC_TIME_LEN + 1] = "?", path[KLIC_PATH_MAX];
	struct klic_check *c;
	int64_t trusted = 0;
	int r;

	(void)klic_time_format(ns, now);
	(void)klic_rq_path(path, u->home, "klic/clock");
	if ((r = klic_clock_read(&trusted, u->home)) != 0) {
		/* the detail names the file and what is wrong with it */
		c = add(rep, "clock", KLIC_CHECK_FAIL, "%s",
			klic_error_detail()[0] != '\0' ? klic_error_detail() : path);
		fix(c, "it must hold one time (YYYY-MM-DDTHH:MM:SSZ); restore it, or remove it "
		       "(klic then trusts the system clock as it is)");
		return;
	}
	if (trusted == 0) {
		add(rep, "clock", KLIC_CHECK_OK, "system clock %s; no trusted time recorded yet",
		    ns);
		return;
	}
	(void)klic_time_format(ts, trusted);
	if (klic_clock_rule(now, trusted) != 0) {
		c = add(rep, "clock", KLIC_CHECK_FAIL,
			"system clock %s is behind the latest trusted time %s (recorded in %s): "
			"no license is valid",
			ns, ts, path);
		fix(c,
		    "if the system clock is wrong, set it to the correct time; if it is right "
		    "(compare 'date -u' with a trusted clock), the record is ahead (a clock "
		    "once set forward): remove %s (klic then trusts the system clock and "
		    "records it again at the next check)",
		    path);
		return;
	}
	add(rep, "clock", KLIC_CHECK_OK, "system clock %s, not behind the latest trusted time %s",
	    ns, ts);
}

/* ---- machine ID ---------------------------------------------------------------------- */

static void check_machine_id(struct klic_doctor_report *rep, char mid[KLIC_MACHINE_ID_LEN + 1])
{
	const char *const *mid_sources;
	size_t N = klic_machine_id_sources(&mid_sources);
	char ids[MID_SOURCES_MAX][KLIC_MACHINE_ID_LEN + 1];
	int rs[MID_SOURCES_MAX], used = -1;
	char errs[MID_SOURCES_MAX][200];
	struct klic_check *c;

	mid[0] = '\0';
	if (N > MID_SOURCES_MAX)
		N = MID_SOURCES_MAX;
	for (size_t i = 0; i < N; i++) {
		rs[i] = klic_machine_id_from_file(ids[i], mid_sources[i]);
		(void)snprintf(errs[i], sizeof errs[i], "%s", klic_error_detail());
		if (rs[i] == 0 && used < 0)
			used = (int)i;
	}
	for (size_t i = 0; i < N; i++) {
		const char *src = mid_sources[i];
		if (rs[i] == 0 && (int)i == used) {
			add(rep, "machine-id", KLIC_CHECK_OK, "%s: readable, used", src);
		} else if (rs[i] == 0) {
			if (strcmp(ids[i], ids[used]) == 0) {
				add(rep, "machine-id", KLIC_CHECK_OK, "%s: readable, same ID", src);
			} else {
				c = add(rep, "machine-id", KLIC_CHECK_WARN,
					"%s gives another ID than %s, which klic uses", src,
					mid_sources[used]);
				fix(c, "as root: ln -sf %s %s", mid_sources[used], src);
			}
		} else if (rs[i] == KLIC_ERR_NOT_FOUND) {
			if (used >= 0 && (int)i > used) {
				add(rep, "machine-id", KLIC_CHECK_OK, "%s: absent (not needed)",
				    src);
			} else if (used >= 0) {
				c = add(
				    rep, "machine-id", KLIC_CHECK_WARN,
				    "%s: absent; the ID comes from %s and changes if %s appears",
				    src, mid_sources[used], src);
				fix(c, "as root: ln -s %s %s", mid_sources[used], src);
			} else {
				c = add(rep, "machine-id", KLIC_CHECK_FAIL, "%s: absent", src);
				fix(c, "as root: systemd-machine-id-setup");
			}
		} else {
			c = add(rep, "machine-id", used >= 0 ? KLIC_CHECK_WARN : KLIC_CHECK_FAIL,
				"%s: unusable: %s", src, errs[i]);
			if (rs[i] == KLIC_ERR_IO)
				fix(c, "as root: chmod 444 %s (any user must be able to read it)",
				    src);
			else
				fix(c,
				    "as root: regenerate it (systemd-machine-id-setup); note that "
				    "this changes the machine ID");
		}
	}
	if (used < 0) {
		c = add(rep, "machine-id", KLIC_CHECK_FAIL,
			"no machine ID: no license can be requested or checked");
		fix(c,
		    "as root: systemd-machine-id-setup (or dbus-uuidgen --ensure=/etc/machine-id)");
		return;
	}
	/* the ID everything else uses */
	if (klic_this_machine_id(mid) != 0 || strcmp(mid, ids[used]) != 0) {
		c = add(rep, "machine-id", KLIC_CHECK_FAIL,
			"internal: machine ID sources disagree");
		fix(c, "report this as a bug, with the output of 'klic id'");
		mid[0] = '\0';
		return;
	}
	add(rep, "machine-id", KLIC_CHECK_OK, "this machine is %s", mid);
}

/* ---- vendor keys ------------------------------------------------------------------------- */

static void check_vendor(struct klic_doctor_report *rep, struct doctor_vendor *dv)
{
	char path[KLIC_PATH_MAX];
	const struct klic_anchor *a;
	struct klic_check *c;
	int r, absent = 0;

	for (int k = 0; k < 2; k++) {
		uint8_t *buf = NULL;
		size_t len = 0;

		r = klic_vendor_key_load(&buf, &len, path, &absent, klic_vendor_dir(), products[k]);
		free(buf);
		if (r == 0)
			r = klic_user_chain_open(&dv->c[k], path, NULL, NULL, products[k]);
		if (r == 0 && klic_chain_anchors(dv->c[k], &a) > 0) {
			add(rep, "vendor", KLIC_CHECK_OK, "%s: %s %s (%s)", products[k], a[0].uid,
			    a[0].fpr, path);
		} else if (absent) {
			c = add(rep, "vendor", KLIC_CHECK_WARN,
				"%s: no vendor key installed (%s): %s licenses are checked against "
				"your pinned issuers only, not the chain to the vendor",
				products[k], klic_error_detail(), products[k]);
			fix(c, "as root: install your vendor's public key as %s/%s.asc (owned by "
			       "root, mode 644)",
			    klic_vendor_dir(), products[k]);
		} else {
			c = add(rep, "vendor", KLIC_CHECK_FAIL, "%s: not trusted: %s", products[k],
				klic_error_detail());
			fix(c, "as root: make %s, its files and its parent owned by root and not "
			       "writable by group or others (chown root:root; chmod go-w)",
			    klic_vendor_dir());
		}
		klic_error_clear();
	}
}

/* The license's product (unverified: only to choose the vendor key). */
static struct klic_chain *vendor_for(struct doctor_vendor *dv, const char *path)
{
	char product[4];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_LIC_BYTES)) == 0)
		r = klic_license_peek_product(product, buf, len);
	free(buf);
	klic_error_clear();
	if (r != 0)
		return NULL;
	return dv->c[strcmp(product, "KSE") == 0];
}

/* ---- licenses ---------------------------------------------------------------------------- */

static void check_license(struct klic_doctor_report *rep, struct klic_user *u,
			  struct doctor_vendor *dv, const char *name, const char *path,
			  const char *mid, int64_t now, int kr_ok)
{
	char exp[KLIC_TIME_LEN + 1] = "?", detail[512];
	struct klic_chain *chain = vendor_for(dv, path);
	struct klic_chain_result res;
	struct klic_license lic;
	struct klic_check *c;
	int64_t trusted = 0;
	int r;

	if (chain == NULL && !kr_ok) {
		/* without a vendor key the license is checked with the keyring:
		 * a keyring problem is not a broken license */
		c = add(rep, "license", KLIC_CHECK_WARN,
			"%s: not checked: the keyring %s is not usable", name, u->gnupghome);
		fix(c, "fix the keyring first (see above); the license file itself may be fine");
		return;
	}
	if (chain != NULL) {
		(void)klic_clock_read(&trusted, u->home);
		r = klic_chain_check_file(chain, &res, path, name, mid, now, trusted);
		lic = res.lic;
		if (!res.verified)
			memset(&lic, 0, sizeof(lic));
		if (r == KLIC_ERR_CLOCK)
			r = 0; /* the clock has its own check above */
	} else {
		r = klic_check_license_file(u, &lic, path, name, mid, now);
	}
	(void)snprintf(detail, sizeof detail, "%s", klic_error_detail());
	klic_error_clear();
	if (lic.license_id[0] != '\0')
		(void)klic_time_format(exp, lic.expires);
	switch (r) {
	case 0:
		if (klic_days_left(lic.expires, now) < KLIC_DOCTOR_EXPIRY_WARN_DAYS) {
			c = add(rep, "license", KLIC_CHECK_WARN,
				"%s: valid %s license, expires %s (%ld "
				"days left)",
				name, lic.product, exp, klic_days_left(lic.expires, now));
			fix(c, "request a new license soon: klic request --product %s",
			    lic.product);
		} else if (chain != NULL) {
			add(rep, "license", KLIC_CHECK_OK,
			    "%s: valid %s license until %s (%ld days left), chained to the vendor",
			    name, lic.product, exp, klic_days_left(lic.expires, now));
		} else {
			/* the pinned issuer is the user's own file: never "valid" */
			c = add(rep, "license", KLIC_CHECK_WARN,
				"%s: %s license signed by the pinned issuer until %s (%ld days "
				"left); NOT checked against a vendor key",
				name, lic.product, exp, klic_days_left(lic.expires, now));
			fix(c, "install the vendor's public key as %s/%s.asc (root-owned) to check "
			       "the chain",
			    klic_vendor_dir(), lic.product);
		}
		break;
	case KLIC_ERR_LICENSE_EXPIRED:
		c = add(rep, "license", KLIC_CHECK_WARN, "%s: %s license expired %s", name,
			lic.product, exp);
		fix(c, "remove it; for a new one: klic request --product %s", lic.product);
		break;
	case KLIC_ERR_WRONG_MACHINE:
		c = add(rep, "license", KLIC_CHECK_WARN,
			"%s: made for machine %s, not this one: not valid here", name,
			lic.machine_id);
		fix(c, "remove it (a license binds to one machine); request one for this machine");
		break;
	case KLIC_ERR_LICENSE_FUTURE:
		c = add(rep, "license", KLIC_CHECK_FAIL, "%s: issued in the future: %s", name,
			detail);
		fix(c, "check that the system clock is right");
		break;
	case KLIC_ERR_CLOCK:
		c = add(rep, "license", KLIC_CHECK_FAIL,
			"%s: cannot be checked: the clock is set back", name);
		fix(c, "see the clock check above");
		break;
	case KLIC_ERR_LICENSE_NAME:
		c = add(rep, "license", KLIC_CHECK_FAIL,
			"%s: the license does not grant this file name (renamed or copied?): %s",
			name, detail);
		fix(c, "remove it; install the response again to get each license under its name");
		break;
	case KLIC_ERR_SIG_UNKNOWN_KEY:
	case KLIC_ERR_SIG_WRONG_KEY:
	case KLIC_ERR_NOT_ISSUER:
		c = add(rep, "license", KLIC_CHECK_FAIL, "%s: not signed by %s: %s", name,
			chain != NULL ? "the keys of its chain to the vendor" : "a pinned issuer",
			detail);
		fix(c,
		    "pin your organization's issuer key (klic trust FILE.asc), or remove the file");
		break;
	case KLIC_ERR_NOT_ENTITLED:
	case KLIC_ERR_MISMATCH:
		c = add(rep, "license", KLIC_CHECK_FAIL, "%s: not covered by its entitlement: %s",
			name, detail);
		fix(c, "remove it and ask your admin for a license within the entitlement");
		break;
	case KLIC_ERR_IO:
	case KLIC_ERR_NOT_FOUND:
	case KLIC_ERR_TOO_BIG:
		c = add(rep, "license", KLIC_CHECK_FAIL, "%s: unreadable: %s: %s", name,
			klic_strerror(r), detail);
		fix(c, "check the file's permissions, or remove it");
		break;
	default:
		c = add(rep, "license", KLIC_CHECK_FAIL, "%s: broken (%s): %s: %s", name,
			klic_license_reason(r), klic_strerror(r), detail);
		fix(c, "remove it and install the response again: klic install FILE.kresp");
		break;
	}
}

static void check_licenses(struct klic_doctor_report *rep, struct klic_user *u,
			   struct doctor_vendor *dv, const char *mid, int64_t now, int kr_ok)
{
	struct dirent **ents = NULL;
	struct klic_check *c;
	size_t nlic = 0, skipped = 0;
	int n;

	struct stat st;

	if (stat(u->licdir, &st) != 0 && errno == ENOENT) {
		c = add(rep, "license-dir", KLIC_CHECK_OK,
			"%s does not exist yet (klic install creates it)", u->licdir);
		fix(c, "klic request --product KRE|KSE, then klic install FILE.kresp");
		return;
	}
	if (!check_dir(rep, "license-dir", u->licdir, DIR_NO_OTHER_WRITE, KLIC_CHECK_FAIL, ""))
		return;
	n = scandir(u->licdir, &ents, NULL, alphasort);
	if (n < 0) {
		c = add(rep, "license-dir", KLIC_CHECK_FAIL, "%s: %s", u->licdir, strerror(errno));
		fix(c, "make it readable to you");
		return;
	}
	for (int i = 0; i < n; i++) {
		char path[KLIC_PATH_MAX];
		if (!klic_is_license_name(ents[i]->d_name))
			continue;
		nlic++;
		if (rep->n + 2 >= KLIC_DOCTOR_MAX) {
			skipped++;
			continue;
		}
		if (klic_rq_path(path, u->licdir, ents[i]->d_name) != 0) {
			c = add(rep, "license", KLIC_CHECK_FAIL, "%s: path too long",
				ents[i]->d_name);
			fix(c, "use a shorter --home");
			continue;
		}
		if (mid[0] == '\0') {
			c = add(rep, "license", KLIC_CHECK_FAIL, "%s: not checked: no machine ID",
				ents[i]->d_name);
			fix(c, "fix the machine ID first (see above)");
			continue;
		}
		check_license(rep, u, dv, ents[i]->d_name, path, mid, now, kr_ok);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (skipped > 0) {
		c = add(rep, "license", KLIC_CHECK_WARN, "%zu more license files not checked",
			skipped);
		fix(c, "remove the license files you no longer need");
	}
	if (nlic == 0) {
		c = add(rep, "license", KLIC_CHECK_OK, "no license installed");
		fix(c, "klic request --product KRE|KSE, then klic install FILE.kresp");
	}
}

/* ---- all of it ------------------------------------------------------------------------------ */

int klic_doctor_run(struct klic_doctor_report *rep, const char *home, const char *gnupghome,
		    int64_t now)
{
	char mid[KLIC_MACHINE_ID_LEN + 1] = "", klicdir[KLIC_PATH_MAX], issuers_err[600] = "";
	struct doctor_vendor dv = {{NULL, NULL}};
	struct klic_user *u;
	int r, issuers_ok = 1, kr_ok;

	memset(rep, 0, sizeof(*rep));
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "doctor");
	/* klic_user_setup fills the paths, then loads the pinned issuers: a
	 * damaged issuers file is a finding, not a reason to stop */
	r = klic_user_setup(u, home, gnupghome, NULL);
	if (r != 0 && u->licdir[0] == '\0') {
		free(u);
		return r;
	}
	if (r != 0) {
		issuers_ok = 0;
		(void)snprintf(issuers_err, sizeof issuers_err, "%s: %s", klic_strerror(r),
			       klic_error_detail());
		u->n_issuers = 0;
	}
	klic_error_clear();

	(void)check_dir(rep, "home", u->home, DIR_NO_OTHER_WRITE, KLIC_CHECK_FAIL,
			"run: klic init --name NAME --email EMAIL (creates it)");
	if (klic_rq_path(klicdir, u->home, "klic") == 0)
		(void)check_dir(rep, "state", klicdir, DIR_PRIVATE_WARN, KLIC_CHECK_FAIL,
				"run: klic init --name NAME --email EMAIL (creates it)");
	kr_ok = check_keys(rep, u, issuers_ok, issuers_err);
	check_clock(rep, u, now);
	check_machine_id(rep, mid);
	check_vendor(rep, &dv);
	check_licenses(rep, u, &dv, mid, now, kr_ok);
	klic_chain_free(dv.c[0]);
	klic_chain_free(dv.c[1]);

	for (size_t i = 0; i < rep->n; i++) {
		/* paths and file names may hold anything: every text printable
		 * (in place) */
		struct klic_check *k = &rep->c[i];
		(void)klic_printable_copy(k->detail, sizeof(k->detail), k->detail, SIZE_MAX);
		(void)klic_printable_copy(k->fix, sizeof(k->fix), k->fix, SIZE_MAX);
		if (rep->c[i].status == KLIC_CHECK_FAIL)
			rep->n_fail++;
		else if (rep->c[i].status == KLIC_CHECK_WARN)
			rep->n_warn++;
	}
	klic_user_dispose(u);
	free(u);
	klic_error_clear();
	return 0;
}
