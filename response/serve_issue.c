/* klic response/ — the web console's Create offline licenses pages (issue
 * 17 item 3).  The requests uploaded (files, or armored text pasted) are
 * written into a private folder and answered by klic_issue_batch, the code
 * of `klic-admin issue`: its confirm callback hands over the plan before a
 * seat is spent.  The preview stops there (nothing is written, nothing
 * spent); the confirmation runs the batch again and proceeds only when the
 * plan is still the one the admin saw (a file whose bytes the preview
 * verified as a member's, same SHA-256, is not verified by gpg again; its
 * signer's membership is); then the .kresp, or one .tar.gz of them, is
 * downloaded. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_error.h"
#include "klic_util.h"
#include "serve_int.h"

#define MAX_REQS KLIC_SERVE_MAX_FILES

struct serve_batch {
	char dir[SERVE_TMP_MAX]; /* $TMPDIR/klic-serve-XXXXXX, mode 0700 */
	char in[SERVE_TMP_MAX + 4], out[SERVE_TMP_MAX + 4]; /* dir/in, dir/out */
	char id[SERVE_TOKEN_HEX + 1];                       /* the forms' batch field */
	size_t n;                                           /* requests */
	char names[MAX_REQS][SERVE_NAME_MAX];
	char paths[MAX_REQS][SERVE_TMP_MAX + 4 + SERVE_NAME_MAX];
	const char *argv[MAX_REQS];
	struct klic_issue_result plan[MAX_REQS];
	unsigned total; /* seats the plan spends */
	int issued;     /* the confirmed batch ran: res[] */
	struct klic_issue_result res[MAX_REQS];
	size_t nres;
};

/* ---- the private folder ---------------------------------------------------------- */

static void empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof p, "%s/%s", path, e->d_name) < (int)sizeof p)
			unlink(p);
	}
	closedir(d);
	rmdir(path);
}

void serve_batch_free(struct serve_batch *bt)
{
	if (bt == NULL)
		return;
	if (bt->dir[0] != '\0') {
		empty_dir(bt->in);
		empty_dir(bt->out);
		rmdir(bt->dir);
	}
	free(bt);
}

void serve_tmp_template(char *out, size_t outsz)
{
	const char *t = getenv("TMPDIR");
	int n;

	if (t == NULL || t[0] != '/' || (n = snprintf(out, outsz, "%s/klic-serve-XXXXXX", t)) < 0 ||
	    (size_t)n >= outsz)
		snprintf(out, outsz, "/tmp/klic-serve-XXXXXX");
}

