/* klic response/ — the admin state: state directory, init, open,
 * export-key, member add and remove, and the scratch-keyring verification. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "klic_members.h"
#include "response_int.h"

extern char **environ;

static int path_join(char *out, size_t outsz, const char *a, const char *b)
{
	int n = snprintf(out, outsz, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= outsz)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "path too long: %s/%s", a, b);
	return 0;
}

static int copy_path(char *out, size_t outsz, const char *s)
{
	int n = snprintf(out, outsz, "%s", s);
	if (n < 0 || (size_t)n >= outsz)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "path too long: %.64s...", s);
	return 0;
}

int klic_admin_state_dir(char *out, size_t outsz, const char *opt)
{
	const char *env, *home;
	int n;

	if (opt != NULL && opt[0] != '\0')
		return copy_path(out, outsz, opt);
	env = getenv("KLIC_ADMIN_HOME");
	if (env != NULL && env[0] != '\0')
		return copy_path(out, outsz, env);
	home = getenv("HOME");
	if (home == NULL || home[0] == '\0')
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "HOME is not set: use --state DIR or KLIC_ADMIN_HOME");
	n = snprintf(out, outsz, "%s/.local/share/klic-admin", home);
	if (n < 0 || (size_t)n >= outsz)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "path too long: %s", home);
	return 0;
}

void klic_uid_split(char *name, size_t namesz, char *email, size_t emailsz, const char *uid)
{
	const char *lt = strrchr(uid, '<');
	const char *gt = lt != NULL ? strchr(lt, '>') : NULL;
	size_t nl;

	name[0] = '\0';
	email[0] = '\0';
	if (lt == NULL || gt == NULL) {
		snprintf(name, namesz, "%s", uid);
		return;
	}
	nl = (size_t)(lt - uid);
	while (nl > 0 && uid[nl - 1] == ' ')
		nl--;
	if (nl >= namesz)
		nl = namesz - 1;
	memcpy(name, uid, nl);
	name[nl] = '\0';
	snprintf(email, emailsz, "%.*s", (int)(gt - lt - 1), lt + 1);
}

/* A one-line file of the state folder (KLIC_ISSUER_FILE,
 * KLIC_GNUPGHOME_FILE) into out: 1 when there is one, 0 when not, < 0 an
 * error code. */
static int state_line(char *out, size_t outsz, const char *state, const char *name)
{
	char path[4200];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = path_join(path, sizeof path, state, name)) != 0)
		return r;
	if (access(path, F_OK) != 0)
		return 0;
	if ((r = klic_read_file(&buf, &len, path, 4096)) != 0)
		return r;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= outsz || memchr(buf, '\0', len) != NULL ||
	    memchr(buf, '\n', len) != NULL) {
		free(buf);
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: not one line", path);
	}
	memcpy(out, buf, len);
	out[len] = '\0';
	free(buf);
	return 1;
}

static int state_line_write(const char *state, const char *name, const char *value)
{
	char path[4200], line[4200];
	int n;

	if ((n = path_join(path, sizeof path, state, name)) != 0)
		return n;
	n = snprintf(line, sizeof line, "%s\n", value);
	if (n < 0 || (size_t)n >= sizeof line)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: too long", path);
	return klic_write_atomic(path, (const uint8_t *)line, (size_t)n, 0600, 0);
}

/* A shared (PostgreSQL) ledger that holds an org already: this admin
 * joins it when the org and the vendor are the same. */
static int join_checks(struct klic_ledger *l, const char *org, const char *vfpr)
{
	char v[KLIC_MAX_TEXT_LEN + 1];
	int r;

	if ((r = klic_ledger_meta_get(l, "org", v, sizeof v)) != 0)
		return r;
	if (strcmp(v, org) != 0)
		return klic_error_set(KLIC_ERR_EXISTS, "the ledger is %s's, not %s's", v, org);
	if ((r = klic_ledger_meta_get(l, "vendor_fpr", v, sizeof v)) != 0)
		return r;
	if (strcmp(v, vfpr) != 0)
		return klic_error_set(KLIC_ERR_EXISTS,
				      "the ledger's vendor is %s, --vendor is %s", v, vfpr);
	return 0;
}

