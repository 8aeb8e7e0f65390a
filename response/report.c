/* klic response/ — the seat report (klic_report.h): read-only queries of the
 * ledger, the daily series, and the self-contained HTML page. */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_report.h"
#include "response_int.h"

#define DAY 86400
#define MAX_LICENSE_ROWS 10000000 /* sanity bound on the rows read */

static int64_t day_of(int64_t t)
{
	int64_t d = t / DAY;
	if (t < 0 && t % DAY != 0)
		d--;
	return d * DAY;
}

void klic_report_free(struct klic_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->ent[i].daily);
	free(r->ent);
	free(r);
}

/* Index of entitlement `id` in r->ent (sorted by id), or -1. */
static long ent_index(const struct klic_report *r, int64_t id)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->ent[mid].e.id == id)
			return (long)mid;
		if (r->ent[mid].e.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Counts per entitlement: expiring within 7 and 30 days, issued in all. */
static int count_row(void *ctx, int64_t id, int64_t e7, int64_t e30, int64_t all)
{
	struct klic_report *r = ctx;
	long i = ent_index(r, id);

	if (i < 0 || e7 < 0 || e30 < e7 || all < e30 || all > MAX_LICENSE_ROWS)
		return klic_error_set(KLIC_ERR_LEDGER, "report: inconsistent license counts");
	r->ent[i].expiring_7d = (unsigned)e7;
	r->ent[i].expiring_30d = (unsigned)e30;
	r->ent[i].issued_total = (unsigned)all;
	return 0;
}

static int fill_counts(struct klic_report *r, struct klic_ledger *l)
{
	return klic_ledger_report_counts(l, r->now, count_row, r);
}

/* The difference arrays of fill_series, one row of n_days + 1 per
 * entitlement. */
struct series {
	struct klic_report *r;
	long *diff;
	int64_t first, last;
};

/* +1 on a license's first day, -1 after its last day. */
static int series_row(void *ctx, int64_t id, int64_t issued, int64_t expires)
{
	struct series *s = ctx;
	struct klic_report *r = s->r;
	long i = ent_index(r, id);
	int64_t a = day_of(issued), b = day_of(expires - 1);

	if (i < 0)
		return klic_error_set(KLIC_ERR_LEDGER, "report: license of an unknown entitlement");
	/* active and ending within 14 days (as expiring_7d and _30d) */
	if (expires > r->now && expires <= r->now + 14 * DAY)
		r->ent[i].expiring_14d++;
	if (b < s->first || a > s->last || b < a)
		return 0;
	if (a < s->first)
		a = s->first;
	if (b > s->last)
		b = s->last;
	s->diff[(size_t)i * (r->n_days + 1) + (size_t)((a - s->first) / DAY)]++;
	s->diff[(size_t)i * (r->n_days + 1) + (size_t)((b - s->first) / DAY) + 1]--;
	return 0;
}

/* The daily series (see klic_report.h), with a difference array per
 * entitlement. */
static int fill_series(struct klic_report *r, struct klic_ledger *l)
{
	struct series s = {r, NULL, 0, 0};
	int64_t first, last;
	int any, ret;

	if ((ret = klic_ledger_license_span(l, &any, &first, &last)) != 0 || !any)
		return ret; /* no license yet */
	first = day_of(first);
	last = day_of(last - 1);
	if (day_of(r->now) > last)
		last = day_of(r->now);
	if (last < first)
		return klic_error_set(KLIC_ERR_LEDGER,
				      "report: license expires before it is issued");
	if ((last - first) / DAY + 1 > KLIC_REPORT_MAX_DAYS) {
		first = last - (int64_t)(KLIC_REPORT_MAX_DAYS - 1) * DAY;
		r->truncated = 1;
	}
	r->first_day = first;
	r->n_days = (size_t)((last - first) / DAY + 1);
	s.first = first;
	s.last = last;

	if (r->n > SIZE_MAX / sizeof *s.diff / (r->n_days + 1)) {
		ret = klic_error_set(KLIC_ERR_TOO_BIG, "report: %zu entitlements", r->n);
		goto out;
	}
	if (r->n > 0 && (s.diff = calloc(r->n * (r->n_days + 1), sizeof *s.diff)) == NULL) {
		ret = klic_error_set(KLIC_ERR_NOMEM, "report series");
		goto out;
	}
	for (size_t i = 0; i < r->n; i++) {
		if ((r->ent[i].daily = calloc(r->n_days, sizeof(unsigned))) == NULL) {
			ret = klic_error_set(KLIC_ERR_NOMEM, "report series");
			goto out;
		}
	}
	if ((ret = klic_ledger_license_periods(l, series_row, &s)) != 0)
		goto out;
	for (size_t i = 0; i < r->n; i++) {
		long run = 0;
		for (size_t k = 0; k < r->n_days; k++) {
			run += s.diff[i * (r->n_days + 1) + k];
			if (run < 0 || run > MAX_LICENSE_ROWS) {
				ret = klic_error_set(KLIC_ERR_INTERNAL, "report series");
				goto out;
			}
			r->ent[i].daily[k] = (unsigned)run;
			if ((unsigned)run > r->ent[i].peak)
				r->ent[i].peak = (unsigned)run;
		}
	}
	ret = 0;
out:
	free(s.diff);
	return ret;
}

static int report_build(struct klic_report **out, struct klic_ledger *l, int64_t now);

/* The report's queries see one snapshot of the ledger. */
int klic_report_build(struct klic_report **out, struct klic_ledger *l, int64_t now)
{
	int ret;

	if (klic_db_in_transaction(klic_ledger_db(l)))
		return report_build(out, l, now);
	if ((ret = klic_ledger_begin_read(l)) != 0)
		return ret;
	ret = report_build(out, l, now);
	klic_ledger_read_end(l);
	return ret;
}

static int report_build(struct klic_report **out, struct klic_ledger *l, int64_t now)
{
	struct klic_report *r = NULL;
	struct klic_entitlement *ents = NULL;
	size_t n = 0;
	int ret = KLIC_ERR_INTERNAL;

	*out = NULL;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "report");
	r->now = now;
	if ((ret = klic_ledger_meta_get(l, "org", r->org, sizeof r->org)) != 0 ||
	    (ret = klic_ledger_meta_get(l, "issuer_fpr", r->issuer_fpr, sizeof r->issuer_fpr)) != 0)
		goto out;
	if ((ret = klic_ledger_entitlements(l, &ents, &n, NULL, now)) != 0)
		goto out;
	if (n > 0 && (r->ent = calloc(n, sizeof *r->ent)) == NULL) {
		ret = klic_error_set(KLIC_ERR_NOMEM, "report");
		goto out;
	}
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		r->ent[i].e = ents[i];
		r->ent[i].free = ents[i].used >= ents[i].seats ? 0 : ents[i].seats - ents[i].used;
		r->ent[i].valid = ents[i].until_end > now;
		if (i > 0 && ents[i].id <= ents[i - 1].id) {
			ret = klic_error_set(KLIC_ERR_LEDGER, "report: entitlements out of order");
			goto out;
		}
	}
	if ((ret = fill_counts(r, l)) != 0 || (ret = fill_series(r, l)) != 0)
		goto out;
	*out = r;
	r = NULL; /* transferred */
	ret = 0;