void serve_req_name(char *out, size_t outsz, const char *in)
{
	size_t o = 0, n;

	if (in[0] == '.')
		out[o++] = '_';
	for (const char *p = in; *p != '\0' && o + 6 < outsz && o < 100; p++) {
		char ch = *p;
		int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			 (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
		out[o++] = ok ? ch : '_';
	}
	out[o] = '\0';
	n = strlen(out);
	if (n < 5 || strcmp(out + n - 5, ".kreq") != 0)
		memcpy(out + n, ".kreq", 6);
}

/* Add one request to bt (written to bt->in).  0, or -1 with why. */
static int add_req(struct serve_batch *bt, const char *name, const uint8_t *data, size_t len,
		   char *why, size_t whysz)
{
	char nm[SERVE_NAME_MAX];

	if (bt->n >= MAX_REQS) {
		snprintf(why, whysz, "more than %u requests in one upload", MAX_REQS);
		return -1;
	}
	serve_req_name(nm, sizeof nm, name);
	for (size_t i = 0; i < bt->n; i++)
		if (strcmp(bt->names[i], nm) == 0) {
			snprintf(why, whysz, "two requests named %s: rename one", nm);
			return -1;
		}
	snprintf(bt->names[bt->n], sizeof bt->names[bt->n], "%s", nm);
	snprintf(bt->paths[bt->n], sizeof bt->paths[bt->n], "%s/%s", bt->in, nm);
	if (klic_write_atomic(bt->paths[bt->n], data, len, 0600, KLIC_WRITE_NOREPLACE) != 0) {
		snprintf(why, whysz, "%s: %s", nm, klic_error_detail());
		return -1;
	}
	bt->argv[bt->n] = bt->paths[bt->n];
	bt->n++;
	return 0;
}

/* A new batch from the form's files "kreq" and text "armored".  *out owned
 * by the caller.  0, or -1 with why (nothing kept). */
static int batch_new(struct serve_batch **out, const struct serve_req *q, char *why, size_t whysz)
{
	struct serve_batch *bt = calloc(1, sizeof *bt);
	const char *armored = serve_field(q, "armored");
	uint8_t raw[SERVE_TOKEN_HEX / 2];

	*out = NULL;
	if (bt == NULL) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	serve_tmp_template(bt->dir, sizeof bt->dir);
	if (mkdtemp(bt->dir) == NULL) {
		snprintf(why, whysz, "/tmp: %s", strerror(errno));
		bt->dir[0] = '\0';
		goto fail;
	}
	snprintf(bt->in, sizeof bt->in, "%s/in", bt->dir);
	snprintf(bt->out, sizeof bt->out, "%s/out", bt->dir);
	if (mkdir(bt->in, 0700) != 0 || klic_random(raw, sizeof raw) != 0) {
		snprintf(why, whysz, "%s: %s", bt->in, strerror(errno));
		goto fail;
	}
	klic_hex(bt->id, raw, sizeof raw);
	for (size_t i = 0; i < q->nparts; i++) {
		const struct serve_part *p = &q->parts[i];
		if (p->filename[0] == '\0' || strcmp(p->name, "kreq") != 0)
			continue;
		if (p->len == 0 && strcmp(p->filename, "(unnamed)") == 0)
			continue; /* the file input left empty */
		if (add_req(bt, p->filename, p->data, p->len, why, whysz) != 0)
			goto fail;
	}
	if (armored[strspn(armored, " \t\r\n")] != '\0' &&
	    add_req(bt, "pasted.kreq", (const uint8_t *)armored, strlen(armored), why, whysz) != 0)
		goto fail;
	if (bt->n == 0) {
		snprintf(why, whysz, "no request: choose .kreq files or paste an armored request");
		goto fail;
	}
	*out = bt;
	return 0;
fail:
	serve_batch_free(bt);
	return -1;
}

/* ---- the batch through klic_issue_batch -------------------------------------------- */

struct run_ctx {
	struct serve_batch *bt;
	int confirming; /* 0: preview (stop at the plan); 1: proceed if the plan is the same */
	int planned;    /* the confirm callback was called */
	int changed;    /* confirming, and the plan is not the previewed one */
};

static int on_plan(void *vctx, const struct klic_issue_result *plan, size_t n, unsigned total)
{
	struct run_ctx *rc = vctx;
	struct serve_batch *bt = rc->bt;

	rc->planned = 1;
	if (!rc->confirming) {
		memcpy(bt->plan, plan, n * sizeof *plan);
		bt->total = total;
		return klic_error_set(KLIC_ERR_DENIED, "preview: nothing issued");
	}
	if (total != bt->total) {
		rc->changed = 1;
	} else {
		for (size_t i = 0; i < n; i++)
			if (plan[i].spend != bt->plan[i].spend ||
			    plan[i].outcome != bt->plan[i].outcome ||
			    strcmp(plan[i].status, bt->plan[i].status) != 0)
				rc->changed = 1;
	}
	if (rc->changed)
		return klic_error_set(KLIC_ERR_DENIED,
				      "the plan changed since the preview; nothing was issued: "
				      "preview again");
	return 0;
}

static void on_result(void *vctx, const struct klic_issue_result *r)
{
	struct run_ctx *rc = vctx;
	if (rc->bt->nres < MAX_REQS)
		rc->bt->res[rc->bt->nres++] = *r;
}

/* Run the batch: a preview (plan only) or the confirmed issue.  0, or the
 * error of the run (a setup error, or the plan changed). */
static int batch_run(struct klic_serve *s, struct serve_batch *bt, int confirming)
{
	struct klic_issue_opts o;
	struct klic_issue_tally t;
	struct run_ctx rc = {bt, confirming, 0, 0};
	int r;

	memset(&o, 0, sizeof o);
	o.outdir = bt->out;
	o.confirm = on_plan;
	o.confirm_always = 1;
	o.report = on_result;
	o.ctx = &rc;
	if (confirming) {
		/* the files the preview verified, unchanged in the private
		 * folder (same digest): not verified by gpg again */
		o.verified = bt->plan;
		o.n_verified = bt->n;
	}
	bt->nres = 0;
	klic_error_clear();
	r = klic_issue_batch(s->admin, bt->argv, bt->n, &o, &t);
	if (!confirming && r != 0 && rc.planned)
		return 0; /* stopped at the plan, as asked */
	if (confirming && r == 0)
		bt->issued = 1;
	return r;
}

/* The line `klic-admin issue NAME.kreq` prints for a refused request, run
 * in the folder that holds it: the private folder left out. */
static void refusal_line(char *out, size_t outsz, const struct serve_batch *bt, size_t i,
			 const struct klic_issue_result *r)
{
	char detail[sizeof r->detail];
	size_t pl = strlen(bt->in), o = 0;

	for (const char *p = r->detail; *p != '\0' && o + 1 < sizeof detail;) {
		if (strncmp(p, bt->in, pl) == 0 && p[pl] == '/') {
			p += pl + 1;
			continue;
		}
		detail[o++] = *p++;
	}
	detail[o] = '\0';
	snprintf(out, outsz, "klic-admin: %s: %s: %s", bt->names[i], klic_strerror(r->err), detail);
}

/* ---- pages -------------------------------------------------------------------------- */

static void csrf_field(struct serve_buf *b, const struct klic_serve *s)
{
	serve_buf_printf(b, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", s->csrf);
}

static enum MHD_Result issue_form(struct klic_serve *s, struct MHD_Connection *c, unsigned status,
				  const char *err)
{
	struct serve_buf b = SERVE_BUF_INIT;
	enum MHD_Result ret;

	if (err != NULL) {
		serve_buf_puts(&b, "<p class=\"refused\" id=\"error\">");
		serve_buf_html(&b, err);
		serve_buf_puts(&b, "</p>\n");
	}
	serve_buf_puts(&b, "<form method=\"post\" action=\"/issue/preview\" "
			   "enctype=\"multipart/form-data\" id=\"upload\" data-drop>");
	csrf_field(&b, s);
	serve_buf_printf(&b,
			 "<p><label>Request files (.kreq, up to %u, %u KiB each) <input "
			 "type=\"file\" name=\"kreq\" id=\"kreq\" multiple accept=\".kreq\">"
			 "</label></p><div class=\"dropzone\" id=\"dropzone\" hidden>or drop .kreq "
			 "files here</div><p><label>or paste an armored request<br><textarea "
			 "name=\"armored\" id=\"armored\" rows=\"8\" cols=\"80\"></textarea>"
			 "</label></p><button type=\"submit\" id=\"preview\">Preview</button>"
			 "</form>\n<p>The preview spends nothing; you confirm next.</p>\n",
			 MAX_REQS, KLIC_SERVE_MAX_FILE >> 10);
	ret = serve_page(s, c, status, "Create offline licenses", &b);
	serve_buf_dispose(&b);
	return ret;
}

static void plan_row(struct serve_buf *b, const struct serve_batch *bt, size_t i)
{
	const struct klic_issue_result *p = &bt->plan[i];
	char line[1024];

	serve_buf_puts(b, "<tr><td class=\"mono\">");
	serve_buf_html(b, bt->names[i]);
	serve_buf_puts(b, "</td><td>");
	serve_buf_html(b, p->member_uid);
	serve_buf_puts(b, "<br><span class=\"mono\">");
	serve_buf_html(b, p->member_fpr);
	serve_buf_puts(b, "</span></td><td class=\"mono\">");
	serve_buf_html(b, p->machine_id);
	serve_buf_puts(b, "</td><td>");
	serve_buf_html(b, p->product);
	if (p->err != 0) /* nothing was read from it */
		serve_buf_puts(b, "</td><td></td><td class=\"verdict\">");
	else
		serve_buf_printf(b, "</td><td>%u</td><td class=\"verdict\">", p->seats);
	if (p->err != 0) {
		refusal_line(line, sizeof line, bt, i, p);
		serve_buf_puts(b, "<span class=\"refused\">refused: ");
		serve_buf_html(b, line);
		serve_buf_puts(b, "</span>");
	} else if (p->outcome == KLIC_OUTCOME_REISSUED) {
		serve_buf_puts(b, strcmp(p->status, KLIC_STATUS_ISSUED) == 0
				      ? "re-issue of an issued response (nothing spent)"
				      : "re-issue of a denial: ");
		serve_buf_html(b, p->reason_code);
	} else if (p->spend > 0) {
		serve_buf_printf(b, "<span class=\"ok\">issue %u seat%s</span>", p->spend,
				 p->spend == 1 ? "" : "s");
	} else {
		serve_buf_puts(b, "<span class=\"refused\">denied: ");
		serve_buf_html(b, p->reason_code);
		serve_buf_puts(b, "</span>");
		if (strcmp(p->reason_code, "not-member") == 0)
			serve_buf_puts(b, " (accept the member's key first: klic-admin member add "
					  "--from-request)");
	}
	serve_buf_puts(b, "</td></tr>\n");
}

static enum MHD_Result preview_page(struct klic_serve *s, struct MHD_Connection *c,
				    const struct serve_batch *bt)
{
	struct serve_buf b = SERVE_BUF_INIT;
	size_t answerable = 0;
	enum MHD_Result ret;

	serve_buf_puts(&b, "<table id=\"plan\"><thead><tr><th>Request</th><th>Member</th>"
			   "<th>Machine</th><th>Product</th><th>Seats</th><th>Verdict</th></tr>"
			   "</thead><tbody>\n");
	for (size_t i = 0; i < bt->n; i++) {
		plan_row(&b, bt, i);
		answerable += bt->plan[i].err == 0;
	}
	serve_buf_puts(&b, "</tbody></table>\n");
	if (answerable == 0) {
		serve_buf_puts(&b, "<p id=\"nothing\">Nothing to answer: every request was "
				   "refused.  <a href=\"/issue\">Upload again</a></p>\n");
	} else {
		serve_buf_puts(&b,
			       "<form method=\"post\" action=\"/issue/confirm\" id=\"confirm\">");
		csrf_field(&b, s);
		serve_buf_printf(&b, "<input type=\"hidden\" name=\"batch\" value=\"%s\">", bt->id);
		if (bt->total > 0)
			serve_buf_printf(&b,
					 "<button type=\"submit\" id=\"go\">Issue %u seat%s: this "
					 "cannot be undone</button>",
					 bt->total, bt->total == 1 ? "" : "s");
		else
			serve_buf_printf(&b,
					 "<button type=\"submit\" id=\"go\">Answer %zu request%s "
					 "(no seat is spent)</button>",
					 answerable, answerable == 1 ? "" : "s");
		serve_buf_puts(&b, " <a href=\"/issue\">Cancel</a></form>\n");
	}
	ret = serve_page(s, c, MHD_HTTP_OK, "Create offline licenses: preview", &b);
	serve_buf_dispose(&b);
	return ret;
}

/* The report line of `klic-admin issue` for one result, with names. */
static void result_line(char *out, size_t outsz, const struct serve_batch *bt, size_t i)
{
	const struct klic_issue_result *r = &bt->res[i];
	const char *name = bt->names[i], *slash = strrchr(r->out_path, '/');
	const char *resp = slash ? slash + 1 : r->out_path;

	if (klic_issue_result_line(out, outsz, r, name, resp) != 0)
		refusal_line(out, outsz, bt, i, r);
}

static size_t n_responses(const struct serve_batch *bt)
{
	size_t k = 0;
	for (size_t i = 0; i < bt->nres; i++)
		k += bt->res[i].outcome != KLIC_OUTCOME_ERROR && bt->res[i].out_path[0] != '\0';
	return k;
}

static enum MHD_Result result_page(struct klic_serve *s, struct MHD_Connection *c,
				   const struct serve_batch *bt)
{
	struct serve_buf b = SERVE_BUF_INIT;
	char line[1400];
	size_t k = n_responses(bt);
	enum MHD_Result ret;

	serve_buf_puts(&b, "<ul id=\"results\">\n");
	for (size_t i = 0; i < bt->nres; i++) {
		result_line(line, sizeof line, bt, i);
		serve_buf_printf(&b, "<li class=\"%s\">",
				 bt->res[i].outcome == KLIC_OUTCOME_ERROR ? "refused" : "mono");
		serve_buf_html(&b, line);
		serve_buf_puts(&b, "</li>\n");
	}
	serve_buf_puts(&b, "</ul>\n");
	if (k > 0)
		serve_buf_printf(&b,
				 "<p><a id=\"download\" href=\"/issue/download?batch=%s\">Download "
				 "%s</a></p>\n",
				 bt->id,
				 k == 1 ? "the response (.kresp)" : "the responses (.tar.gz)");
	serve_buf_puts(&b, "<p><a href=\"/issue\">Create more</a></p>\n");
	ret = serve_page(s, c, MHD_HTTP_OK, "Create offline licenses: done", &b);
	serve_buf_dispose(&b);
	return ret;
}

/* ---- download ------------------------------------------------------------------------ */

static la_ssize_t tar_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct serve_buf *b = ctx;
	(void)a;
	serve_buf_put(b, buf, len);
	return b->fail ? -1 : (la_ssize_t)len;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(strrchr(*(const char *const *)x, '/'), strrchr(*(const char *const *)y, '/'));
}

/* One .tar.gz of the batch's responses, the same bytes for the same files:
 * sorted by name, ustar, mode 0644, owner 0, time 0, no gzip timestamp. */
static int tar_gz(struct serve_buf *b, const struct serve_batch *bt)
{
	const char *files[MAX_REQS];
	struct archive *a = archive_write_new();
	struct archive_entry *e = NULL;
	uint8_t *data = NULL;
	size_t n = 0, len;
	int r = KLIC_ERR_INTERNAL;

	for (size_t i = 0; i < bt->nres; i++)
		if (bt->res[i].outcome != KLIC_OUTCOME_ERROR && bt->res[i].out_path[0] != '\0')
			files[n++] = bt->res[i].out_path;
	qsort(files, n, sizeof *files, by_name);
	if (a == NULL || archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "gzip:!timestamp") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, b, NULL, tar_write, NULL) != ARCHIVE_OK) {
		r = klic_error_set(KLIC_ERR_IO, "responses.tar.gz: %s",
				   a ? archive_error_string(a) : "no memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = klic_read_file(&data, &len, files[i], KLIC_MAX_BUNDLE_BYTES)) != 0)
			goto out;
		if ((e = archive_entry_new()) == NULL) {
			r = klic_error_set(KLIC_ERR_NOMEM, "responses.tar.gz");
			goto out;
		}
		archive_entry_set_pathname(e, strrchr(files[i], '/') + 1);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)len);
		archive_entry_set_mtime(e, 0, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    archive_write_data(a, data, len) != (la_ssize_t)len) {
			r = klic_error_set(KLIC_ERR_IO, "responses.tar.gz: %s",
					   archive_error_string(a));
			goto out;
		}
		archive_entry_free(e);
		e = NULL;
		free(data);
		data = NULL;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		r = klic_error_set(KLIC_ERR_IO, "responses.tar.gz: %s", archive_error_string(a));
		goto out;
	}
	r = 0;