static void unlink_ledger(const char *path)
{
	char p[4200];

	(void)unlink(path);
	if (snprintf(p, sizeof p, "%s-wal", path) < (int)sizeof p)
		(void)unlink(p);
	if (snprintf(p, sizeof p, "%s-shm", path) < (int)sizeof p)
		(void)unlink(p);
}

/* --name: what goes into the issuer key's user ID "NAME <EMAIL>": 1..200
 * bytes of UTF-8 (OpenPGP user IDs are UTF-8), no control character, no
 * leading or trailing space, none of < > ( ).  --email: printable ASCII
 * user@host.  Checked before anything is created; the message names the
 * option. */
static int check_identity(const char *name, const char *email)
{
	size_t n, i;

	if (name != NULL) {
		int how;
		n = strlen(name);
		if (n == 0 || n > 200)
			return klic_error_set(KLIC_ERR_INVALID_ARG, "--name must be 1..200 bytes");
		if ((how = klic_utf8_text_check(name, n, &i)) != 0)
			return klic_error_set(KLIC_ERR_INVALID_ARG,
					      how == 1 ? "--name is not valid UTF-8 (byte %zu)"
					      : how == 2
						  ? "--name holds a control character (byte %zu)"
						  : "--name holds an invisible line or text-direction "
						    "character (byte %zu)",
					      i + 1);
		if (name[0] == ' ' || name[n - 1] == ' ')
			return klic_error_set(KLIC_ERR_INVALID_ARG,
					      "--name has leading or trailing spaces");
		if (strpbrk(name, "<>()") != NULL)
			return klic_error_set(KLIC_ERR_INVALID_ARG,
					      "--name must not contain '<', '>', '(' or ')'");
	}
	if (email != NULL) {
		const char *at = strchr(email, '@');
		n = strlen(email);
		if (n == 0 || n > 200 || !klic_is_printable(email, n) || at == NULL ||
		    at == email || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
		    strpbrk(email, " ()\"<>") != NULL)
			return klic_error_set(
			    KLIC_ERR_INVALID_ARG,
			    "--email must look like user@host (printable ASCII, at "
			    "most 200 characters)");
	}
	return 0;
}

/* init: the ledger made (SQLite: the path claimed exclusively first,
 * *made set) or, shared, opened (its schema made when the database is
 * empty). */
