/* klic response/ — the web console's Members page (issue 17 item 5): the
 * members, and accepting a member from a request after seeing its key's
 * fingerprint.  The preview opens the request and checks its signature
 * with its own key (klic_request_open, klic_verify_with_embedded_key) and
 * reads the key (klic_key_inspect), importing nothing; accepting is
 * `klic-admin member add --from-request` (klic_admin_member_add_request)
 * on the same file, and must find the fingerprint that was shown.
 * Removing a member is two POSTs: the first shows its fingerprint and user
 * ID and asks, changing nothing; the second is `klic-admin member remove
 * --yes FPR` (klic_admin_member_remove: its row, the audit event
 * 'member-remove', its key out of the members' keyring). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_cli.h"
#include "klic_error.h"
#include "klic_keys.h"
#include "klic_members.h"
#include "klic_util.h"
#include "response_int.h" /* klic_request_open: the request reader of issue and member add */
#include "serve_int.h"

struct serve_member {
	char dir[SERVE_TMP_MAX];                   /* $TMPDIR/klic-serve-XXXXXX (0700) */
	char path[SERVE_TMP_MAX + SERVE_NAME_MAX]; /* dir/NAME.kreq */
	char name[SERVE_NAME_MAX];
	char id[SERVE_TOKEN_HEX + 1]; /* the accept form's field */
	char fpr[KLIC_FPR_HEX_LEN + 1];
	char uid[KLIC_MAX_UID_LEN + 1];
};

void serve_member_free(struct serve_member *m)
{
	if (m == NULL)
		return;
	if (m->path[0] != '\0')
		unlink(m->path);
	if (m->dir[0] != '\0')
		rmdir(m->dir);
	free(m);
}

struct list_ctx {
	struct klic_serve *s;
	struct serve_buf *b;
	size_t n;
};

static int member_row(void *vctx, const char *fpr)
{
	struct list_ctx *lc = vctx;
	char uid[KLIC_MAX_UID_LEN + 1];
	int r = klic_ledger_member_name(lc->s->admin->ledger, uid, sizeof uid, fpr);

	if (r != 0)
		return r;
	serve_buf_puts(lc->b, "<tr><td class=\"mono\">");
	serve_buf_html(lc->b, fpr);
	serve_buf_puts(lc->b, "</td><td>");
	serve_buf_html(lc->b, uid);
	/* fpr: 40 upper-case hex digits from the ledger, nothing to escape */
	serve_buf_printf(lc->b,
			 "</td><td><form method=\"post\" action=\"/members/remove\" "
			 "class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
			 "<input type=\"hidden\" name=\"member\" value=\"%s\"><button "
			 "type=\"submit\" id=\"remove-%s\">Remove</button></form></td></tr>\n",
			 lc->s->csrf, fpr, fpr);
	lc->n++;
	return 0;
}

static enum MHD_Result members_page(struct klic_serve *s, struct MHD_Connection *c, unsigned status,
				    const char *cls, const char *msg)
{
	struct serve_buf b = SERVE_BUF_INIT;
	struct list_ctx lc = {s, &b, 0};
	enum MHD_Result ret;
	int r;

	if (msg != NULL) {
		serve_buf_printf(&b, "<p class=\"%s\" id=\"%s\">", cls,
				 strcmp(cls, "ok") == 0 ? "done" : "error");
		serve_buf_html(&b, msg);
		serve_buf_puts(&b, "</p>\n");
	}
	serve_buf_puts(&b, "<table id=\"members\"><thead><tr><th>Fingerprint</th><th>User ID</th>"
			   "<th></th></tr></thead><tbody>\n");
	r = klic_ledger_members(s->admin->ledger, member_row, &lc);
	serve_buf_printf(&b, "</tbody></table>\n<p id=\"count\">%zu member%s</p>\n", lc.n,
			 lc.n == 1 ? "" : "s");
	if (r != 0) {
		serve_buf_dispose(&b);
		return serve_refuse(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "GET", "/members",
				    klic_error_detail());
	}
	serve_buf_printf(&b,
			 "<h2>Accept a member from a request</h2>\n<form method=\"post\" "
			 "action=\"/members/preview\" enctype=\"multipart/form-data\" "
			 "id=\"member-upload\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
			 "<p><label>Request (.kreq) <input type=\"file\" name=\"kreq\" "
			 "id=\"member-kreq\" accept=\".kreq\"></label></p><p><label>or paste it "
			 "armored<br><textarea name=\"armored\" rows=\"6\" cols=\"80\"></textarea>"
			 "</label></p><button type=\"submit\" id=\"member-preview\">Show its key"
			 "</button></form>\n",
			 s->csrf);
	ret = serve_page(s, c, status, "Members", &b);
	serve_buf_dispose(&b);
	return ret;
}