out:
	archive_entry_free(e);
	free(data);
	archive_write_free(a);
	return r;
}

static enum MHD_Result download(struct klic_serve *s, struct MHD_Connection *c)
{
	const struct serve_batch *bt = s->batch;
	const char *id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "batch");
	struct serve_buf b = SERVE_BUF_INIT;
	char disp[SERVE_NAME_MAX + 64];
	struct MHD_Response *rs;
	enum MHD_Result ret;
	int r = 0;

	if (bt == NULL || !bt->issued || id == NULL || strcmp(id, bt->id) != 0 ||
	    n_responses(bt) == 0)
		return serve_refuse(s, c, MHD_HTTP_NOT_FOUND, "GET", "/issue/download",
				    "no such batch");
	if (n_responses(bt) == 1) {
		size_t i = 0, len = 0;
		uint8_t *data = NULL;
		while (bt->res[i].outcome == KLIC_OUTCOME_ERROR || bt->res[i].out_path[0] == '\0')
			i++;
		r = klic_read_file(&data, &len, bt->res[i].out_path, KLIC_MAX_BUNDLE_BYTES);
		if (r == 0)
			serve_buf_put(&b, (const char *)data, len);
		free(data);
		snprintf(disp, sizeof disp, "attachment; filename=\"%s\"",
			 strrchr(bt->res[i].out_path, '/') + 1);
	} else {
		r = tar_gz(&b, bt);
		snprintf(disp, sizeof disp, "attachment; filename=\"responses.tar.gz\"");
	}
	if (r != 0 || b.fail) {
		serve_buf_dispose(&b);
		return serve_refuse(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "GET", "/issue/download",
				    r != 0 ? klic_error_detail() : "out of memory");
	}
	rs = MHD_create_response_from_buffer(b.len, b.p ? b.p : "", MHD_RESPMEM_MUST_COPY);
	serve_buf_dispose(&b);
	if (rs == NULL)
		return MHD_NO;
	if (serve_headers(rs) != 0 ||
	    MHD_add_response_header(rs, "Content-Type", "application/octet-stream") != MHD_YES ||
	    MHD_add_response_header(rs, "Content-Disposition", disp) != MHD_YES) {
		MHD_destroy_response(rs);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, rs);
	MHD_destroy_response(rs);
	return ret;
}