static int init_open(struct klic_ledger **l, int *made, const char *ledger, int pg)
{
	char shown[600], d[512];
	int fd, r;

	if (pg) {
		if ((r = klic_ledger_open(l, ledger, KLIC_LEDGER_CREATE)) != 0) {
			klic_ledger_display(shown, sizeof shown, ledger);
			snprintf(d, sizeof d, "%s", klic_error_detail());
			r = klic_error_set(r, "%s: %s", shown, d);
		}
		return r;
	}
	/* Claim the ledger path exclusively, then let SQLite fill it. */
	fd = open(ledger, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return klic_error_set(errno == EEXIST ? KLIC_ERR_EXISTS : KLIC_ERR_IO, "%s: %s",
				      ledger, strerror(errno));
	*made = 1;
	close(fd);
	return klic_ledger_open(l, ledger, KLIC_LEDGER_CREATE);
}

/* init: the ledger's facts in one transaction.  A shared ledger keeps this
 * admin's key (and GNUPGHOME) in the state folder (*made_issuer set) and
 * is joined when it holds an org already. */
static int init_record(struct klic_ledger *l, const struct klic_admin_init_opts *o,
		       const char *fpr, const char *vfpr, const char *home, const char *created,
		       int *made_issuer)
{
	char org[KLIC_MAX_TEXT_LEN + 1];
	int r;

	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	if (klic_ledger_is_pg(l)) {
		if ((r = state_line_write(o->state, KLIC_ISSUER_FILE, fpr)) != 0)
			goto out;
		*made_issuer = 1;
		if (o->gnupghome != NULL &&
		    (r = state_line_write(o->state, KLIC_GNUPGHOME_FILE, home)) != 0)
			goto out;
		r = klic_ledger_meta_get(l, "org", org, sizeof org);
		if (r == 0) {
			if ((r = join_checks(l, o->org, vfpr)) != 0)
				goto out;
			return klic_ledger_commit(l);
		}
		if (r != KLIC_ERR_NOT_FOUND)
			goto out;
		klic_error_clear();
	}
	if ((r = klic_ledger_meta_set(l, "org", o->org)) != 0 ||
	    (r = klic_ledger_meta_set(l, "issuer_fpr", fpr)) != 0 ||
	    (r = klic_ledger_meta_set(l, "vendor_fpr", vfpr)) != 0 ||
	    (r = klic_ledger_meta_set(l, "created", created)) != 0 ||
	    (o->gnupghome != NULL && (r = klic_ledger_meta_set(l, "gnupghome", home)) != 0))
		goto out;
	return klic_ledger_commit(l);
out:
	klic_ledger_rollback(l);
	return r;
}

int klic_admin_init(char fpr_out[KLIC_FPR_HEX_LEN + 1], const struct klic_admin_init_opts *o)
{
	char ledger[4096], gnupg[4096], created[KLIC_TIME_LEN + 1], fpr[KLIC_FPR_HEX_LEN + 1];
	char vfpr[KLIC_FPR_HEX_LEN + 1], vpath[4096], ipath[4200];
	struct klic_keyring *kr = NULL;
	struct klic_ledger *l = NULL;
	uint8_t *vkey = NULL;
	size_t vkeylen = 0;
	int made_ledger = 0, made_vendor = 0, made_issuer = 0, pg, r;
	int64_t now = klic_now();

	fpr_out[0] = '\0';
	if (o->org == NULL || o->org[0] == '\0' || strlen(o->org) > KLIC_MAX_TEXT_LEN ||
	    !klic_is_printable(o->org, strlen(o->org)))
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "--org must be 1-200 printable ASCII characters");
	if (o->key_fpr != NULL && klic_fpr_check(o->key_fpr) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "--key must be a 40-hex upper-case fingerprint");
	if (o->key_fpr == NULL && (o->name == NULL || o->email == NULL))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "--name and --email are required");
	if (o->vendor == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "--vendor is required");
	if (o->key_fpr == NULL && (r = check_identity(o->name, o->email)) != 0)
		return r;
	if ((r = klic_ledger_where(ledger, sizeof ledger, o->state)) != 0 ||
	    (r = path_join(vpath, sizeof vpath, o->state, KLIC_VENDOR_FILE)) != 0 ||
	    (r = path_join(ipath, sizeof ipath, o->state, KLIC_ISSUER_FILE)) != 0)
		return r;
	pg = klic_db_is_pg(ledger);
	if (o->gnupghome != NULL)
		r = copy_path(gnupg, sizeof gnupg, o->gnupghome);
	else
		r = path_join(gnupg, sizeof gnupg, o->state, KLIC_GNUPG_DIR);
	if (r != 0)
		return r;
	if ((r = klic_mkdir_p(o->state, 0700)) != 0)
		return r;
	if (!pg && access(ledger, F_OK) == 0)
		return klic_error_set(KLIC_ERR_EXISTS,
				      "%s: a ledger already exists (refusing to re-init)", ledger);
	if (pg && access(ipath, F_OK) == 0)
		return klic_error_set(KLIC_ERR_EXISTS,
				      "%s: this state folder has joined a ledger already "
				      "(refusing to re-init)",
				      ipath);
	/* The vendor key first: one public key, read in a scratch keyring */
	if ((r = klic_vendor_key_load(vfpr, &vkey, &vkeylen, o->vendor)) != 0) {
		char d[512];
		snprintf(d, sizeof d, "%s", klic_error_detail());
		return klic_error_set(r, "--vendor %s: %s", o->vendor, d);
	}
	/* The issuer key first: nothing is recorded unless it exists. */
	if ((r = klic_keyring_open(&kr, gnupg, o->gnupghome == NULL)) != 0)
		goto out;
	if (o->passphrase_file != NULL &&
	    (r = klic_keyring_set_passphrase_file(kr, o->passphrase_file)) != 0)
		goto out;
	if (o->key_fpr != NULL) {
		if ((r = klic_key_can_sign(kr, o->key_fpr)) != 0) {
			if (r == KLIC_ERR_NOT_FOUND) {
				/* a refusal of the given key, not an I/O problem */
				char d[512];
				snprintf(d, sizeof d, "%s", klic_error_detail());
				r = klic_error_set(KLIC_ERR_KEY, "%s", d);
			}
			goto out;
		}
		memcpy(fpr, o->key_fpr, sizeof fpr);
	} else if ((r = klic_key_generate(kr, fpr, o->name, o->email)) != 0) {
		if (r == KLIC_ERR_INVALID_ARG) {
			/* the key's user ID was refused: name the options */
			char d[512];
			snprintf(d, sizeof d, "%s", klic_error_detail());
			r = klic_error_set(r, "--name/--email: %s", d);
		}
		goto out;
	}
	if (strcmp(fpr, vfpr) == 0) {
		r = klic_error_set(KLIC_ERR_KEY, "%s: the vendor key is the issuer key %s",
				   o->vendor, fpr);
		goto out;
	}
	if ((r = init_open(&l, &made_ledger, ledger, pg)) != 0)
		goto out;
	if ((r = klic_time_format(created, now)) != 0)
		goto out;
	if ((r = klic_write_atomic(vpath, vkey, vkeylen, 0644, 0)) != 0)
		goto out;
	made_vendor = 1;
	if ((r = init_record(l, o, fpr, vfpr, klic_keyring_home(kr), created, &made_issuer)) != 0)
		goto out;
	memcpy(fpr_out, fpr, KLIC_FPR_HEX_LEN + 1);
	made_ledger = made_vendor = made_issuer = 0; /* keep them */
	r = 0;
