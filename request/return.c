/* klic — klic return (spec 3.8, 5.11): give licenses back.  Under the
 * license folder's lock, every license returned is checked as install and
 * status check it; then the receipt is made and the files deleted in the
 * crash-safe order of 5.11: a kill at any point leaves either the licenses
 * in place and no receipt, or the licenses refused here (the returned
 * list) with the receipt's temporary file or the receipt itself. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_lock.h"
#include "klic_return.h"
#include "request_int.h"

static int io_err(const char *path, const char *what)
{
	return klic_error_set(KLIC_ERR_IO, "%s: %s: %s", path, what, strerror(errno));
}

/* The folder of path (".", "/" or what is before the last '/'), and its
 * base name. */
static int split_dir(char dir[KLIC_PATH_MAX], const char **base, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dl;

	if (slash == NULL) {
		snprintf(dir, KLIC_PATH_MAX, ".");
		*base = path;
	} else {
		dl = slash == path ? 1 : (size_t)(slash - path);
		if (dl >= KLIC_PATH_MAX)
			return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: path too long", path);
		memcpy(dir, path, dl);
		dir[dl] = '\0';
		*base = slash + 1;
	}
	if ((*base)[0] == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: not a file name", path);
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return io_err(dir, "open");
	if (fsync(fd) != 0)
		r = io_err(dir, "fsync");
	(void)close(fd);
	return r;
}

/* A license file named on the command line must be in the license folder:
 * the one install wrote it to and status lists. */
static int in_licdir(const struct klic_user *u, const char *file)
{
	char dir[KLIC_PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	const char *base;
	int r;

	if ((r = split_dir(dir, &base, file)) != 0)
		return r;
	if (realpath(dir, a) == NULL)
		return io_err(file, "folder");
	if (realpath(u->licdir, b) == NULL)
		return io_err(u->licdir, "license folder");
	if (strcmp(a, b) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "not in the license folder %s",
				      u->licdir);
	return 0;
}

/* The chain to the vendor of each license, as install checks it: against
 * vendor_file, else the product's installed key; with neither, not checked
 * (res->chain_checked 0, as install says). */
static int check_chains(struct klic_return_result *res, const struct klic_renewal *rn,
			const char *mid, int64_t now, int64_t trusted, const char *vendor_file,
			char *bad, size_t badsz)
{
	struct klic_chain_result *cr = NULL;
	struct klic_chain *c = NULL;
	int r, absent = 0;

	r = klic_user_chain_open(&c, res->vendor_src, &absent, vendor_file, rn->product);
	if (r != 0 && absent && vendor_file == NULL) {
		klic_error_clear();
		return 0;
	}
	if (r != 0)
		return r;
	if ((cr = malloc(sizeof(*cr))) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "chain check");
		goto out;
	}
	for (unsigned i = 0; i < rn->n; i++) {
		r = klic_chain_check_file(c, cr, res->files[i], NULL, mid, now, trusted);
		if (r != 0) {
			(void)klic_printable_copy(bad, badsz, res->files[i], SIZE_MAX);
			goto out;
		}
	}
	res->chain_checked = 1;
out:
	free(cr);
	klic_chain_free(c);
	return r;
}

/* The signed receipt of rn's licenses, by the user's key. */
static int make_receipt(struct klic_user *u, struct klic_return_result *res,
			const struct klic_renewal *rn, const char *mid, int64_t now, uint8_t **doc,
			size_t *dlen)
{
	struct klic_kret *k = &res->kret;
	struct klic_lic_parts parts;
	uint8_t nonce[32];
	char *body = NULL;
	size_t blen = 0;
	int r;

	memset(k, 0, sizeof(*k));
	memcpy(k->product, rn->product, sizeof(k->product));
	memcpy(k->machine_id, mid, sizeof(k->machine_id));
	k->n_ids = rn->n;
	for (unsigned i = 0; i < rn->n; i++)
		memcpy(k->license_ids[i], rn->ids[i], sizeof(k->license_ids[i]));
	k->created = now;
	if ((r = klic_user_open_keyring(u, 0)) != 0)
		return r;
	if ((r = klic_key_secret_fpr(u->kr, k->member_fpr)) != 0)
		return r == KLIC_ERR_NOT_FOUND
			   ? klic_error_set(r, "no secret key in %s (run 'klic init')",
					    u->gnupghome)
			   : r;
	if ((r = klic_random(nonce, sizeof(nonce))) != 0)
		return r;
	klic_hex(k->nonce, nonce, sizeof(nonce));
	if ((r = klic_kret_body_build(&body, &blen, k)) != 0 ||
	    (r = klic_kret_body_parse(k, (const uint8_t *)body, blen)) != 0 ||
	    (r = klic_sign_clear(u->kr, doc, dlen, k->member_fpr, (const uint8_t *)body, blen)) !=
		0)
		goto out;
	/* what is handed out must split back into exactly the body built */
	if ((r = klic_kret_split(&parts, *doc, *dlen)) != 0)
		goto out;
	if (parts.body_len != blen || memcmp(parts.body, body, blen) != 0)
		r = klic_error_set(KLIC_ERR_INTERNAL, "signed receipt differs from its body");
	else
		r = klic_sha256_hex(res->digest, *doc, *dlen);
out:
	free(body);
	return r;
}

/* Step 1 of 5.11: the receipt in a hidden temporary file beside out_path
 * (".NAME.tmp.PID.XXXXXX", what klic_sweep_stale() knows), fsynced. */
static int write_temp(char tmp[KLIC_PATH_MAX], const char *dir, const char *base,
		      const uint8_t *doc, size_t len)
{
	char name[NAME_MAX + 1];
	uint8_t rnd[3];
	char sfx[7];
	size_t off = 0;
	int fd, r, n;

	if ((r = klic_random(rnd, sizeof(rnd))) != 0)
		return r;
	klic_hex(sfx, rnd, sizeof(rnd));
	n = snprintf(name, sizeof(name), ".%s.tmp.%ld.%s", base, (long)getpid(), sfx);
	if (n < 0 || n >= (int)sizeof(name) || klic_rq_path(tmp, dir, name) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: name too long", base);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return io_err(tmp, "create");
	while (off < len) {
		ssize_t w = write(fd, doc + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = io_err(tmp, "write");
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		r = io_err(tmp, "fsync");
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = io_err(tmp, "close");
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		(void)close(fd);
	(void)unlink(tmp);
	tmp[0] = '\0';
	return r;
}

/* Steps 2-4 of 5.11, once the receipt's temporary file is on disk. */
static int commit_return(struct klic_user *u, struct klic_return_result *res,
			 const struct klic_renewal *rn, char *tmp, const char *outdir)
{
	int r;

	/* 2: refused here from now on */
	if ((r = klic_returned_add(u->home, rn->ids, rn->n)) != 0)
		return r;
	/* 3: the license files go */
	for (unsigned i = 0; i < rn->n; i++)
		if (unlink(res->files[i]) != 0 && errno != ENOENT)
			return io_err(res->files[i], "delete");
	if ((r = fsync_dir(u->licdir)) != 0)
		return r;
	/* 4: the receipt appears (never over another file) */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, res->out_path, RENAME_NOREPLACE) != 0) {
		if (errno != EINVAL && errno != ENOSYS)
			return io_err(res->out_path, "rename");
		if (link(tmp, res->out_path) != 0)
			return io_err(res->out_path, "link");
		(void)unlink(tmp);
	}
	tmp[0] = '\0'; /* renamed: nothing left behind */
	return fsync_dir(outdir);
}

/* rn's licenses (and their paths in res->files) in ascending ID order,
 * the order of the receipt's license_ids. */
static void sort_licenses(struct klic_renewal *rn, struct klic_return_result *res)
{
	char id[33], file[KLIC_MAX_NAME_LEN + 1], path[KLIC_PATH_MAX];

	for (unsigned i = 1; i < rn->n; i++)
		for (unsigned j = i; j > 0 && strcmp(rn->ids[j - 1], rn->ids[j]) > 0; j--) {
			memcpy(id, rn->ids[j], sizeof(id));
			memcpy(rn->ids[j], rn->ids[j - 1], sizeof(id));
			memcpy(rn->ids[j - 1], id, sizeof(id));
			memcpy(file, rn->files[j], sizeof(file));
			memcpy(rn->files[j], rn->files[j - 1], sizeof(file));
			memcpy(rn->files[j - 1], file, sizeof(file));
			memcpy(path, res->files[j], sizeof(path));
			memcpy(res->files[j], res->files[j - 1], sizeof(path));
			memcpy(res->files[j - 1], path, sizeof(path));
		}
}

/* Checked before anything is made: the licenses, the clock, the chain. */
static int collect(struct klic_user *u, struct klic_return_result *res, struct klic_renewal *rn,
		   char *bad, size_t badsz, const char *product, const char *const *files,
		   size_t nfiles, const char *vendor_file, const char *mid, int64_t now)
{
	int64_t trusted = 0;
	int r;

	for (size_t i = 0; i < nfiles; i++)
		if ((r = in_licdir(u, files[i])) != 0) {
			(void)klic_printable_copy(bad, badsz, files[i], SIZE_MAX);
			return r;
		}
	if ((r = klic_user_renewal_collect(u, rn, bad, badsz, product, files, nfiles)) != 0)
		return r;
	if (rn->n == 0) {
		(void)klic_printable_copy(bad, badsz, u->licdir, SIZE_MAX);
		return klic_error_set(KLIC_ERR_NOT_FOUND, "no valid %s license of this machine",
				      product != NULL ? product : "");
	}
	for (unsigned i = 0; i < rn->n; i++)
		if ((r = klic_rq_path(res->files[i], u->licdir, rn->files[i])) != 0)
			return r;
	sort_licenses(rn, res);
	if ((r = klic_clock_read(&trusted, u->home)) != 0 ||
	    (r = klic_clock_rule(now, trusted)) != 0)
		return r;
	return check_chains(res, rn, mid, now, trusted, vendor_file, bad, badsz);
}

/* A failure after the receipt's temporary file was made: while none of
 * the licenses is refused here yet (step 2 did not happen), nothing
 * changed and the file goes; after it, the file is the only record of the
 * licenses given back and stays, its path added to the error's detail. */
static void keep_or_drop(const struct klic_user *u, const struct klic_renewal *rn, int r,
			 const char *tmp)
{
	char d[512];
	int kept = 0;

	(void)snprintf(d, sizeof(d), "%s", klic_error_detail());
	for (unsigned i = 0; rn != NULL && i < rn->n && !kept; i++)
		if (klic_returned_has(u->home, rn->ids[i], &kept) != 0)
			kept = 1; /* cannot tell: keep it */
	if (!kept) {
		(void)unlink(tmp);
		(void)klic_error_set(r, "%s", d);
		return;
	}
	(void)klic_error_set(r, "%s (the signed receipt is kept at %s: give it to your admin)", d,
			     tmp);
}

int klic_user_return(struct klic_user *u, struct klic_return_result *res, char *bad, size_t badsz,
		     const char *product, const char *const *files, size_t nfiles,
		     const char *out_path, const char *vendor_file)
{
	char mid[KLIC_MACHINE_ID_LEN + 1], outdir[KLIC_PATH_MAX], tmp[KLIC_PATH_MAX] = "";
	struct klic_renewal *rn = NULL;
	uint8_t *doc = NULL;
	size_t dlen = 0;
	const char *base;
	int lock_fd = -1, r, exists;
	int64_t now;

	memset(res, 0, sizeof(*res));
	if (bad != NULL && badsz > 0)
		bad[0] = '\0';
	if (out_path == NULL || strcmp(out_path, "-") == 0 ||
	    snprintf(res->out_path, sizeof(res->out_path), "%s", out_path) >=
		(int)sizeof(res->out_path))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "-o FILE.kret: a file");
	if ((r = split_dir(outdir, &base, out_path)) != 0 ||
	    (r = klic_rq_exists(out_path, &exists)) != 0)
		return r;
	if (exists)
		return klic_error_set(KLIC_ERR_EXISTS, "%s exists (a receipt is never overwritten)",
				      out_path);
	if ((rn = calloc(1, sizeof(*rn))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "return");
	/* the license folder's lock, from before it is read until the last
	 * file is deleted (spec 5.6) */
	if ((r = klic_license_lock(&lock_fd, u)) != 0)
		goto out;
	now = klic_now();
	if ((r = klic_this_machine_id(mid)) != 0 ||
	    (r = collect(u, res, rn, bad, badsz, product, files, nfiles, vendor_file, mid, now)) !=
		0)
		goto out;
	if ((r = make_receipt(u, res, rn, mid, now, &doc, &dlen)) != 0 ||
	    (r = write_temp(tmp, outdir, base, doc, dlen)) != 0) {
		(void)klic_printable_copy(bad, badsz, out_path, SIZE_MAX);
		goto out;
	}
	if ((r = commit_return(u, res, rn, tmp, outdir)) != 0)
		(void)klic_printable_copy(bad, badsz, out_path, SIZE_MAX);
out:
	if (r != 0 && tmp[0] != '\0')
		keep_or_drop(u, rn, r, tmp);
	klic_license_unlock(lock_fd);
	free(doc);
	free(rn);
	return r;
}
