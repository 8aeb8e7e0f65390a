/* klic response/ — the web console's Audit page (issue 17 item 5): the
 * checks of `klic-admin audit verify`, with its lines (the hash chain of
 * the audit log, the seat counters, every entitlement against its signed
 * .kent) or its refusal line; and the usage export of `klic-admin usage
 * export` to download. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_error.h"
#include "klic_usage_export.h"
#include "klic_util.h"
#include "serve_int.h"

static void line(struct serve_buf *b, const char *cls, const char *text)
{
	serve_buf_printf(b, "<li class=\"%s\">", cls);
	serve_buf_html(b, text);
	serve_buf_puts(b, "</li>\n");
}

static enum MHD_Result audit_page(struct klic_serve *s, struct MHD_Connection *c)
{
	struct serve_buf b = SERVE_BUF_INIT;
	int64_t rows = 0, bad = 0, hand = 0;
	char text[5200];
	enum MHD_Result ret;
	int r;

	serve_buf_puts(&b, "<ul id=\"verify\">\n");
	r = klic_ledger_audit_verify(s->admin->ledger, &rows, &bad);
	if (r == 0) {
		snprintf(text, sizeof text, "audit chain ok: %lld rows", (long long)rows);
		line(&b, "ok", text);
		r = klic_ledger_usage_verify(s->admin->ledger, &rows);
	}
	if (r == 0) {
		snprintf(text, sizeof text, "seat counters ok: %lld entitlements", (long long)rows);
		line(&b, "ok", text);
		r = klic_admin_entitlements_verify(s->admin, &rows, &hand);
	}
	if (r != 0) {
		snprintf(text, sizeof text, "klic-admin: %s: %s: %s", s->admin->ledger_path,
			 klic_strerror(r), klic_error_detail());
		line(&b, "refused", text);
	} else {
		if (hand > 0)
			snprintf(text, sizeof text,
				 "entitlements ok: %lld match their signed .kent; %lld hand-typed "
				 "before protocol version 2 (nothing signed to check them against)",
				 (long long)rows, (long long)hand);
		else
			snprintf(text, sizeof text,
				 "entitlements ok: %lld match their signed .kent", (long long)rows);
		line(&b, "ok", text);
	}
	serve_buf_printf(&b, "</ul>\n<p id=\"status\" class=\"%s\">%s</p>\n",
			 r == 0 ? "ok" : "refused",
			 r == 0 ? "The ledger verifies." : "The ledger does not verify.");
	serve_buf_puts(&b,
		       "<h2>Usage export</h2>\n<p>The signed usage export the vendor asks "
		       "for at true-up (as <code>klic-admin usage export</code>): <a "
		       "id=\"usage\" href=\"/audit/usage.kusage\">download usage.kusage</a></p>\n");
	ret = serve_page(s, c, MHD_HTTP_OK, "Audit", &b);
	serve_buf_dispose(&b);
	return ret;
}

static enum MHD_Result usage_download(struct klic_serve *s, struct MHD_Connection *c)
{
	uint8_t *doc = NULL;
	size_t len = 0;
	struct MHD_Response *rs;
	enum MHD_Result ret;
	int r;

	if ((r = klic_admin_usage_export(s->admin, &doc, &len, klic_now())) != 0) {
		char why[900];
		snprintf(why, sizeof why, "%s: %s", klic_strerror(r), klic_error_detail());
		return serve_refuse(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "GET",
				    "/audit/usage.kusage", why);
	}
	rs = MHD_create_response_from_buffer(len, doc, MHD_RESPMEM_MUST_FREE);
	if (rs == NULL) {
		free(doc);
		return MHD_NO;
	}
	if (serve_headers(rs) != 0 ||
	    MHD_add_response_header(rs, "Content-Type", "text/plain; charset=utf-8") != MHD_YES ||
	    MHD_add_response_header(rs, "Content-Disposition",
				    "attachment; filename=\"usage.kusage\"") != MHD_YES) {
		MHD_destroy_response(rs);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, rs);
	MHD_destroy_response(rs);
	return ret;
}

enum MHD_Result serve_audit(struct klic_serve *s, struct MHD_Connection *c, const char *url)
{
	if (strcmp(url, "/audit/usage.kusage") == 0)
		return usage_download(s, c);
	return audit_page(s, c);
}