/* The fingerprint in groups of four, as gpg shows it. */
static void put_fpr(struct serve_buf *b, const char *fpr)
{
	for (size_t i = 0; i < KLIC_FPR_HEX_LEN; i += 4)
		serve_buf_printf(b, "%s%.4s", i == 0 ? "" : i == 20 ? "&nbsp; " : " ", fpr + i);
}

/* Open the uploaded request, check its signature with its own key and read
 * that key: the steps of member add --from-request before it registers. */
static int inspect(struct klic_serve *s, struct serve_member *m)
{
	struct klic_opened_request rq;
	int r;

	if ((r = klic_request_open(&rq, m->path)) == 0 &&
	    (r = klic_verify_with_embedded_key(rq.key->data, rq.key->len, rq.req.requester_fpr,
					       rq.sig->data, rq.sig->len, rq.man->data,
					       rq.man->len)) == 0 &&
	    (r = klic_key_inspect(s->admin->members, m->fpr, m->uid, rq.key->data, rq.key->len)) ==
		0 &&
	    strcmp(m->fpr, rq.req.requester_fpr) != 0)
		r = klic_error_set(KLIC_ERR_KEY, "requester.pgp is %s, the manifest names %s",
				   m->fpr, rq.req.requester_fpr);
	klic_opened_request_dispose(&rq);
	return r;
}

/* The refusal line of `klic-admin member add --from-request NAME`, run in
 * the folder that holds it (the private folder left out of the detail). */
static void refusal(char *out, size_t outsz, const struct serve_member *m, int r)
{
	char detail[1024];
	const char *d = klic_error_detail();
	size_t pl = strlen(m->dir), o = 0;

	for (const char *p = d; *p != '\0' && o + 1 < sizeof detail;) {
		if (strncmp(p, m->dir, pl) == 0 && p[pl] == '/') {
			p += pl + 1;
			continue;
		}
		detail[o++] = *p++;
	}
	detail[o] = '\0';
	snprintf(out, outsz, "klic-admin: %s: %s: %s", m->name, klic_strerror(r), detail);
}

static enum MHD_Result preview(struct klic_serve *s, struct MHD_Connection *c,
			       const struct serve_req *q)
{
	struct serve_member *m = calloc(1, sizeof *m);
	const struct serve_part *file = NULL;
	const char *armored = serve_field(q, "armored");
	struct serve_buf b = SERVE_BUF_INIT;
	char line[1400];
	uint8_t raw[SERVE_TOKEN_HEX / 2];
	enum MHD_Result ret;
	int r;

	serve_member_free(s->member);
	s->member = NULL;
	if (m == NULL)
		return serve_send(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "no memory\n",
				  10);
	for (size_t i = 0; i < q->nparts; i++)
		if (q->parts[i].filename[0] != '\0' && strcmp(q->parts[i].name, "kreq") == 0 &&
		    q->parts[i].len > 0)
			file = &q->parts[i];
	if (file == NULL && armored[strspn(armored, " \t\r\n")] == '\0') {
		free(m);
		return members_page(s, c, MHD_HTTP_BAD_REQUEST, "refused",
				    "no request: choose a .kreq file or paste an armored request");
	}
	serve_req_name(m->name, sizeof m->name, file ? file->filename : "pasted.kreq");
	serve_tmp_template(m->dir, sizeof m->dir);
	if (mkdtemp(m->dir) == NULL) {
		m->dir[0] = '\0';
		serve_member_free(m);
		return members_page(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "refused",
				    strerror(errno));
	}
	snprintf(m->path, sizeof m->path, "%s/%s", m->dir, m->name);
	if ((r = klic_write_atomic(m->path, file ? file->data : (const uint8_t *)armored,
				   file ? file->len : strlen(armored), 0600,
				   KLIC_WRITE_NOREPLACE)) != 0 ||
	    (r = klic_random(raw, sizeof raw)) != 0 || (r = inspect(s, m)) != 0) {
		refusal(line, sizeof line, m, r);
		serve_member_free(m);
		return members_page(s, c, MHD_HTTP_BAD_REQUEST, "refused", line);
	}
	klic_hex(m->id, raw, sizeof raw);
	s->member = m;
	serve_buf_puts(&b, "<dl class=\"facts\"><dt>Request</dt><dd class=\"mono\">");
	serve_buf_html(&b, m->name);
	serve_buf_puts(&b, "</dd><dt>User ID</dt><dd id=\"uid\">");
	serve_buf_html(&b, m->uid);
	serve_buf_puts(&b, "</dd><dt>Fingerprint</dt><dd class=\"mono\" id=\"fpr\">");
	put_fpr(&b, m->fpr);
	serve_buf_printf(&b,
			 "</dd></dl>\n<p>Compare the fingerprint with the one the user reads "
			 "from <code>klic doctor</code> or gpg before accepting.</p>\n<form "
			 "method=\"post\" action=\"/members/accept\" id=\"accept\"><input "
			 "type=\"hidden\" name=\"csrf\" value=\"%s\"><input type=\"hidden\" "
			 "name=\"member\" value=\"%s\"><button type=\"submit\" id=\"accept-go\">"
			 "Accept this key as a member</button> <a href=\"/members\">Cancel</a>"
			 "</form>\n",
			 s->csrf, m->id);
	ret = serve_page(s, c, MHD_HTTP_OK, "Members: accept a key", &b);
	serve_buf_dispose(&b);
	return ret;
}

