/* klic response/ — `klic-admin serve`: the libmicrohttpd server of the web
 * console (serve.h).  One thread answers every request, so the session and
 * the ledger are used from that thread only.  Order of the checks: the
 * login URL; then a session cookie (else 403); for a POST the Origin header
 * (else 403), the size caps while the body arrives (else 413) and the
 * form's CSRF token (else 403); then the page. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "klic_error.h"
#include "klic_util.h"
#include "response_int.h" /* klic_ledger_read_cache */
#include "serve_int.h"

#define SESSION_COOKIE "klic_session"
/* the ledger pages the server keeps in memory (a 1,000,000-license list
 * walks about 200 MiB of indexes; tests/bench/web.sh) */
#define SERVE_LEDGER_CACHE_MIB 256

int klic_serve_parse_listen(void *sockaddr_out, unsigned *socklen_out, const char *spec)
{
	char host[64];
	const char *colon, *hs, *he;
	unsigned long port;
	char *end;

	if (spec[0] == '[') { /* [::1]:PORT */
		hs = spec + 1;
		if ((he = strchr(hs, ']')) == NULL || he[1] != ':')
			return klic_error_set(KLIC_ERR_INVALID_ARG,
					      "--listen %s: expected ADDRESS:PORT", spec);
		colon = he + 1;
	} else {
		hs = spec;
		if ((colon = strrchr(spec, ':')) == NULL)
			return klic_error_set(KLIC_ERR_INVALID_ARG,
					      "--listen %s: expected ADDRESS:PORT", spec);
		he = colon;
	}
	if ((size_t)(he - hs) >= sizeof host || he == hs)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "--listen %s: expected ADDRESS:PORT",
				      spec);
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port > 65535)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "--listen %s: bad port", spec);
	if (spec[0] == '[') {
		struct sockaddr_in6 *a6 = sockaddr_out;
		memset(a6, 0, sizeof *a6);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return klic_error_set(KLIC_ERR_INVALID_ARG,
					      "--listen %s: not an IP address", spec);
		if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			return klic_error_set(KLIC_ERR_INVALID_ARG,
					      "--listen %s: not a loopback address (127.0.0.0/8 "
					      "or [::1] only)",
					      spec);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*socklen_out = sizeof *a6;
	} else {
		struct sockaddr_in *a4 = sockaddr_out;
		memset(a4, 0, sizeof *a4);
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return klic_error_set(KLIC_ERR_INVALID_ARG,
					      "--listen %s: not an IP address (127.0.0.1:PORT or "
					      "[::1]:PORT)",
					      spec);
		if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
			return klic_error_set(KLIC_ERR_INVALID_ARG,
					      "--listen %s: not a loopback address (127.0.0.0/8 "
					      "or [::1] only)",
					      spec);
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*socklen_out = sizeof *a4;
	}
	return 0;
}