out:
	klic_ledger_free(l);
	if (made_ledger)
		unlink_ledger(ledger);
	if (made_vendor)
		(void)unlink(vpath);
	if (made_issuer) {
		char gpath[4200];
		(void)unlink(ipath);
		if (path_join(gpath, sizeof gpath, o->state, KLIC_GNUPGHOME_FILE) == 0)
			(void)unlink(gpath);
	}
	free(vkey);
	klic_keyring_free(kr);
	return r;
}

int klic_admin_ledger_migrate(const char *state, const char *to, int64_t *rows,
			      int64_t *audit_rows, char *shown, size_t shownsz)
{
	struct klic_ledger *src = NULL, *dst = NULL;
	char from[4096], from_shown[4200], fpr[KLIC_FPR_HEX_LEN + 1], home[4096];
	int r;

	*rows = 0;
	*audit_rows = 0;
	klic_ledger_display(shown, shownsz, to);
	if ((r = klic_ledger_where(from, sizeof from, state)) != 0)
		return r;
	klic_ledger_display(from_shown, sizeof from_shown, from);
	if (strcmp(from, to) == 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "--to names the ledger itself");
	if ((r = klic_ledger_open(&src, from, 0)) != 0) {
		char d[512];
		snprintf(d, sizeof d, "%s", klic_error_detail());
		return klic_error_set(r, "%s: %s", from_shown, d);
	}
	if ((r = klic_ledger_meta_get(src, "issuer_fpr", fpr, sizeof fpr)) != 0)
		goto out;
	if ((r = klic_ledger_open(&dst, to, KLIC_LEDGER_CREATE)) != 0)
		goto out;
	if ((r = klic_ledger_copy(dst, src, rows, audit_rows)) != 0)
		goto out;
	if (klic_ledger_is_pg(dst)) {
		/* this admin keeps its key (and GNUPGHOME) on the shared ledger */
		if ((r = state_line_write(state, KLIC_ISSUER_FILE, fpr)) != 0)
			goto out;
		if (klic_ledger_meta_get(src, "gnupghome", home, sizeof home) == 0 &&
		    (r = state_line_write(state, KLIC_GNUPGHOME_FILE, home)) != 0)
			goto out;
		klic_error_clear();
	}
	r = 0;
out:
	klic_ledger_free(dst);
	klic_ledger_free(src);
	return r;
}