out:
	free(ents);
	klic_report_free(r);
	return ret;
}

/* ---- HTML ------------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	int err; /* KLIC_ERR_* of the first failure; later appends do nothing */
};

static void sb_grow(struct sbuf *b, size_t more)
{
	size_t need, ncap;
	char *np;

	if (b->err != 0)
		return;
	if (more > KLIC_REPORT_MAX_HTML || b->len + more + 1 > KLIC_REPORT_MAX_HTML) {
		b->err = klic_error_set(KLIC_ERR_TOO_BIG, "report: HTML larger than %u bytes",
					KLIC_REPORT_MAX_HTML);
		return;
	}
	need = b->len + more + 1;
	if (need <= b->cap)
		return;
	ncap = b->cap ? b->cap : 16384;
	while (ncap < need)
		ncap *= 2;
	if ((np = realloc(b->p, ncap)) == NULL) {
		b->err = klic_error_set(KLIC_ERR_NOMEM, "report: HTML");
		return;
	}
	b->p = np;
	b->cap = ncap;
}

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	if (b->err != 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		if (b->err == 0)
			b->err =
			    klic_error_set(KLIC_ERR_INTERNAL, "report: HTML fragment too long");
		return;
	}
	sb_put(b, tmp, (size_t)n);
}

/* Text from the ledger: &<>"' escaped, anything that is not printable
 * ASCII replaced by '?', so the page stays ASCII and well-formed. */
static void sb_esc(struct sbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *e = klic_html_char(*s);
		if (e != NULL)
			sb_str(b, e);
		else
			sb_put(b, s, 1);
	}
}

static void date_of(char out[11], int64_t t)
{
	char ts[KLIC_TIME_LEN + 1];
	if (klic_time_format(ts, t) != 0)
		snprintf(ts, sizeof ts, "%s", "(bad date)");
	memcpy(out, ts, 10);
	out[10] = '\0';
}

