/* klic response/ — the web console's Offline licenses page (issue 17 item
 * 2): the license list of `klic-admin list`, read with the same ledger
 * rows (klic_ledger_list, response/ledger.c) and the same filters,
 * checked the way the command line checks them; 50 rows a page, read a
 * page at a time with its count (klic_ledger_list_page and _count,
 * response/ledger_report.c: the ledger reads one page, not every row);
 * the whole filtered list as CSV or JSON (the keys of `list --json`). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_cli.h"
#include "klic_error.h"
#include "klic_keys.h"
#include "klic_report.h" /* klic_license_view, klic_license_json */
#include "klic_util.h"
#include "response_int.h" /* klic_ledger_list_page, klic_ledger_list_count */
#include "serve_int.h"

#define PAGE_ROWS 50
#define MAX_DOWNLOAD (512u << 20) /* one CSV or JSON download */

struct lic_query {
	struct klic_list_filter f;
	char prd[8], mid[KLIC_MACHINE_ID_LEN + 1], fpr[KLIC_FPR_HEX_LEN + 1];
	const char *product, *state, *machine, *member; /* as given, "" when absent */
	unsigned long page;                             /* 1.. */
	const char *err;                                /* a refused filter: why */
};

static const char *arg(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	return v ? v : "";
}

/* The filters of the query string, checked like `klic-admin list` checks
 * its options.  0, or -1 with q->err set. */
static int read_query(struct lic_query *q, struct MHD_Connection *c)
{
	const char *pg;
	char *end;

	memset(q, 0, sizeof *q);
	q->product = arg(c, "product");
	q->state = arg(c, "state");
	q->machine = arg(c, "machine");
	q->member = arg(c, "member");
	pg = arg(c, "page");
	q->page = 1;
	q->f.now = klic_now();
	if (pg[0] != '\0') {
		q->page = strtoul(pg, &end, 10);
		if (pg[0] < '0' || pg[0] > '9' || *end != '\0' || q->page < 1 ||
		    q->page > 1000000) {
			q->err = "page: not a page number";
			return -1;
		}
	}
	if (q->product[0] != '\0' &&
	    ((q->f.product = klic_cli_upper(q->prd, sizeof q->prd, q->product)) == NULL ||
	     klic_product_check(q->f.product) != 0)) {
		q->err = "product must be KRE or KSE";
		return -1;
	}
	if (strcmp(q->state, "active") == 0)
		q->f.active = 1;
	else if (strcmp(q->state, "expired") == 0)
		q->f.active = -1;
	else if (q->state[0] != '\0') {
		q->err = "state must be active or expired";
		return -1;
	}
	if (q->machine[0] != '\0') {
		if (klic_machine_id_parse(q->mid, q->machine) != 0) {
			q->err = "machine is not a valid machine ID";
			return -1;
		}
		q->f.machine_id = q->mid;
	}
	if (q->member[0] != '\0' &&
	    ((q->f.member_fpr = klic_cli_upper(q->fpr, sizeof q->fpr, q->member)) == NULL ||
	     klic_fpr_check(q->f.member_fpr) != 0)) {
		q->err = "member must be a fingerprint (40 hex digits)";
		return -1;
	}
	return 0;
}

/* The query string of q's filters (values URL-encoded), for an href. */
static void put_query(struct serve_buf *b, const struct lic_query *q, unsigned long page)
{
	const char *k[4] = {"product", "state", "machine", "member"};
	const char *v[4] = {q->product, q->state, q->machine, q->member};
	const char *sep = "?"; /* then "&amp;": the query goes into an href */

	for (int i = 0; i < 4; i++) {
		if (v[i][0] == '\0')
			continue;
		serve_buf_printf(b, "%s%s=", sep, k[i]);
		for (const unsigned char *p = (const unsigned char *)v[i]; *p; p++) {
			if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-')
				serve_buf_put(b, (const char *)p, 1);
			else
				serve_buf_printf(b, "%%%02X", *p);
		}
		sep = "&amp;";
	}
	if (page > 1)
		serve_buf_printf(b, "%spage=%lu", sep, page);
}

