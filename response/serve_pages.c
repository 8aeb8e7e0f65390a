/* klic response/ — the web console's pages (serve_int.h): the routes, the
 * home page, the style sheet and signing out. */
#include <stdio.h>
#include <string.h>

#include "serve_assets.h"
#include "serve_int.h"

static enum MHD_Result home(struct klic_serve *s, struct MHD_Connection *c)
{
	struct serve_buf b = SERVE_BUF_INIT;
	enum MHD_Result ret;

	serve_buf_puts(&b, "<dl class=\"facts\"><dt>Organization</dt><dd>");
	serve_buf_html(&b, s->admin->org);
	serve_buf_puts(&b, "</dd><dt>Issuer key</dt><dd class=\"mono\">");
	serve_buf_html(&b, s->admin->issuer_fpr);
	serve_buf_puts(&b, "</dd><dt>Vendor key</dt><dd class=\"mono\">");
	serve_buf_html(&b, s->admin->vendor_fpr[0] ? s->admin->vendor_fpr : "(none pinned)");
	serve_buf_puts(&b, "</dd><dt>Ledger</dt><dd class=\"mono\">");
	serve_buf_html(&b, s->admin->ledger_path);
	serve_buf_puts(&b, "</dd></dl>\n");
	ret = serve_page(s, c, MHD_HTTP_OK, "Home", &b);
	serve_buf_dispose(&b);
	return ret;
}

enum MHD_Result serve_get(struct klic_serve *s, struct MHD_Connection *c, const char *url)
{
	if (strcmp(url, "/") == 0)
		return home(s, c);
	if (strcmp(url, "/audit") == 0 || strcmp(url, "/audit/usage.kusage") == 0)
		return serve_audit(s, c, url);
	if (strcmp(url, "/members") == 0)
		return serve_members(s, c, url, NULL);
	if (strcmp(url, "/entitlements") == 0)
		return serve_entitlements(s, c);
	if (strcmp(url, "/licenses") == 0)
		return serve_licenses(s, c, 0);
	if (strcmp(url, "/licenses.csv") == 0)
		return serve_licenses(s, c, 1);
	if (strcmp(url, "/licenses.json") == 0)
		return serve_licenses(s, c, 2);
	if (strcmp(url, "/issue") == 0 || strcmp(url, "/issue/download") == 0)
		return serve_issue_get(s, c, url);
	if (strcmp(url, "/static/app.js") == 0)
		return serve_send(c, MHD_HTTP_OK, "text/javascript; charset=utf-8", klic_web_app_js,
				  klic_web_app_js_len);
	if (strcmp(url, "/static/style.css") == 0)
		return serve_send(c, MHD_HTTP_OK, "text/css; charset=utf-8", klic_web_style_css,
				  klic_web_style_css_len);
	return serve_refuse(s, c, MHD_HTTP_NOT_FOUND, "GET", url, "no such page");
}

static enum MHD_Result logout(struct klic_serve *s, struct MHD_Connection *c)
{
	static const char page[] =
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>klic admin: "
	    "signed out</title></head>"
	    "<body><main><h1>Signed out</h1><p>Stop <code>klic-admin serve</code> and start it "
	    "again for a new login URL.</p></main></body></html>\n";

	serve_batch_free(s->batch);
	s->batch = NULL;
	serve_member_free(s->member);
	s->member = NULL;
	memset(s->session, 0, sizeof s->session);
	memset(s->csrf, 0, sizeof s->csrf);
	return serve_send(c, MHD_HTTP_OK, "text/html; charset=utf-8", page, sizeof page - 1);
}

enum MHD_Result serve_post(struct klic_serve *s, struct MHD_Connection *c, const char *url,
			   struct serve_req *q)
{
	if (strcmp(url, "/issue/preview") == 0 || strcmp(url, "/issue/confirm") == 0)
		return serve_issue_post(s, c, url, q);
	if (strcmp(url, "/members/preview") == 0 || strcmp(url, "/members/accept") == 0 ||
	    strcmp(url, "/members/remove") == 0 || strcmp(url, "/members/remove/confirm") == 0)
		return serve_members(s, c, url, q);
	if (strcmp(url, "/logout") == 0)
		return logout(s, c);
	return serve_refuse(s, c, MHD_HTTP_NOT_FOUND, "POST", url, "no such page");
}