static const char css[] =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#1a1a1a;"
    "padding:0 1em}\n"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em}\n"
    ".meta{color:#555;margin-top:0}\n"
    "table{border-collapse:collapse;width:100%;font-size:.95em}\n"
    "th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "tr.ended td{color:#888}\n"
    ".warn{color:#a15c00;font-weight:600}.full{color:#b00020;font-weight:600}\n"
    "figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.3em}\n"
    "svg{max-width:100%;height:auto;background:#fafafa;border:1px solid #e5e5e5}\n"
    "svg text{font:11px system-ui,sans-serif;fill:#444}\n"
    ".use{fill:#cfe3f7;stroke:#1f6fb2;stroke-width:1.5}\n"
    ".cap{stroke:#b00020;stroke-dasharray:6 4;stroke-width:1.2}\n"
    ".today{stroke:#555;stroke-dasharray:2 3}\n"
    ".axis{stroke:#999}\n"
    ".note{color:#555;font-size:.9em}\n";

/* Chart geometry (SVG user units). */
#define CW 760.0
#define CH 220.0
#define ML 48.0
#define MR 16.0
#define MT 14.0
#define MB 34.0

static void chart(struct sbuf *b, const struct klic_report *r, const struct klic_report_ent *e)
{
	const double pw = CW - ML - MR, ph = CH - MT - MB;
	unsigned ymax = e->e.seats > e->peak ? e->e.seats : e->peak;
	char d0[11], d1[11];
	double x, y, ycap;
	int64_t today = day_of(r->now);

	if (ymax == 0)
		ymax = 1;
#define X(k) (ML + pw * (double)(k) / (double)r->n_days)
#define Y(v) (MT + ph - ph * (double)(v) / (double)ymax)
	sb_printf(b,
		  "<svg role=\"img\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
		  "height=\"%.0f\">\n",
		  CW, CH, CW, CH);
	sb_printf(b, "<title>Seats in use per day, entitlement %lld</title>\n", (long long)e->e.id);
	/* axes */
	sb_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", ML,
		  MT + ph, ML + pw, MT + ph);
	sb_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", ML,
		  MT, ML, MT + ph);
	/* seats in use: a step line, filled below */
	sb_printf(b, "<path class=\"use\" d=\"M%.1f %.1fV%.1f", X(0), Y(0), Y(e->daily[0]));
	for (size_t k = 1; k < r->n_days; k++) {
		if (e->daily[k] == e->daily[k - 1])
			continue;
		y = Y(e->daily[k]);
		sb_printf(b, "H%.1fV%.1f", X(k), y);
	}
	sb_printf(b, "H%.1fV%.1fZ\"/>\n", X(r->n_days), Y(0));
	/* seats bought */
	ycap = Y(e->e.seats);
	sb_printf(b, "<line class=\"cap\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", ML,
		  ycap, ML + pw, ycap);
	sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%u seats</text>\n", ML + pw,
		  ycap - 4 < MT + 9 ? ycap + 12 : ycap - 4, e->e.seats);
	/* today */
	if (today >= r->first_day && today < r->first_day + (int64_t)r->n_days * DAY) {
		x = X((size_t)((today - r->first_day) / DAY)) + pw / (double)r->n_days / 2;
		sb_printf(
		    b, "<line class=\"today\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
		    x, MT, x, MT + ph);
		sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">today</text>\n", x,
			  MT + ph + 26);
	}
	/* labels */
	sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>\n", ML - 6,
		  MT + ph + 4);
	sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%u</text>\n", ML - 6, MT + 4,
		  ymax);
	date_of(d0, r->first_day);
	date_of(d1, r->first_day + (int64_t)(r->n_days - 1) * DAY);
	sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", ML, MT + ph + 14, d0);
	sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", ML + pw,
		  MT + ph + 14, d1);
	sb_str(b, "</svg>\n");
#undef X
#undef Y
}

