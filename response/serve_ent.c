/* klic response/ — the web console's Entitlements page (issue 17 item 5):
 * the seat report of `klic-admin report` (klic_report_build, report.c):
 * per product the seats granted by entitlements in force, used and free;
 * per entitlement used, free and expiring within 7 and 30 days; and per
 * product a chart of the seats in use each day, an inline SVG made here
 * (presentation attributes only: no style attribute, no script). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_report.h"
#include "klic_util.h"
#include "serve_int.h"

#define CHART_W 720
#define CHART_H 160

static const char *const products[] = {"KRE", "KSE"};

/* The seats in use per day of one product (the sum over its entitlements):
 * an SVG polyline over the report's days, with its peak and its days. */
static void chart(struct serve_buf *b, const struct klic_report *rep, const char *product,
		  unsigned granted)
{
	unsigned peak = 0, top;
	char first[KLIC_TIME_LEN + 1], last[KLIC_TIME_LEN + 1];
	unsigned *sum;

	size_t nent = 0;

	for (size_t i = 0; i < rep->n; i++)
		nent += strcmp(rep->ent[i].e.product, product) == 0;
	if (nent == 0) {
		serve_buf_printf(b, "<p class=\"nochart\">%s: no entitlement.</p>\n", product);
		return;
	}
	if (rep->n_days == 0) {
		serve_buf_printf(b, "<p class=\"nochart\">%s: no license issued yet.</p>\n",
				 product);
		return;
	}
	if ((sum = calloc(rep->n_days, sizeof *sum)) == NULL) {
		b->fail = 1;
		return;
	}
	for (size_t i = 0; i < rep->n; i++)
		if (strcmp(rep->ent[i].e.product, product) == 0)
			for (size_t k = 0; k < rep->n_days; k++)
				sum[k] += rep->ent[i].daily[k];
	for (size_t k = 0; k < rep->n_days; k++)
		peak = sum[k] > peak ? sum[k] : peak;
	top = peak > granted ? peak : granted;
	top = top == 0 ? 1 : top;
	if (klic_time_format(first, rep->first_day) != 0 ||
	    klic_time_format(last, rep->first_day + (int64_t)(rep->n_days - 1) * 86400) != 0)
		b->fail = 1;
	first[10] = last[10] = '\0';
	serve_buf_printf(
	    b,
	    "<figure><svg id=\"chart-%s\" xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
	    "aria-label=\"%s seats in use per day\"><rect x=\"0\" y=\"0\" width=\"%d\" "
	    "height=\"%d\" fill=\"#ffffff\" stroke=\"#d0d5dc\"/>",
	    product, CHART_W, CHART_H + 20, CHART_W, CHART_H + 20, product, CHART_W, CHART_H);
	if (granted > 0) { /* the seats granted, dashed */
		int y = CHART_H - (int)((long)CHART_H * granted / top);
		serve_buf_printf(b,
				 "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#8a1010\" "
				 "stroke-dasharray=\"4 3\"/>",
				 y, CHART_W, y);
	}
	serve_buf_puts(b,
		       "<polyline fill=\"none\" stroke=\"#22303f\" stroke-width=\"2\" points=\"");
	for (size_t k = 0; k < rep->n_days; k++) {
		long x = rep->n_days == 1 ? 0 : (long)(k * (CHART_W - 1) / (rep->n_days - 1));
		long y = CHART_H - (long)CHART_H * sum[k] / top;
		serve_buf_printf(b, "%s%ld,%ld", k ? " " : "", x, y);
	}
	serve_buf_printf(
	    b,
	    "\"/><text x=\"2\" y=\"%d\" font-size=\"12\">%s</text><text x=\"%d\" "
	    "y=\"%d\" font-size=\"12\" text-anchor=\"end\">%s</text></svg>"
	    "<figcaption>%s: seats in use per day, peak <span class=\"peak\">%u</span> of "
	    "%u granted (dashed)</figcaption></figure>\n",
	    CHART_H + 15, first, CHART_W - 2, CHART_H + 15, last, product, peak, granted);
	free(sum);
}