int klic_admin_open(struct klic_admin **out, const char *state, const char *gnupghome,
		    const char *passphrase_file)
{
	struct klic_admin *a = NULL;
	char recorded[4096];
	int r;

	*out = NULL;
	a = calloc(1, sizeof *a);
	if (a == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "admin");
	a->passphrase_file = passphrase_file;
	if ((r = copy_path(a->state, sizeof a->state, state)) != 0 ||
	    (r = klic_ledger_where(a->ledger_where, sizeof a->ledger_where, state)) != 0)
		goto out;
	klic_ledger_display(a->ledger_path, sizeof a->ledger_path, a->ledger_where);
	if ((r = klic_ledger_open(&a->ledger, a->ledger_where, 0)) != 0)
		goto out;
	if ((r = klic_ledger_meta_get(a->ledger, "org", a->org, sizeof a->org)) != 0)
		goto out;
	/* a shared ledger: this admin's key is its state folder's (init) */
	if ((r = state_line(a->issuer_fpr, sizeof a->issuer_fpr, state, KLIC_ISSUER_FILE)) < 0)
		goto out;
	if (r == 0 && klic_ledger_is_pg(a->ledger)) {
		r = klic_error_set(KLIC_ERR_NOT_FOUND,
				   "%s/%s: this state folder has not joined the ledger (run "
				   "klic-admin --ledger URL init)",
				   state, KLIC_ISSUER_FILE);
		goto out;
	}
	if (r == 1 && klic_fpr_check(a->issuer_fpr) != 0) {
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "%s/%s: not a fingerprint", state,
				   KLIC_ISSUER_FILE);
		goto out;
	}
	if (r == 0 && (r = klic_ledger_meta_get(a->ledger, "issuer_fpr", a->issuer_fpr,
						 sizeof a->issuer_fpr)) != 0)
		goto out;
	klic_ledger_set_issuer(a->ledger, a->issuer_fpr);
	if ((r = state_line(recorded, sizeof recorded, state, KLIC_GNUPGHOME_FILE)) < 0)
		goto out;
	if (gnupghome != NULL)
		r = copy_path(a->gnupghome, sizeof a->gnupghome, gnupghome);
	else if (r == 1)
		r = copy_path(a->gnupghome, sizeof a->gnupghome, recorded);
	else if (!klic_ledger_is_pg(a->ledger) &&
		 klic_ledger_meta_get(a->ledger, "gnupghome", recorded, sizeof recorded) == 0)
		r = copy_path(a->gnupghome, sizeof a->gnupghome, recorded);
	else {
		klic_error_clear();
		r = path_join(a->gnupghome, sizeof a->gnupghome, state, KLIC_GNUPG_DIR);
	}
	if (r != 0)
		goto out;
	if ((r = klic_keyring_open(&a->kr, a->gnupghome, 0)) != 0)
		goto out;
	if (passphrase_file != NULL &&
	    (r = klic_keyring_set_passphrase_file(a->kr, passphrase_file)) != 0)
		goto out;
	if (klic_ledger_meta_get(a->ledger, "vendor_fpr", a->vendor_fpr, sizeof a->vendor_fpr) != 0)
		a->vendor_fpr[0] = '\0'; /* a ledger older than protocol version 2 */
	klic_error_clear();
	if ((r = klic_members_open(a)) != 0)
		goto out;
	*out = a;
	a = NULL; /* transferred */
	r = 0;
out:
	klic_admin_free(a);
	return r;
}

void klic_admin_free(struct klic_admin *a)
{
	if (a == NULL)
		return;
	klic_ledger_free(a->ledger);
	klic_keyring_free(a->kr);
	klic_keyring_free(a->members);
	free(a);
}

int klic_admin_export_key(struct klic_admin *a, uint8_t **out, size_t *outlen)
{
	return klic_key_export(a->kr, out, outlen, a->issuer_fpr, 1);
}

/* ---- scratch keyring ------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	(void)remove(path);
	return 0;
}

/* Stop a gpg-agent that gpg may have started for the scratch home, then
 * remove the directory.  posix_spawnp, no shell. */
void klic_scratch_remove(const char *dir)
{
	char sock[4200];
	struct stat st;

	if (snprintf(sock, sizeof sock, "%s/S.gpg-agent", dir) < (int)sizeof sock &&
	    lstat(sock, &st) == 0) {
		char *argv[] = {(char *)(uintptr_t) "gpgconf", (char *)(uintptr_t) "--homedir",
				(char *)(uintptr_t)dir,        (char *)(uintptr_t) "--kill",
				(char *)(uintptr_t) "all",     NULL};
		pid_t pid;
		int status;
		if (posix_spawnp(&pid, "gpgconf", NULL, NULL, argv, environ) == 0)
			(void)waitpid(pid, &status, 0);
	}
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int klic_verify_with_embedded_key(const uint8_t *key, size_t keylen, const char *expected_fpr,
				  const uint8_t *sig, size_t siglen, const uint8_t *data,
				  size_t len)
{
	char dir[] = "/tmp/klic-XXXXXX";
	char fpr[KLIC_FPR_HEX_LEN + 1];
	struct klic_keyring *kr = NULL;
	int made = 0, r;

	if (mkdtemp(dir) == NULL)
		return klic_error_set(KLIC_ERR_IO, "scratch keyring: %s", strerror(errno));
	made = 1;
	if ((r = klic_keyring_open(&kr, dir, KLIC_KEYRING_VERIFY_ONLY)) != 0)
		goto out;
	if ((r = klic_key_import(kr, fpr, key, keylen)) != 0)
		goto out;
	if (strcmp(fpr, expected_fpr) != 0) {
		r = klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "embedded key %s is not %s", fpr,
				   expected_fpr);
		goto out;
	}
	r = klic_verify_pinned(kr, sig, siglen, data, len, expected_fpr);
out:
	klic_keyring_free(kr);
	if (made)
		klic_scratch_remove(dir);
	return r;
}