int token_eq_hex(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = 0;

	if (la != SERVE_TOKEN_HEX || lb != SERVE_TOKEN_HEX)
		return 0;
	for (size_t i = 0; i < SERVE_TOKEN_HEX; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int new_token(char out[SERVE_TOKEN_HEX + 1])
{
	uint8_t raw[SERVE_TOKEN_HEX / 2];
	int r = klic_random(raw, sizeof raw);
	if (r == 0)
		klic_hex(out, raw, sizeof raw);
	klic_wipe(raw, sizeof raw);
	return r;
}

const char *serve_field(const struct serve_req *q, const char *name)
{
	for (size_t i = 0; i < q->nparts; i++)
		if (q->parts[i].filename[0] == '\0' && strcmp(q->parts[i].name, name) == 0)
			return q->parts[i].data ? (const char *)q->parts[i].data : "";
	return "";
}

/* One piece of a form part.  Parts over a cap are not kept; the request
 * is then answered 413 when its body is complete. */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *filename, const char *ctype, const char *enc,
			       const char *data, uint64_t off, size_t size)
{
	struct serve_req *q = cls;
	struct serve_part *p;
	size_t cap;
	uint8_t *nd;

	(void)kind;
	(void)ctype;
	(void)enc;
	if (off == 0) { /* a new part */
		int isfile = filename != NULL;
		q->discard = 1;
		if (q->too_big != NULL)
			return MHD_YES;
		if (isfile && q->nfiles >= KLIC_SERVE_MAX_FILES) {
			q->too_big = "too many files";
			snprintf(q->too_big_detail, sizeof q->too_big_detail,
				 "more than %u files in one upload", KLIC_SERVE_MAX_FILES);
			return MHD_YES;
		}
		if (!isfile && q->nfields >= SERVE_MAX_FIELDS) {
			q->too_big = "too many fields";
			snprintf(q->too_big_detail, sizeof q->too_big_detail,
				 "more than %u form fields", SERVE_MAX_FIELDS);
			return MHD_YES;
		}
		p = &q->parts[q->nparts++];
		memset(p, 0, sizeof *p);
		klic_printable_copy(p->name, sizeof p->name, key ? key : "", SIZE_MAX);
		if (isfile) {
			/* an empty name still marks a file part */
			klic_printable_copy(p->filename, sizeof p->filename,
					    filename[0] ? filename : "(unnamed)", SIZE_MAX);
			q->nfiles++;
		} else {
			q->nfields++;
		}
		q->discard = 0;
	}
	if (q->discard || q->nparts == 0)
		return MHD_YES;
	p = &q->parts[q->nparts - 1];
	cap = p->filename[0] ? KLIC_SERVE_MAX_FILE : SERVE_MAX_FIELD;
	if (size > cap - p->len) {
		q->too_big = "upload too large";
		if (p->filename[0])
			snprintf(q->too_big_detail, sizeof q->too_big_detail,
				 "%s: larger than %u KiB", p->filename, KLIC_SERVE_MAX_FILE >> 10);
		else
			snprintf(q->too_big_detail, sizeof q->too_big_detail,
				 "field %s: larger than %u KiB", p->name, SERVE_MAX_FIELD >> 10);
		q->discard = 1;
		return MHD_YES;
	}
	if ((nd = realloc(p->data, p->len + size + 1)) == NULL)
		return MHD_NO;
	memcpy(nd + p->len, data, size);
	p->data = nd;
	p->len += size;
	p->data[p->len] = '\0';
	return MHD_YES;
}

static void req_free(struct serve_req *q)
{
	if (q == NULL)
		return;
	if (q->pp != NULL)
		MHD_destroy_post_processor(q->pp);
	for (size_t i = 0; i < q->nparts; i++)
		free(q->parts[i].data);
	free(q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	req_free(*con_cls);
	*con_cls = NULL;
}

static enum MHD_Result login(struct klic_serve *s, struct MHD_Connection *c, const char *method)
{
	const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	char cookie[160];
	struct MHD_Response *rs;
	enum MHD_Result ret;

	if (t == NULL || t[0] == '\0')
		return serve_refuse(s, c, MHD_HTTP_FORBIDDEN, method, "/login", "no login token");
	if (!token_eq_hex(t, s->token))
		return serve_refuse(s, c, MHD_HTTP_FORBIDDEN, method, "/login",
				    "wrong login token");
	if (s->token_used)
		return serve_refuse(s, c, MHD_HTTP_FORBIDDEN, method, "/login",
				    "login token already used");
	if ((int64_t)time(NULL) > s->token_expires)
		return serve_refuse(s, c, MHD_HTTP_FORBIDDEN, method, "/login",
				    "login token expired");
	s->token_used = 1;
	if (new_token(s->session) != 0 || new_token(s->csrf) != 0) {
		s->session[0] = s->csrf[0] = '\0';
		return serve_send(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
				  "no randomness\n", 14);
	}
	snprintf(cookie, sizeof cookie, "%s=%s; HttpOnly; SameSite=Strict; Path=/", SESSION_COOKIE,
		 s->session);
	rs = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);
	if (rs == NULL)
		return MHD_NO;
	if (serve_headers(rs) != 0 ||
	    MHD_add_response_header(rs, "Set-Cookie", cookie) != MHD_YES ||
	    MHD_add_response_header(rs, "Location", "/") != MHD_YES) {
		MHD_destroy_response(rs);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, rs);
	MHD_destroy_response(rs);
	return ret;
}

/* The session cookie of the request is the server's session. */
static int has_session(struct klic_serve *s, struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SESSION_COOKIE);
	return s->session[0] != '\0' && v != NULL && token_eq_hex(v, s->session);
}

/* A page of a signed-in session is about to use the ledger: a shared
 * ledger whose server restarted since the last request gets a new
 * session; 1 (and the 503 queued) when the server still cannot be
 * reached. */
static int ledger_down(struct klic_serve *s, struct MHD_Connection *c, const char *method,
		       const char *url, enum MHD_Result *ret)
{
	if (klic_ledger_revive(s->admin->ledger) == 0)
		return 0;
	*ret = serve_refuse(s, c, MHD_HTTP_SERVICE_UNAVAILABLE, method, url, klic_error_detail());
	return 1;
}

/* The first call for a request: headers only.  A refusal is queued here;
 * else a GET is answered and a POST gets its form parser. */