static void ent_table(struct serve_buf *b, const struct klic_report *rep)
{
	serve_buf_puts(b, "<table id=\"entitlements\"><thead><tr><th>ID</th><th>Product</th>"
			  "<th>Model</th><th>Billing</th><th>Seats</th><th>Used</th><th>Free</th>"
			  "<th>Expiring &le; 7 d</th><th>&le; 30 d</th><th>Until</th><th>Ref</th>"
			  "<th>State</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < rep->n; i++) {
		const struct klic_report_ent *e = &rep->ent[i];
		serve_buf_printf(b, "<tr><td>%lld</td><td>", (long long)e->e.id);
		serve_buf_html(b, e->e.product);
		serve_buf_puts(b, "</td><td>");
		serve_buf_html(b, e->e.model);
		serve_buf_puts(b, "</td><td>");
		serve_buf_html(b, e->e.billing);
		serve_buf_printf(b,
				 "</td><td>%u</td><td>%u</td><td>%u</td><td>%u</td><td>%u</td><td>",
				 e->e.seats, e->e.used, e->free, e->expiring_7d, e->expiring_30d);
		serve_buf_html(b, e->e.until);
		serve_buf_puts(b, "</td><td>");
		serve_buf_html(b, e->e.ref);
		serve_buf_printf(b, "</td><td>%s</td></tr>\n", e->valid ? "in force" : "ended");
	}
	serve_buf_puts(b, "</tbody></table>\n");
}

enum MHD_Result serve_entitlements(struct klic_serve *s, struct MHD_Connection *c)
{
	struct klic_report *rep = NULL;
	struct serve_buf b = SERVE_BUF_INIT;
	enum MHD_Result ret;
	int r;

	if ((r = klic_report_build(&rep, s->admin->ledger, klic_now())) != 0)
		return serve_refuse(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "GET", "/entitlements",
				    klic_error_detail());
	serve_buf_puts(&b, "<table id=\"products\"><thead><tr><th>Product</th><th>Granted</th>"
			   "<th>Used</th><th>Free</th><th>Expiring &le; 7 d</th><th>&le; 30 d</th>"
			   "</tr></thead><tbody>\n");
	for (size_t p = 0; p < 2; p++) {
		unsigned g = 0, u = 0, f = 0, x7 = 0, x30 = 0;
		for (size_t i = 0; i < rep->n; i++) {
			const struct klic_report_ent *e = &rep->ent[i];
			if (strcmp(e->e.product, products[p]) != 0)
				continue;
			u += e->e.used;
			x7 += e->expiring_7d;
			x30 += e->expiring_30d;
			if (e->valid) {
				g += e->e.seats;
				f += e->free;
			}
		}
		serve_buf_printf(
		    &b,
		    "<tr id=\"product-%s\"><td>%s</td><td>%u</td><td>%u</td><td>%u</td>"
		    "<td>%u</td><td>%u</td></tr>\n",
		    products[p], products[p], g, u, f, x7, x30);
	}
	serve_buf_puts(&b, "</tbody></table>\n<h2>Seats in use</h2>\n");
	for (size_t p = 0; p < 2; p++) {
		unsigned g = 0;
		for (size_t i = 0; i < rep->n; i++)
			if (rep->ent[i].valid && strcmp(rep->ent[i].e.product, products[p]) == 0)
				g += rep->ent[i].e.seats;
		chart(&b, rep, products[p], g);
	}
	serve_buf_puts(&b, "<h2>Entitlements</h2>\n");
	ent_table(&b, rep);
	klic_report_free(rep);
	ret = serve_page(s, c, MHD_HTTP_OK, "Entitlements", &b);
	serve_buf_dispose(&b);
	return ret;
}