/* ---- member add ----------------------------------------------------------- */

static int member_register(struct klic_admin *a, char fpr[KLIC_FPR_HEX_LEN + 1],
			   char uid[KLIC_MAX_UID_LEN + 1], int *added, const uint8_t *key,
			   size_t keylen, const char *expect_fpr, klic_member_ask_fn ask, void *ctx)
{
	char ifpr[KLIC_FPR_HEX_LEN + 1], name[KLIC_MAX_UID_LEN + 1], email[KLIC_MAX_UID_LEN + 1];
	int r;

	if ((r = klic_key_inspect(a->members, fpr, uid, key, keylen)) != 0)
		return r;
	if (expect_fpr != NULL && strcmp(fpr, expect_fpr) != 0)
		return klic_error_set(KLIC_ERR_MISMATCH,
				      "embedded key is %s, requester_fpr says %s", fpr, expect_fpr);
	if (strcmp(fpr, a->issuer_fpr) == 0)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY,
				      "%s is the issuer's own key; it can never be a member", fpr);
	size_t at;
	if (klic_utf8_text_check(uid, strlen(uid), &at) != 0)
		return klic_error_set(
		    KLIC_ERR_KEY, "%s: user ID is not UTF-8 text without control characters", fpr);
	/* the admin accepts the key before anything is written (not asked
	 * again for a member) */
	if (ask != NULL) {
		r = klic_ledger_is_member(a->ledger, fpr);
		if (r == KLIC_ERR_NOT_FOUND) {
			klic_error_clear();
			r = ask(ctx, fpr, uid);
		}
		if (r != 0)
			return r;
	}
	/* into the members' keyring, never the issuer's */
	if ((r = klic_key_import(a->members, ifpr, key, keylen)) != 0)
		return r;
	if (strcmp(ifpr, fpr) != 0)
		return klic_error_set(KLIC_ERR_KEY, "imported %s, expected %s", ifpr, fpr);
	klic_uid_split(name, sizeof name, email, sizeof email, uid);
	return klic_ledger_member_add(a->ledger, added, fpr, name, email, klic_now());
}

static int add_key(struct klic_admin *a, char fpr[KLIC_FPR_HEX_LEN + 1],
		   char uid[KLIC_MAX_UID_LEN + 1], int *added, const char *path,
		   klic_member_ask_fn ask, void *ctx)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_KEY_BYTES * 4)) != 0)
		return r;
	r = member_register(a, fpr, uid, added, buf, len, NULL, ask, ctx);
	free(buf);
	return r;
}

static int add_request(struct klic_admin *a, char fpr[KLIC_FPR_HEX_LEN + 1],
		       char uid[KLIC_MAX_UID_LEN + 1], int *added, const char *path,
		       klic_member_ask_fn ask, void *ctx)
{
	struct klic_opened_request rq;
	int r;

	if ((r = klic_request_open(&rq, path)) != 0)
		goto out;
	if ((r = klic_verify_with_embedded_key(rq.key->data, rq.key->len, rq.req.requester_fpr,
					       rq.sig->data, rq.sig->len, rq.man->data,
					       rq.man->len)) != 0)
		goto out;
	r = member_register(a, fpr, uid, added, rq.key->data, rq.key->len, rq.req.requester_fpr,
			    ask, ctx);
out:
	klic_opened_request_dispose(&rq);
	return r;
}