static enum MHD_Result accept_key(struct klic_serve *s, struct MHD_Connection *c,
				  const struct serve_req *q)
{
	struct serve_member *m = s->member;
	char fpr[KLIC_FPR_HEX_LEN + 1], uid[KLIC_MAX_UID_LEN + 1], line[1400];
	int added = 0, r;

	if (m == NULL || !token_eq_hex(serve_field(q, "member"), m->id))
		return members_page(s, c, MHD_HTTP_CONFLICT, "refused",
				    "no such key shown (another upload replaced it): upload again");
	s->member = NULL;
	r = klic_admin_member_add_request(s->admin, fpr, uid, &added, m->path);
	if (r == 0 && strcmp(fpr, m->fpr) != 0) /* the same file: cannot happen */
		r = klic_error_set(KLIC_ERR_INTERNAL, "added %s, shown %s", fpr, m->fpr);
	if (r != 0)
		refusal(line, sizeof line, m, r);
	else
		snprintf(line, sizeof line, "%s %s%s", fpr, uid,
			 added ? "" : " (already a member)");
	serve_member_free(m);
	return members_page(s, c, r == 0 ? MHD_HTTP_OK : MHD_HTTP_CONFLICT,
			    r == 0 ? "ok" : "refused", line);
}

/* POST /members/remove (member=FPR, as the command line takes it): the
 * member's fingerprint and user ID and the question; nothing changes.
 * POST /members/remove/confirm: member remove --yes FPR. */
static enum MHD_Result remove_member(struct klic_serve *s, struct MHD_Connection *c,
				     const struct serve_req *q, int confirmed)
{
	struct klic_member_info mi;
	struct serve_buf b = SERVE_BUF_INIT;
	char fpr[KLIC_FPR_HEX_LEN + 1], uid[KLIC_MAX_UID_LEN + 1], line[1400];
	enum MHD_Result ret;
	int r;

	if (klic_cli_upper(fpr, sizeof fpr, serve_field(q, "member")) == NULL ||
	    klic_fpr_check(fpr) != 0)
		return members_page(s, c, MHD_HTTP_BAD_REQUEST, "refused",
				    "member must be a fingerprint (40 hex digits)");
	if (confirmed)
		r = klic_admin_member_remove(s->admin, uid, fpr, NULL, NULL);
	else if ((r = klic_ledger_member_get(s->admin->ledger, &mi, fpr)) == 0)
		r = klic_ledger_member_name(s->admin->ledger, uid, sizeof uid, fpr);
	if (r != 0) {
		snprintf(line, sizeof line, "klic-admin: %s: %s: %s", fpr, klic_strerror(r),
			 klic_error_detail());
		return members_page(s, c, MHD_HTTP_CONFLICT, "refused", line);
	}
	if (confirmed) {
		snprintf(line, sizeof line,
			 "removed %s %s (its licenses stay valid until they expire)", fpr, uid);
		return members_page(s, c, MHD_HTTP_OK, "ok", line);
	}
	serve_buf_puts(&b, "<dl class=\"facts\"><dt>User ID</dt><dd id=\"uid\">");
	serve_buf_html(&b, uid);
	serve_buf_puts(&b, "</dd><dt>Fingerprint</dt><dd class=\"mono\" id=\"fpr\">");
	put_fpr(&b, fpr);
	serve_buf_printf(&b,
			 "</dd></dl>\n<p>Its requests are denied from then on (not-member); the "
			 "licenses it was issued stay valid until they expire.</p>\n<form "
			 "method=\"post\" action=\"/members/remove/confirm\" id=\"remove\">"
			 "<input type=\"hidden\" name=\"csrf\" value=\"%s\"><input "
			 "type=\"hidden\" name=\"member\" value=\"%s\"><button type=\"submit\" "
			 "id=\"remove-go\">Remove this member</button> <a href=\"/members\">Cancel"
			 "</a></form>\n",
			 s->csrf, fpr);
	ret = serve_page(s, c, MHD_HTTP_OK, "Members: remove a member", &b);
	serve_buf_dispose(&b);
	return ret;
}

enum MHD_Result serve_members(struct klic_serve *s, struct MHD_Connection *c, const char *url,
			      const struct serve_req *q)
{
	if (q == NULL)
		return members_page(s, c, MHD_HTTP_OK, "ok", NULL);
	if (strcmp(url, "/members/preview") == 0)
		return preview(s, c, q);
	if (strcmp(url, "/members/remove") == 0)
		return remove_member(s, c, q, 0);
	if (strcmp(url, "/members/remove/confirm") == 0)
		return remove_member(s, c, q, 1);
	return accept_key(s, c, q);
}
