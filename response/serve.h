/* klic — the admin web console behind `klic-admin serve` (issue 17): a
 * libmicrohttpd server on a loopback address only, with a one-time login
 * token, a session cookie, a CSRF token per session and an Origin check on
 * every POST.  Every page calls the same library functions as the command
 * line.  Library code: it never prints; each refused request is handed to
 * the log callback as one line. */
#ifndef KLIC_SERVE_H
#define KLIC_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "klic_response.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_SERVE_MAX_FILE (256u << 10) /* one uploaded file */
#define KLIC_SERVE_MAX_FILES 64u         /* files in one request */
#define KLIC_SERVE_MAX_BODY (20u << 20)  /* one request body */
#define KLIC_SERVE_TOKEN_TTL 600         /* seconds a login token is good for */
#define KLIC_SERVE_URL_MAX 256

struct klic_serve;

/* Called with one line (no newline) for each refused request: time (UTC),
 * method, path, status and why.  ctx is the opts' log_ctx. */
typedef void (*klic_serve_log_fn)(void *ctx, const char *line);

struct klic_serve_opts {
	const char *listen;       /* "127.0.0.1:PORT", "[::1]:PORT"; PORT 0: any free port */
	struct klic_admin *admin; /* borrowed; used from the server's one thread only */
	klic_serve_log_fn log;
	void *log_ctx;
};

/* Parse a --listen value: an IPv4 address in 127.0.0.0/8 or [::1], a
 * colon and a port 0..65535.  0, or KLIC_ERR_INVALID_ARG with the detail
 * naming the value and why (not an address, not loopback, bad port). */
int klic_serve_parse_listen(void *sockaddr_out, unsigned *socklen_out, const char *spec);

/* Bind, listen and start serving on the server's own thread.  *out owned
 * by the caller (klic_serve_stop). */
int klic_serve_start(struct klic_serve **out, const struct klic_serve_opts *o);

/* "http://127.0.0.1:PORT/login?token=T": the one-time login URL. */
const char *klic_serve_login_url(const struct klic_serve *s);

/* Stop serving (open connections are closed) and free s.  NULL-safe. */
void klic_serve_stop(struct klic_serve *s);

#ifdef __cplusplus
}
#endif
#endif