int klic_admin_member_add_ask(struct klic_admin *a, char fpr[KLIC_FPR_HEX_LEN + 1],
			      char uid[KLIC_MAX_UID_LEN + 1], int *added, const char *path,
			      int from_request, klic_member_ask_fn ask, void *ctx)
{
	*added = 0;
	fpr[0] = uid[0] = '\0';
	return from_request ? add_request(a, fpr, uid, added, path, ask, ctx)
			    : add_key(a, fpr, uid, added, path, ask, ctx);
}

int klic_admin_member_add_key(struct klic_admin *a, char fpr[KLIC_FPR_HEX_LEN + 1],
			      char uid[KLIC_MAX_UID_LEN + 1], int *added, const char *path)
{
	return klic_admin_member_add_ask(a, fpr, uid, added, path, 0, NULL, NULL);
}

int klic_admin_member_add_request(struct klic_admin *a, char fpr[KLIC_FPR_HEX_LEN + 1],
				  char uid[KLIC_MAX_UID_LEN + 1], int *added, const char *path)
{
	return klic_admin_member_add_ask(a, fpr, uid, added, path, 1, NULL, NULL);
}

/* ---- member remove ---------------------------------------------------------- */

struct keep_ctx {
	struct klic_keyring *from, *to;
	const char *drop;
};

/* Copy one remaining member's key into the new members' keyring. */
static int keep_member(void *vctx, const struct klic_member_info *m)
{
	struct keep_ctx *c = vctx;
	char got[KLIC_FPR_HEX_LEN + 1];
	uint8_t *key = NULL;
	size_t len = 0;
	int r;

	if (strcmp(m->fpr, c->drop) == 0)
		return 0;
	if (klic_key_export(c->from, &key, &len, m->fpr, 0) != 0) {
		/* not in the keyring: its requests could not verify before
		 * either (klic_members_open) */
		klic_error_clear();
		return 0;
	}
	r = klic_key_import(c->to, got, key, len);
	free(key);
	return r;
}

int klic_admin_member_remove(struct klic_admin *a, char uid[KLIC_MAX_UID_LEN + 1], const char *fpr,
			     klic_member_ask_fn ask, void *ctx)
{
	struct keep_ctx c = {a->members, NULL, fpr};
	struct klic_member_info m;
	char path[4200], tmp[4200];
	int made = 0, r;

	uid[0] = '\0';
	if ((r = klic_ledger_member_get(a->ledger, &m, fpr)) != 0)
		return r;
	if ((r = klic_ledger_member_name(a->ledger, uid, KLIC_MAX_UID_LEN + 1, fpr)) != 0)
		return r;
	if (ask != NULL && (r = ask(ctx, fpr, uid)) != 0)
		return r;
	if (snprintf(path, sizeof path, "%s/%s", a->state, KLIC_MEMBERS_DIR) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s/.%s-XXXXXX", a->state, KLIC_MEMBERS_DIR) >=
		(int)sizeof tmp)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: path too long", a->state);
	/* the members' keyring without the key, made aside ... */
	if (mkdtemp(tmp) == NULL)
		return klic_error_set(KLIC_ERR_IO, "%s: %s", tmp, strerror(errno));
	made = 1;
	if ((r = klic_keyring_open(&c.to, tmp, KLIC_KEYRING_VERIFY_ONLY)) != 0 ||
	    (r = klic_ledger_member_list(a->ledger, keep_member, &c)) != 0)
		goto out;
	klic_keyring_free(c.to);
	c.to = NULL;
	/* ... then the row and its audit event (from here on its requests
	 * are denied not-member, whatever the keyring holds) ... */
	if ((r = klic_ledger_member_remove(a->ledger, fpr, klic_now())) != 0)
		goto out;
	/* ... then the new keyring takes the place of the old one in one
	 * step; the old one is removed */
	klic_keyring_free(a->members);
	a->members = NULL;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) != 0) {
		r = klic_error_set(KLIC_ERR_IO,
				   "%s: %s (the member is removed from the ledger; its key is "
				   "still in this keyring)",
				   path, strerror(errno));
		(void)klic_members_open(a);
		goto out;
	}
	/* the new keyring, for what this process does next (the web console
	 * issues after a removal without starting again) */
	r = klic_members_open(a);
out:
	klic_keyring_free(c.to);
	if (made)
		klic_scratch_remove(tmp);
	return r;
}
