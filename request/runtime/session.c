/* klic — session seats (libklic, klic_session_open(3)): how many sessions
 * of a product may run on this machine now.  Every valid license ID of the
 * product in the folder is one seat; a session holds one by binding the
 * abstract Unix socket "\0klic-session/<license_id>" (one name per license
 * on the machine, whoever's folder the file is in; the kernel frees it when
 * the process ends, however it ends). */
#define KLIC_BUILDING_RUNTIME 1

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_int.h"

#include "klic.h"
#include "rt_int.h"

#define SESSION_MAX_IDS 256 /* distinct license IDs counted in one folder */

struct klic_session {
	int fd;
};

/* The valid licenses found: distinct IDs with the info of the first file. */
struct seats {
	size_t n;
	struct klic_license_info lic[SESSION_MAX_IDS];
};

static void session_name(struct sockaddr_un *sa, socklen_t *len, const char *license_id)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* sun_path[0] == '\0': the abstract namespace, no file */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "klic-session/%s", license_id);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* 1: this license's seat is held by a session (its socket listens). */
static int seat_taken(const char *license_id)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd, r, taken;

	session_name(&sa, &len, license_id);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return 1; /* cannot tell: never count a seat free that may not be */
	r = connect(fd, (struct sockaddr *)&sa, len);
	taken = r == 0 || errno == EAGAIN || errno == EINPROGRESS;
	close(fd);
	return taken;
}

/* Take the seat: 0 with the bound socket in *fd, 1 when it is held. */
static int seat_take(int *fd, const char *license_id)
{
	struct sockaddr_un sa;
	socklen_t len;
	int s;

	*fd = -1;
	session_name(&sa, &len, license_id);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return klic_error_set(KLIC_ERR_IO, "session socket: %s", strerror(errno));
	if (bind(s, (struct sockaddr *)&sa, len) != 0) {
		int e = errno;
		close(s);
		if (e == EADDRINUSE)
			return 1;
		return klic_error_set(KLIC_ERR_IO, "session lock for %s: %s", license_id,
				      strerror(e));
	}
	/* listening lets another process see the seat is held (seat_taken) */
	if (listen(s, 1) != 0) {
		close(s);
		return klic_error_set(KLIC_ERR_IO, "session lock: listen: %s", strerror(errno));
	}
	*fd = s;
	return 0;
}

static int product_file(const char *name, const char *product)
{
	size_t n = strlen(product);
	return klic_is_license_name(name) && strncmp(name, product, n) == 0 && name[n] == '_';
}

/* Check every PRODUCT_*.lic of dir into seats; the first refusal's code
 * and "FILE: detail" in *first / info->detail. */
static int folder_check(struct seats *st, struct klic_session_info *info, int *first,
			struct klic_chain *c, const char *dir, const char *product, int64_t trusted)
{
	char mid[KLIC_MACHINE_ID_LEN + 1], path[KLIC_PATH_MAX], d[KLIC_INFO_DETAIL_SIZE];
	struct klic_chain_result *res = NULL;
	struct dirent **ents = NULL;
	int64_t now = klic_now();
	int n, r;

	*first = 0;
	if ((r = klic_this_machine_id(mid)) != 0)
		return r;
	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0)
		return klic_error_set(errno == ENOENT ? KLIC_ERR_NOT_FOUND : KLIC_ERR_IO, "%s: %s",
				      dir, strerror(errno));
	if ((res = malloc(sizeof(*res))) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "sessions");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		size_t k;

		if (!product_file(name, product) || klic_rq_path(path, dir, name) != 0)
			continue;
		info->files_checked++;
		r = klic_chain_check_file(c, res, path, name, mid, now, trusted);
		if (r != 0) {
			info->files_invalid++;
			if (*first == 0) {
				*first = r;
				klic_rt_detail(d, sizeof(d));
				snprintf(info->detail, sizeof(info->detail), "%.*s: %.400s", 64, name, d);
			}
			continue;
		}
		for (k = 0; k < st->n; k++)
			if (strcmp(st->lic[k].license_id, res->lic.license_id) == 0)
				break;
		if (k == st->n && st->n < SESSION_MAX_IDS)
			klic_rt_info_fill(&st->lic[st->n++], res);
	}
	r = 0;