struct lic_out {
	struct serve_buf *b;
	int64_t now;
	unsigned long n; /* rows written */
	int fmt;         /* 0 page, 1 CSV, 2 JSON */
};

static int lic_row(void *vctx, const struct klic_license_row *row)
{
	struct lic_out *o = vctx;
	struct klic_license_view v; /* as klic-admin list says it */
	int r;

	o->n++;
	if ((r = klic_license_view(&v, row, o->now)) != 0)
		return r;
	if (o->fmt == 0) {
		serve_buf_puts(o->b, "<tr><td class=\"mono\">");
		serve_buf_html(o->b, row->license_id);
		serve_buf_puts(o->b, "</td><td>");
		serve_buf_html(o->b, row->product);
		serve_buf_puts(o->b, "</td><td class=\"mono\">");
		serve_buf_html(o->b, row->machine_id);
		serve_buf_puts(o->b, "</td><td class=\"mono\">");
		serve_buf_html(o->b, row->member_fpr);
		serve_buf_printf(o->b, "</td><td>%u</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				 row->seat, v.issued, v.expires, v.state);
	} else if (o->fmt == 1) {
		/* every field is hex, a product code, a machine ID or a time: no quoting */
		serve_buf_printf(o->b, "%s,%s,%s,%s,%u,%s,%s,%s,%s\r\n", row->license_id,
				 row->product, row->machine_id, row->member_fpr, row->seat,
				 v.issued, v.expires, v.state, row->issuer_fpr);
	} else {
		json_t *j = klic_license_json(row, &v);
		char *s = j ? json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
		json_decref(j);
		if (s == NULL)
			return klic_error_set(KLIC_ERR_NOMEM, "json");
		serve_buf_puts(o->b, o->n > 1 ? ",\n" : "\n");
		serve_buf_puts(o->b, s);
		free(s);
	}
	if (o->b->fail || o->b->len > MAX_DOWNLOAD)
		return klic_error_set(KLIC_ERR_NOMEM, "license list: more than %u MiB",
				      MAX_DOWNLOAD >> 20);
	return 0;
}

static void filter_form(struct serve_buf *b, const struct lic_query *q)
{
	static const char *prds[] = {"", "KRE", "KSE"}, *states[] = {"", "active", "expired"};

	serve_buf_puts(b, "<form method=\"get\" action=\"/licenses\" class=\"filter\">"
			  "<label>Product <select name=\"product\">");
	for (int i = 0; i < 3; i++)
		serve_buf_printf(b, "<option value=\"%s\"%s>%s</option>", prds[i],
				 strcmp(q->product, prds[i]) == 0 ? " selected" : "",
				 prds[i][0] ? prds[i] : "any");
	serve_buf_puts(b, "</select></label> <label>State <select name=\"state\">");
	for (int i = 0; i < 3; i++)
		serve_buf_printf(b, "<option value=\"%s\"%s>%s</option>", states[i],
				 strcmp(q->state, states[i]) == 0 ? " selected" : "",
				 states[i][0] ? states[i] : "any");
	serve_buf_puts(b, "</select></label> <label>Machine <input name=\"machine\" size=\"32\" "
			  "value=\"");
	serve_buf_html(b, q->machine);
	serve_buf_puts(b, "\"></label> <label>Member <input name=\"member\" size=\"44\" value=\"");
	serve_buf_html(b, q->member);
	serve_buf_puts(b, "\"></label> <button type=\"submit\">Filter</button></form>\n");
}

static enum MHD_Result licenses_page(struct klic_serve *s, struct MHD_Connection *c,
				     struct lic_query *q)
{
	struct serve_buf b = SERVE_BUF_INIT;
	struct lic_out o = {&b, q->f.now, 0, 0};
	uint64_t total = 0;
	unsigned long pages;
	enum MHD_Result ret;
	int r = 0;

	filter_form(&b, q);
	if (q->err != NULL) {
		serve_buf_puts(&b, "<p class=\"refused\" id=\"error\">");
		serve_buf_html(&b, q->err);
		serve_buf_puts(&b, "</p>\n");
		ret = serve_page(s, c, MHD_HTTP_BAD_REQUEST, "Offline licenses", &b);
		serve_buf_dispose(&b);
		return ret;
	}
	serve_buf_puts(&b, "<table id=\"licenses\"><thead><tr><th>License ID</th><th>Product</th>"
			   "<th>Machine</th><th>Member</th><th>Seat</th><th>Issued</th>"
			   "<th>Expires</th><th>State</th></tr></thead><tbody>\n");
	r = klic_ledger_list_count(s->admin->ledger, &q->f, &total);
	if (r == 0)
		r = klic_ledger_list_page(s->admin->ledger, &q->f, total,
					  (uint64_t)(q->page - 1) * PAGE_ROWS, PAGE_ROWS, lic_row,
					  &o);
	serve_buf_puts(&b, "</tbody></table>\n");
	if (r != 0) {
		serve_buf_dispose(&b);
		return serve_refuse(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "GET", "/licenses",
				    klic_error_detail());
	}
	pages = total == 0 ? 1 : (unsigned long)((total + PAGE_ROWS - 1) / PAGE_ROWS);
	serve_buf_printf(&b,
			 "<p class=\"pager\"><span id=\"count\">%llu license%s</span>, page %lu "
			 "of %lu",
			 (unsigned long long)total, total == 1 ? "" : "s", q->page, pages);
	if (q->page > 1) {
		serve_buf_puts(&b, " <a rel=\"prev\" href=\"/licenses");
		put_query(&b, q, q->page - 1);
		serve_buf_puts(&b, "\">previous</a>");
	}
	if (q->page < pages) {
		serve_buf_puts(&b, " <a rel=\"next\" href=\"/licenses");
		put_query(&b, q, q->page + 1);
		serve_buf_puts(&b, "\">next</a>");
	}
	serve_buf_puts(&b, "</p>\n<p>Download: <a id=\"csv\" href=\"/licenses.csv");
	put_query(&b, q, 1);
	serve_buf_puts(&b, "\">CSV</a> <a id=\"json\" href=\"/licenses.json");
	put_query(&b, q, 1);
	serve_buf_puts(&b, "\">JSON</a></p>\n");
	ret = serve_page(s, c, MHD_HTTP_OK, "Offline licenses", &b);
	serve_buf_dispose(&b);
	return ret;
}

/* GET /licenses, /licenses.csv, /licenses.json. */
enum MHD_Result serve_licenses(struct klic_serve *s, struct MHD_Connection *c, int fmt)
{
	struct lic_query q;
	struct serve_buf b = SERVE_BUF_INIT;
	struct lic_out o = {&b, 0, 0, fmt};
	struct MHD_Response *rs;
	enum MHD_Result ret;
	int r;

	read_query(&q, c);
	if (fmt == 0)
		return licenses_page(s, c, &q);
	if (q.err != NULL)
		return serve_refuse(s, c, MHD_HTTP_BAD_REQUEST, "GET", "/licenses", q.err);
	o.now = q.f.now;
	if (fmt == 1)
		serve_buf_puts(&b, "license_id,product,machine_id,member_fpr,seat,issued,expires,"
				   "state,issuer_fpr\r\n");
	else
		serve_buf_puts(&b, "[");
	r = klic_ledger_list(s->admin->ledger, &q.f, lic_row, &o);
	if (fmt == 2)
		serve_buf_puts(&b, o.n ? "\n]\n" : "]\n");
	if (r != 0 || b.fail) {
		serve_buf_dispose(&b);
		return serve_refuse(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "GET", "/licenses",
				    r != 0 ? klic_error_detail() : "out of memory");
	}
	rs = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE);
	if (rs == NULL) {
		serve_buf_dispose(&b);
		return MHD_NO;
	}
	b.p = NULL; /* transferred */
	if (serve_headers(rs) != 0 ||
	    MHD_add_response_header(rs, "Content-Type",
				    fmt == 1 ? "text/csv; charset=utf-8" : "application/json") !=
		MHD_YES ||
	    MHD_add_response_header(rs, "Content-Disposition",
				    fmt == 1
					? "attachment; filename=\"licenses.csv\""
					: "attachment; filename=\"licenses.json\"") != MHD_YES) {
		MHD_destroy_response(rs);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, rs);
	MHD_destroy_response(rs);
	return ret;
}