/* ---- routes ------------------------------------------------------------------------------ */

enum MHD_Result serve_issue_get(struct klic_serve *s, struct MHD_Connection *c, const char *url)
{
	if (strcmp(url, "/issue/download") == 0)
		return download(s, c);
	return issue_form(s, c, MHD_HTTP_OK, NULL);
}

static enum MHD_Result setup_error(struct klic_serve *s, struct MHD_Connection *c, int r)
{
	char line[1024];
	snprintf(line, sizeof line, "klic-admin: issue: %s: %s", klic_strerror(r),
		 klic_error_detail());
	return issue_form(s, c, MHD_HTTP_CONFLICT, line);
}

enum MHD_Result serve_issue_post(struct klic_serve *s, struct MHD_Connection *c, const char *url,
				 const struct serve_req *q)
{
	char why[600];
	int r;

	if (strcmp(url, "/issue/preview") == 0) {
		struct serve_batch *bt = NULL;
		serve_batch_free(s->batch); /* a new upload replaces the batch not confirmed */
		s->batch = NULL;
		if (batch_new(&bt, q, why, sizeof why) != 0)
			return issue_form(s, c, MHD_HTTP_BAD_REQUEST, why);
		s->batch = bt;
		if ((r = batch_run(s, bt, 0)) != 0)
			return setup_error(s, c, r);
		return preview_page(s, c, bt);
	}
	/* /issue/confirm */
	if (s->batch == NULL || !token_eq_hex(serve_field(q, "batch"), s->batch->id))
		return issue_form(s, c, MHD_HTTP_CONFLICT,
				  "no such preview (the server restarted, or another upload "
				  "replaced it): upload again");
	if (s->batch->issued)
		return result_page(s, c, s->batch); /* confirmed already: the same result */
	if ((r = batch_run(s, s->batch, 1)) != 0)
		return setup_error(s, c, r);
	return result_page(s, c, s->batch);
}
