/* klic response/ — the web console's answers: the text buffer, HTML
 * escaping, the security headers on every response, the page layout, and
 * refusals with their log line (serve_int.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "klic_error.h"
#include "klic_util.h"
#include "serve_int.h"

void serve_buf_put(struct serve_buf *b, const char *s, size_t n)
{
	if (b->fail)
		return;
	if (n > SIZE_MAX / 2 - b->len - 1) {
		b->fail = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->fail = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void serve_buf_puts(struct serve_buf *b, const char *s)
{
	serve_buf_put(b, s, strlen(s));
}

void serve_buf_printf(struct serve_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->fail = 1; /* our own fragments are short: a long one is a bug */
		return;
	}
	serve_buf_put(b, tmp, (size_t)n);
}

void serve_buf_html(struct serve_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *e = klic_html_char(*s);
		if (e != NULL)
			serve_buf_puts(b, e);
		else
			serve_buf_put(b, s, 1);
	}
}

void serve_buf_dispose(struct serve_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
			  "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
			  "base-uri 'none'";

int serve_headers(struct MHD_Response *rs)
{
	if (MHD_add_response_header(rs, "Content-Security-Policy", csp) != MHD_YES ||
	    MHD_add_response_header(rs, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    /* not no-referrer: with it a browser sends "Origin: null" on the
	     * console's own form posts, which the Origin check must refuse;
	     * same-origin sends no referrer to any other site, and there is no
	     * link to one */
	    MHD_add_response_header(rs, "Referrer-Policy", "same-origin") != MHD_YES ||
	    MHD_add_response_header(rs, "Cache-Control", "no-store") != MHD_YES)
		return -1;
	return 0;
}

enum MHD_Result serve_send(struct MHD_Connection *c, unsigned status, const char *ctype,
			   const void *body, size_t len)
{
	struct MHD_Response *rs;
	enum MHD_Result ret;

	rs = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (rs == NULL)
		return MHD_NO;
	if (serve_headers(rs) != 0 ||
	    (ctype != NULL && MHD_add_response_header(rs, "Content-Type", ctype) != MHD_YES)) {
		MHD_destroy_response(rs);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, status, rs);
	MHD_destroy_response(rs);
	return ret;
}

enum MHD_Result serve_page(struct klic_serve *s, struct MHD_Connection *c, unsigned status,
			   const char *title, struct serve_buf *body)
{
	struct serve_buf b = SERVE_BUF_INIT;
	enum MHD_Result ret;

	serve_buf_puts(&b,
		       "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<link rel=\"icon\" href=\"data:,\"><script src=\"/static/app.js\" defer>"
		       "</script><title>klic admin: ");
	serve_buf_html(&b, title);
	serve_buf_puts(&b, "</title><link rel=\"stylesheet\" href=\"/static/style.css\">"
			   "</head>\n<body><header><span class=\"brand\">klic admin</span> <span "
			   "class=\"org\">");
	serve_buf_html(&b, s->admin->org);
	serve_buf_puts(&b, "</span><nav><a href=\"/\">Home</a> "
			   "<a href=\"/entitlements\">Entitlements</a> "
			   "<a href=\"/licenses\">Offline licenses</a> "
			   "<a href=\"/issue\">Create offline licenses</a> "
			   "<a href=\"/members\">Members</a> <a href=\"/audit\">Audit</a></nav>"
			   "<form method=\"post\" action=\"/logout\" class=\"logout\">"
			   "<input type=\"hidden\" name=\"csrf\" value=\"");
	serve_buf_puts(&b, s->csrf); /* hex */
	serve_buf_puts(&b, "\"><button type=\"submit\">Sign out</button></form></header>\n<main>"
			   "<h1>");
	serve_buf_html(&b, title);
	serve_buf_puts(&b, "</h1>\n");
	if (body->fail)
		b.fail = 1;
	else
		serve_buf_put(&b, body->p ? body->p : "", body->len);
	serve_buf_puts(&b, "</main></body></html>\n");
	if (b.fail) {
		serve_buf_dispose(&b);
		return serve_send(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
				  "out of memory\n", 14);
	}
	ret = serve_send(c, status, "text/html; charset=utf-8", b.p, b.len);
	serve_buf_dispose(&b);
	return ret;
}

enum MHD_Result serve_refuse(struct klic_serve *s, struct MHD_Connection *c, unsigned status,
			     const char *method, const char *url, const char *why)
{
	char line[1024], m[16], u[256], ts[32], body[320];
	time_t now = time(NULL);
	struct tm tm;

	klic_printable_copy(m, sizeof m, method, SIZE_MAX);
	klic_printable_copy(u, sizeof u, url, SIZE_MAX);
	if (gmtime_r(&now, &tm) == NULL || strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(ts, sizeof ts, "%s", "?");
	/* the operator's log: refusals (403) and an unreachable ledger (503) */
	if ((status == MHD_HTTP_FORBIDDEN || status == MHD_HTTP_SERVICE_UNAVAILABLE) &&
	    s->log != NULL) {
		snprintf(line, sizeof line, "%s %s %s: %u %s", ts, m, u, status, why);
		s->log(s->log_ctx, line);
	}
	snprintf(body, sizeof body, "%u %s\n", status, why);
	return serve_send(c, status, "text/plain; charset=utf-8", body, strlen(body));
}