int klic_report_html(char **out, size_t *outlen, const struct klic_report *r)
{
	struct sbuf b = {NULL, 0, 0, 0};
	char now_s[KLIC_TIME_LEN + 1];

	*out = NULL;
	*outlen = 0;
	if (klic_time_format(now_s, r->now) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "report: bad time");
	sb_str(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		   "<title>klic seat report: ");
	sb_esc(&b, r->org);
	sb_str(&b, "</title>\n<style>\n");
	sb_str(&b, css);
	sb_str(&b, "</style>\n</head>\n<body>\n<h1>Offline license seats</h1>\n<p class=\"meta\">");
	sb_esc(&b, r->org);
	sb_str(&b, " &middot; issuer key ");
	sb_esc(&b, r->issuer_fpr);
	sb_printf(&b, " &middot; generated %s</p>\n", now_s);

	if (r->n == 0) {
		sb_str(&b, "<p>No entitlements recorded.</p>\n");
	} else {
		sb_str(&b, "<table>\n<thead><tr><th>ID</th><th>Product</th><th>Model</th>"
			   "<th>Billing</th><th class=\"n\">Seats</th><th class=\"n\">Used</th>"
			   "<th class=\"n\">Free</th><th class=\"n\">Expiring &le; 7 days</th>"
			   "<th class=\"n\">Expiring &le; 30 days</th><th>Until</th><th>Ref</th>"
			   "</tr></thead>\n<tbody>\n");
		for (size_t i = 0; i < r->n; i++) {
			const struct klic_report_ent *e = &r->ent[i];
			sb_printf(&b, "<tr%s><td>%lld</td><td>", e->valid ? "" : " class=\"ended\"",
				  (long long)e->e.id);
			sb_esc(&b, e->e.product);
			sb_str(&b, "</td><td>");
			sb_esc(&b, e->e.model);
			sb_str(&b, "</td><td>");
			sb_esc(&b, e->e.billing);
			sb_printf(&b,
				  "</td><td class=\"n\">%u</td><td class=\"n\">%u</td>"
				  "<td class=\"n%s\">%u</td><td class=\"n%s\">%u</td>"
				  "<td class=\"n\">%u</td><td>",
				  e->e.seats, e->e.used, e->valid && e->free == 0 ? " full" : "",
				  e->free, e->expiring_7d > 0 ? " warn" : "", e->expiring_7d,
				  e->expiring_30d);
			sb_esc(&b, e->e.until);
			sb_str(&b, e->valid ? "" : " (ended)");
			sb_str(&b, "</td><td>");
			sb_esc(&b, e->e.ref);
			sb_str(&b, "</td></tr>\n");
		}
		sb_str(&b, "</tbody>\n</table>\n");
	}

	sb_str(&b, "<h2>Seats in use per day</h2>\n");
	if (r->n_days == 0) {
		sb_str(&b, "<p>No license has been issued yet.</p>\n");
	} else {
		for (size_t i = 0; i < r->n; i++) {
			const struct klic_report_ent *e = &r->ent[i];
			sb_printf(&b,
				  "<figure>\n<figcaption>Entitlement %lld: ", (long long)e->e.id);
			sb_esc(&b, e->e.product);
			sb_str(&b, ", ");
			sb_esc(&b, e->e.model);
			sb_str(&b, ", ");
			sb_esc(&b, e->e.billing);
			sb_printf(&b, ", %u seats until ", e->e.seats);
			sb_esc(&b, e->e.until);
			sb_printf(&b, " &middot; peak %u, %u issued in all</figcaption>\n", e->peak,
				  e->issued_total);
			if (e->issued_total == 0)
				sb_str(&b, "<p class=\"note\">No license issued from this "
					   "entitlement.</p>\n");
			else
				chart(&b, r, e);
			sb_str(&b, "</figure>\n");
		}
		sb_str(&b, "<p class=\"note\">A day counts every license valid at some moment of "
			   "that day (UTC). Dashed line: seats bought. Dotted line: today.");
		if (r->truncated)
			sb_printf(&b, " Only the last %d days are shown.", KLIC_REPORT_MAX_DAYS);
		sb_str(&b, "</p>\n");
	}
	sb_str(&b, "</body>\n</html>\n");
	if (b.err != 0) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
}

int klic_license_view(struct klic_license_view *v, const struct klic_license_row *row, int64_t now)
{
	v->state = row->ended != 0 && row->ended <= now ? row->end_reason
		   : row->expires > now                 ? "active"
							: "expired";
	if (klic_time_format(v->issued, row->issued) != 0 ||
	    klic_time_format(v->expires, row->expires) != 0)
		return klic_error_set(KLIC_ERR_LEDGER, "license %s: bad time", row->license_id);
	return 0;
}

json_t *klic_license_json(const struct klic_license_row *row, const struct klic_license_view *v)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:I,s:s,s:o}", "license_id",
			 row->license_id, "product", row->product, "machine_id", row->machine_id,
			 "member_fpr", row->member_fpr, "request_digest", row->request_digest,
			 "seat", (int)row->seat, "issued", v->issued, "expires", v->expires,
			 "state", v->state, "entitlement_id", (json_int_t)row->entitlement_id,
			 "file", row->file, "issuer_fpr",
			 row->issuer_fpr[0] != '\0' ? json_string(row->issuer_fpr) : json_null());
}