static enum MHD_Result first_call(struct klic_serve *s, struct MHD_Connection *c, const char *url,
				  const char *method, struct serve_req *q)
{
	const char *origin, *cl;
	unsigned long long n;
	enum MHD_Result ret;
	char *end;

	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		if (strcmp(url, "/login") == 0)
			return login(s, c, method);
		if (!has_session(s, c))
			return serve_refuse(s, c, MHD_HTTP_FORBIDDEN, method, url, "no session");
		if (ledger_down(s, c, method, url, &ret))
			return ret;
		return serve_get(s, c, url);
	}
	if (strcmp(method, "POST") != 0)
		return serve_refuse(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, method, url,
				    "method not allowed");
	if (!has_session(s, c))
		return serve_refuse(s, c, MHD_HTTP_FORBIDDEN, method, url, "no session");
	origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	if (origin == NULL)
		return serve_refuse(s, c, MHD_HTTP_FORBIDDEN, method, url, "no Origin header");
	if (strcmp(origin, s->origin) != 0)
		return serve_refuse(s, c, MHD_HTTP_FORBIDDEN, method, url, "foreign Origin");
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	if (cl != NULL) {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0' || n > KLIC_SERVE_MAX_BODY)
			return serve_refuse(s, c, MHD_HTTP_CONTENT_TOO_LARGE, method, url,
					    "request body larger than 20 MiB");
	}
	q->post = 1;
	q->pp = MHD_create_post_processor(c, 16384, on_part, q);
	if (q->pp == NULL) /* not a form: no CSRF token can be in it */
		return serve_refuse(s, c, MHD_HTTP_FORBIDDEN, method, url,
				    "not a form (no CSRF token)");
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct klic_serve *s = cls;
	struct serve_req *q = *con_cls;
	enum MHD_Result ret;

	(void)version;
	if (q == NULL) {
		if ((q = calloc(1, sizeof *q)) == NULL)
			return MHD_NO;
		*con_cls = q;
		return first_call(s, c, url, method, q);
	}
	if (!q->post) /* answered at the first call */
		return MHD_YES;
	if (*upload_size != 0) {
		if (*upload_size > KLIC_SERVE_MAX_BODY - q->body) {
			q->too_big = "request body larger than 20 MiB";
			q->too_big_detail[0] = '\0';
			q->body = KLIC_SERVE_MAX_BODY;
		} else {
			q->body += *upload_size;
			/* a malformed form is read to its end and answered 400 */
			if (q->too_big == NULL && !q->malformed &&
			    MHD_post_process(q->pp, upload, *upload_size) != MHD_YES)
				q->malformed = 1;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->too_big != NULL) {
		char why[SERVE_NAME_MAX + 128];
		snprintf(why, sizeof why, "%s%s%s", q->too_big, q->too_big_detail[0] ? ": " : "",
			 q->too_big_detail);
		return serve_refuse(s, c, MHD_HTTP_CONTENT_TOO_LARGE, method, url, why);
	}
	if (q->malformed)
		return serve_refuse(s, c, MHD_HTTP_BAD_REQUEST, method, url, "malformed form");
	if (!token_eq_hex(serve_field(q, "csrf"), s->csrf))
		return serve_refuse(s, c, MHD_HTTP_FORBIDDEN, method, url,
				    serve_field(q, "csrf")[0] ? "wrong CSRF token"
							      : "no CSRF token");
	if (ledger_down(s, c, method, url, &ret))
		return ret;
	return serve_post(s, c, url, q);
}

int klic_serve_start(struct klic_serve **out, const struct klic_serve_opts *o)
{
	int r = KLIC_ERR_INTERNAL, fd = -1, one = 1;
	struct sockaddr_storage ss, bound;
	unsigned sl = 0;
	socklen_t bl = sizeof bound;
	struct klic_serve *s = NULL;
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	*out = NULL;
	if ((r = klic_serve_parse_listen(&ss, &sl, o->listen)) != 0)
		return r;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "serve");
	s->admin = o->admin;
	if ((r = klic_ledger_read_cache(s->admin->ledger, SERVE_LEDGER_CACHE_MIB)) != 0)
		goto out;
	s->log = o->log;
	s->log_ctx = o->log_ctx;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 32) != 0 ||
	    getsockname(fd, (struct sockaddr *)&bound, &bl) != 0) {
		r = klic_error_set(KLIC_ERR_IO, "--listen %s: %s", o->listen, strerror(errno));
		goto out;
	}
	if (bound.ss_family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&bound;
		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
		port = ntohs(a6->sin6_port);
		snprintf(s->origin, sizeof s->origin, "http://[%s]:%u", host, port);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&bound;
		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
		port = ntohs(a4->sin_port);
		snprintf(s->origin, sizeof s->origin, "http://%s:%u", host, port);
	}
	if ((r = new_token(s->token)) != 0)
		goto out;
	s->token_expires = (int64_t)time(NULL) + KLIC_SERVE_TOKEN_TTL;
	snprintf(s->url, sizeof s->url, "%s/login?token=%s", s->origin, s->token);
	s->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | (bound.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0,
	    NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
	if (s->d == NULL) {
		r = klic_error_set(KLIC_ERR_IO, "--listen %s: the HTTP server did not start",
				   o->listen);
		goto out;
	}
	fd = -1; /* the daemon's now */
	*out = s;
	s = NULL; /* transferred */
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	klic_serve_stop(s);
	return r;
}

const char *klic_serve_login_url(const struct klic_serve *s)
{
	return s->url;
}

void klic_serve_stop(struct klic_serve *s)
{
	if (s == NULL)
		return;
	if (s->d != NULL)
		MHD_stop_daemon(s->d);
	serve_batch_free(s->batch);
	serve_member_free(s->member);
	klic_wipe(s->token, sizeof s->token);
	klic_wipe(s->session, sizeof s->session);
	klic_wipe(s->csrf, sizeof s->csrf);
	free(s);
}