out:
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	free(res);
	return r;
}

/* Hold the first free seat: 0, or KLIC_ERR_QUOTA. */
static int seats_take(struct klic_session *s, struct klic_session_info *info,
		      const struct seats *st, const char *product)
{
	size_t held = st->n, taken = 0;
	int r;

	for (size_t i = 0; i < st->n; i++) {
		if (held < st->n) {
			taken += (size_t)seat_taken(st->lic[i].license_id);
			continue;
		}
		if ((r = seat_take(&s->fd, st->lic[i].license_id)) < 0)
			return r;
		if (r == 1)
			taken++;
		else
			held = i;
	}
	info->sessions_total = (unsigned)st->n;
	info->sessions_in_use = (unsigned)(taken + (held < st->n));
	if (held == st->n)
		return klic_error_set(KLIC_ERR_QUOTA,
				      "quota exceeded: %zu license%s of %s on this machine, all in "
				      "use",
				      st->n, st->n == 1 ? "" : "s", product);
	info->license = st->lic[held];
	return 0;
}

KLIC_API int klic_session_open(struct klic_session **out, struct klic_session_info *info,
			       const char *product, const char *license_dir,
			       const char *const *vendor_keys, size_t n_vendor_keys)
{
	char home[KLIC_PATH_MAX], dir[KLIC_PATH_MAX];
	struct klic_chain *c = NULL;
	struct klic_session *s = NULL;
	struct seats *st = NULL;
	int64_t trusted = 0;
	int r, first = 0, have_home, unknown = 1;

	if (out == NULL || info == NULL)
		return KLIC_ERR_INVALID_ARG;
	*out = NULL;
	memset(info, 0, sizeof(*info));
	klic_error_clear();
	if (product == NULL || klic_product_check(product) != 0) {
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "product must be KRE or KSE");
		goto out;
	}
	have_home = klic_rt_home(home, NULL) == 0;
	klic_error_clear();
	if (license_dir != NULL)
		r = license_dir[0] != '\0' && strlen(license_dir) < sizeof(dir)
			? (snprintf(dir, sizeof(dir), "%s", license_dir), 0)
			: KLIC_ERR_INVALID_ARG;
	else
		r = have_home ? klic_home_license_dir(dir, klic_host_os(), home) : KLIC_ERR_NOT_FOUND;
	if (r != 0) {
		r = klic_error_set(r, "no license folder (give one, or set KLIC_HOME)");
		goto out;
	}
	snprintf(info->license_dir, sizeof(info->license_dir), "%s", dir);
	if ((st = calloc(1, sizeof(*st))) == NULL || (s = calloc(1, sizeof(*s))) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "session");
		goto out;
	}
	s->fd = -1;
	r = 0;
	klic_rt_clock(&trusted, &unknown, &r, have_home ? home : NULL);
	if (r != 0 || (r = klic_keys_init()) != 0)
		goto out;
	if ((r = klic_rt_chain_new(&c, vendor_keys, n_vendor_keys)) != 0) {
		/* gpg refuses keys "made in the future" of a clock set back */
		if (r == KLIC_ERR_KEY && klic_clock_rule(klic_now(), trusted) != 0)
			r = klic_clock_rule(klic_now(), trusted);
		goto out;
	}
	if ((r = folder_check(st, info, &first, c, dir, product, trusted)) != 0)
		goto out;
	if (st->n == 0) {
		r = first != 0 ? klic_error_set(first, "%s", info->detail)
			       : klic_error_set(KLIC_ERR_NOT_FOUND, "no %s_*.lic license in %s",
						product, dir);
		goto out;
	}
	if ((r = seats_take(s, info, st, product)) != 0)
		goto out;
	info->license.clock_unknown = unknown;
	if (have_home)
		(void)klic_clock_update(home, klic_now()); /* best effort */
	klic_error_clear();
	info->detail[0] = '\0';
	*out = s;
	s = NULL; /* transferred */
out:
	if (r != 0)
		klic_rt_detail(info->detail, sizeof(info->detail));
	if (s != NULL && s->fd >= 0)
		close(s->fd);
	free(s);
	free(st);
	klic_chain_free(c);
	return r;
}

KLIC_API void klic_session_close(struct klic_session *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}
