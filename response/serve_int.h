/* klic response/ — what the files of the web console share (serve*.c):
 * the server state, one request's state, the response and HTML helpers and
 * the pages.  Only serve*.c include this. */
#ifndef KLIC_SERVE_INT_H
#define KLIC_SERVE_INT_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "serve.h"

#define SERVE_TOKEN_HEX 64           /* 32 random bytes */
#define SERVE_MAX_FIELDS 32          /* non-file form fields in one request */
#define SERVE_MAX_FIELD (384u << 10) /* one non-file field (armored text) */
#define SERVE_NAME_MAX 256           /* a field or file name */
#define SERVE_TMP_MAX 160            /* a private folder's path */

struct serve_batch;
struct serve_member;

struct klic_serve {
	struct MHD_Daemon *d;
	struct klic_admin *admin;
	klic_serve_log_fn log;
	void *log_ctx;
	char origin[80]; /* "http://127.0.0.1:PORT", what an Origin header must be */
	char url[KLIC_SERVE_URL_MAX];
	/* the login token: one use, until token_expires */
	char token[SERVE_TOKEN_HEX + 1];
	int64_t token_expires;
	int token_used;
	/* the one session (from the login), "" while there is none */
	char session[SERVE_TOKEN_HEX + 1];
	char csrf[SERVE_TOKEN_HEX + 1];
	struct serve_batch *batch;   /* the session's upload (serve_issue.c), or NULL */
	struct serve_member *member; /* the key shown to accept (serve_members.c), or NULL */
};

/* One form part: a file (filename != "") or a field. */
struct serve_part {
	char name[SERVE_NAME_MAX];
	char filename[SERVE_NAME_MAX];
	uint8_t *data;
	size_t len;
};

/* One request, from its first header to its completion. */
struct serve_req {
	int post;
	struct MHD_PostProcessor *pp;
	size_t body;         /* bytes of body received */
	const char *too_big; /* set: answer 413 with this reason */
	char too_big_detail[SERVE_NAME_MAX + 64];
	size_t nfiles, nfields;
	struct serve_part parts[KLIC_SERVE_MAX_FILES + SERVE_MAX_FIELDS];
	size_t nparts;
	int discard;   /* the current part is not kept (over a cap) */
	int malformed; /* the form parser gave up: answered 400 */
};

/* A growing text buffer for pages; on allocation failure it stays failed
 * (fail set) and the page answers 500. */
struct serve_buf {
	char *p;
	size_t len, cap;
	int fail;
};
#define SERVE_BUF_INIT                                                                             \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}
void serve_buf_put(struct serve_buf *b, const char *s, size_t n);
void serve_buf_puts(struct serve_buf *b, const char *s);
__attribute__((format(printf, 2, 3))) void serve_buf_printf(struct serve_buf *b, const char *fmt,
							    ...);
/* HTML text: &<>"' escaped, every non-printable byte shown as by
 * klic_printable_copy. */
void serve_buf_html(struct serve_buf *b, const char *s);
void serve_buf_dispose(struct serve_buf *b);

/* Add the security headers every response carries; 0 or -1. */
int serve_headers(struct MHD_Response *rs);
/* Queue a response with the security headers every response carries
 * (CSP, nosniff, no referrer, no-store).  body is copied. */
enum MHD_Result serve_send(struct MHD_Connection *c, unsigned status, const char *ctype,
			   const void *body, size_t len);
/* A page in the console's layout (title escaped; body is HTML). */
enum MHD_Result serve_page(struct klic_serve *s, struct MHD_Connection *c, unsigned status,
			   const char *title, struct serve_buf *body);
/* A short plain-text answer for a refused request; 403s are also logged. */
enum MHD_Result serve_refuse(struct klic_serve *s, struct MHD_Connection *c, unsigned status,
			     const char *method, const char *url, const char *why);

/* The form field name's value ("" when absent; NUL-terminated). */
const char *serve_field(const struct serve_req *q, const char *name);

/* Equal 64-hex tokens, in time independent of where they differ. */
int token_eq_hex(const char *a, const char *b);

/* The Create offline licenses pages (serve_issue.c): GET /issue,
 * /issue/download; POST /issue/preview, /issue/confirm. */
enum MHD_Result serve_issue_get(struct klic_serve *s, struct MHD_Connection *c, const char *url);
enum MHD_Result serve_issue_post(struct klic_serve *s, struct MHD_Connection *c, const char *url,
				 const struct serve_req *q);
/* Remove the batch's private folder and free it.  NULL-safe. */
void serve_batch_free(struct serve_batch *bt);

/* The Offline licenses page (serve_licenses.c): fmt 0 the page, 1 CSV,
 * 2 JSON. */
enum MHD_Result serve_licenses(struct klic_serve *s, struct MHD_Connection *c, int fmt);

/* The Entitlements page (serve_ent.c). */
enum MHD_Result serve_entitlements(struct klic_serve *s, struct MHD_Connection *c);

/* The Members page (serve_members.c): GET /members (q NULL); POST
 * /members/preview, /members/accept. */
enum MHD_Result serve_members(struct klic_serve *s, struct MHD_Connection *c, const char *url,
			      const struct serve_req *q);
void serve_member_free(struct serve_member *m);

/* The mkdtemp template of a private folder for uploads:
 * $TMPDIR/klic-serve-XXXXXX when TMPDIR is an absolute path that fits,
 * else /tmp/klic-serve-XXXXXX. */
void serve_tmp_template(char *out, size_t outsz);

/* An uploaded file's name for a request file: letters, digits, '.', '_'
 * and '-' kept, any other byte '_'; ".kreq" added when it lacks it. */
void serve_req_name(char *out, size_t outsz, const char *in);

/* The Audit page (serve_audit.c): /audit, /audit/usage.kusage. */
enum MHD_Result serve_audit(struct klic_serve *s, struct MHD_Connection *c, const char *url);

/* Pages (serve_pages.c). */
enum MHD_Result serve_get(struct klic_serve *s, struct MHD_Connection *c, const char *url);
enum MHD_Result serve_post(struct klic_serve *s, struct MHD_Connection *c, const char *url,
			   struct serve_req *q);

#endif
