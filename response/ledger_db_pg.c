/* klic response/ — the ledger's PostgreSQL engine (ledger_db.h, libpq):
 * one ledger shared by several admins (spec/LEDGER.md).  The same SQL
 * text as SQLite: ?N placeholders become $N here, outside quoted text.
 * Results are read whole, in text form (bytea unescaped on demand). */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_response.h"
#include "ledger_db_int.h"

/* The one ledger-wide writer lock (pg_advisory_xact_lock): "klicledg". */
#define WRITER_LOCK_KEY "7740677735284302951"
#define BYTEA_OID 17
#define MAX_PARAMS 32

struct pg_db {
	struct klic_db base;
	PGconn *c;
	int64_t changes;
	unsigned next_id; /* prepared statement names s1, s2, ... */
	char msg[512];    /* the last failure, one line */
	int gone;         /* the server ended the session (pg_lost) */
};

struct pg_param {
	const char *val; /* NULL: SQL NULL */
	int len;
	int fmt; /* 0 text, 1 binary */
	char num[24];
};

struct pg_stmt {
	struct klic_stmt base;
	struct pg_db *db;
	char *sql; /* as given */
	char name[16];
	int nparams;
	struct pg_param p[MAX_PARAMS];
	PGresult *res;        /* NULL: not run since the last reset */
	int row;              /* the current row, -1 before the first */
	unsigned char **blob; /* per column: the unescaped bytea of the current row */
	size_t *blob_len;
	int ncols;
};

#define PGD(d) ((struct pg_db *)(d))
#define PGS(s) ((struct pg_stmt *)(s))

/* msg = what libpq or the server said, on one line, without the
 * password (libpq never repeats it). */
static void set_msg(struct pg_db *d, const char *m)
{
	size_t n = 0;
	int space = 0;

	for (; m != NULL && *m != '\0' && n + 1 < sizeof d->msg; m++) {
		if (*m == '\n' || *m == '\t' || *m == '\r' || *m == ' ') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < sizeof d->msg)
			d->msg[n++] = ' ';
		space = 0;
		d->msg[n++] = *m;
	}
	d->msg[n] = '\0';
	if (n == 0)
		snprintf(d->msg, sizeof d->msg, "unknown error");
}

static void set_conn_msg(struct pg_db *d)
{
	set_msg(d, PQerrorMessage(d->c));
	if (PQstatus(d->c) == CONNECTION_BAD && strstr(d->msg, "connection") == NULL) {
		char m[sizeof d->msg];
		snprintf(m, sizeof m, "connection lost: %.480s", d->msg);
		memcpy(d->msg, m, sizeof m);
	}
}

/* A statement failed: its message, and whether the session is over: no
 * result, an error libpq made itself (no SQLSTATE: "server closed the
 * connection unexpectedly" comes so, the connection still marked ok), a
 * connection exception (class 08) or an operator intervention (57P: the
 * server shutting down or restarting). */
static void set_res_msg(struct pg_db *d, const PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (res != NULL && PQresultErrorMessage(res)[0] != '\0')
		set_msg(d, PQresultErrorMessage(res));
	else
		set_conn_msg(d);
	if (state == NULL || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		d->gone = 1;
}

static int pg_err(struct klic_db *db, const char *what)
{
	struct pg_db *d = PGD(db);

	/* the ledger's name is the caller's (klic_ledger_display) */
	if (what == NULL || what[0] == '\0')
		return klic_error_set(KLIC_ERR_LEDGER, "%s", d->msg);
	return klic_error_set(KLIC_ERR_LEDGER, "%s: %s", what, d->msg);
}

static void pg_close(struct klic_db *db)
{
	if (PGD(db)->c != NULL)
		PQfinish(PGD(db)->c);
	free(db);
}

/* Run sql (no placeholders); 0 when the server says ok. */
static int run(struct pg_db *d, const char *sql, const char *expect_status)
{
	PGresult *res = PQexec(d->c, sql);
	ExecStatusType s = PQresultStatus(res);
	int r = 0;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		set_res_msg(d, res);
		r = 1;
	} else if (expect_status != NULL && strcmp(PQcmdStatus(res), expect_status) != 0) {
		/* COMMIT of a failed transaction answers ROLLBACK */
		snprintf(d->msg, sizeof d->msg, "the transaction was rolled back (%s)",
			 PQcmdStatus(res));
		r = 1;
	}
	PQclear(res);
	return r;
}

static const struct klic_db_ops pg_ops;

/* sql with ?N rewritten to $N outside '...', "..." and $$...$$; *n the
 * highest N. */
static char *rewrite(const char *sql, int *n)
{
	size_t len = strlen(sql);
	char *out = malloc(len + 1), *o = out;
	char q = 0;

	*n = 0;
	if (out == NULL)
		return NULL;
	for (const char *s = sql; *s != '\0'; s++) {
		if (q != 0) {
			if (*s == q)
				q = 0;
		} else if (*s == '\'' || *s == '"') {
			q = *s;
		} else if (*s == '?' && s[1] >= '0' && s[1] <= '9') {
			int k = 0;
			*o++ = '$';
			while (s[1] >= '0' && s[1] <= '9') {
				k = k * 10 + (s[1] - '0');
				*o++ = *++s;
			}
			if (k > *n)
				*n = k;
			continue;
		}
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static int pg_prepare(struct klic_db *db, struct klic_stmt **out, const char *sql)
{
	struct pg_db *d = PGD(db);
	struct pg_stmt *s = calloc(1, sizeof *s);
	char *text = NULL;
	PGresult *res;

	*out = NULL;
	if (s == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "statement");
	s->base.ops = &pg_ops;
	s->db = d;
	s->row = -1;
	s->sql = strdup(sql);
	text = rewrite(sql, &s->nparams);
	if (s->sql == NULL || text == NULL) {
		snprintf(d->msg, sizeof d->msg, "out of memory");
		goto fail;
	}
	if (s->nparams > MAX_PARAMS) {
		snprintf(d->msg, sizeof d->msg, "too many parameters");
		goto fail;
	}
	snprintf(s->name, sizeof s->name, "s%u", ++d->next_id);
	res = PQprepare(d->c, s->name, text, s->nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_res_msg(d, res);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	free(text);
	*out = &s->base;
	return 0;
fail:
	free(text);
	free(s->sql);
	free(s);
	return 1;
}

static const char *pg_sql(const struct klic_stmt *st)
{
	return ((const struct pg_stmt *)st)->sql;
}

static void clear_blobs(struct pg_stmt *s)
{
	for (int i = 0; i < s->ncols; i++) {
		if (s->blob[i] != NULL)
			PQfreemem(s->blob[i]);
		s->blob[i] = NULL;
	}
}

static void pg_reset(struct klic_stmt *st)
{
	struct pg_stmt *s = PGS(st);

	clear_blobs(s);
	free(s->blob);
	free(s->blob_len);
	s->blob = NULL;
	s->blob_len = NULL;
	s->ncols = 0;
	PQclear(s->res);
	s->res = NULL;
	s->row = -1;
	memset(s->p, 0, sizeof s->p);
}

static void pg_finalize(struct klic_stmt *st)
{
	struct pg_stmt *s = PGS(st);
	char sql[32];

	pg_reset(st);
	/* the connection may be gone: nothing to tell the server then */
	if (s->db->c != NULL && PQstatus(s->db->c) == CONNECTION_OK &&
	    PQtransactionStatus(s->db->c) == PQTRANS_IDLE) {
		snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
		PQclear(PQexec(s->db->c, sql));
	}
	free(s->sql);
	free(s);
}

static struct pg_param *param(struct klic_stmt *st, int i)
{
	return i >= 1 && i <= PGS(st)->nparams ? &PGS(st)->p[i - 1] : NULL;
}

static void pg_bind_int64(struct klic_stmt *st, int i, int64_t v)
{
	struct pg_param *p = param(st, i);

	if (p == NULL)
		return;
	snprintf(p->num, sizeof p->num, "%" PRId64, v);
	p->val = p->num;
	p->len = 0;
	p->fmt = 0;
}

static void pg_bind_text(struct klic_stmt *st, int i, const char *t, int len)
{
	struct pg_param *p = param(st, i);

	if (p == NULL)
		return;
	/* text with a length: the binary form of text is its bytes */
	p->val = t;
	p->len = len < 0 ? 0 : len;
	p->fmt = len < 0 ? 0 : 1;
}

static void pg_bind_blob(struct klic_stmt *st, int i, const void *b, int len)
{
	struct pg_param *p = param(st, i);

	if (p == NULL)
		return;
	p->val = b != NULL ? b : "";
	p->len = len;
	p->fmt = 1;
}

static void pg_bind_null(struct klic_stmt *st, int i)
{
	struct pg_param *p = param(st, i);

	if (p != NULL)
		memset(p, 0, sizeof *p);
}

static int pg_step(struct klic_stmt *st)
{
	struct pg_stmt *s = PGS(st);
	struct pg_db *d = s->db;

	if (s->res == NULL) {
		const char *vals[MAX_PARAMS];
		int lens[MAX_PARAMS], fmts[MAX_PARAMS];
		ExecStatusType rs;
		for (int i = 0; i < s->nparams; i++) {
			vals[i] = s->p[i].val;
			lens[i] = s->p[i].len;
			fmts[i] = s->p[i].fmt;
		}
		s->res = PQexecPrepared(d->c, s->name, s->nparams, vals, lens, fmts, 0);
		rs = PQresultStatus(s->res);
		if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
			set_res_msg(d, s->res);
			PQclear(s->res);
			s->res = NULL;
			return KLIC_DB_ERROR;
		}
		if (PQcmdTuples(s->res)[0] != '\0')
			d->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
		s->ncols = PQnfields(s->res);
		if (s->ncols > 0) {
			s->blob = calloc((size_t)s->ncols, sizeof *s->blob);
			s->blob_len = calloc((size_t)s->ncols, sizeof *s->blob_len);
			if (s->blob == NULL || s->blob_len == NULL) {
				snprintf(d->msg, sizeof d->msg, "out of memory");
				return KLIC_DB_ERROR;
			}
		}
		s->row = -1;
	}
	clear_blobs(s);
	if (s->row + 1 < PQntuples(s->res)) {
		s->row++;
		return KLIC_DB_ROW;
	}
	s->row = PQntuples(s->res);
	return KLIC_DB_DONE;
}

static int valid(struct pg_stmt *s, int i)
{
	return s->res != NULL && s->row >= 0 && s->row < PQntuples(s->res) && i >= 0 &&
	       i < s->ncols;
}

static int pg_col_is_null(struct klic_stmt *st, int i)
{
	struct pg_stmt *s = PGS(st);
	return !valid(s, i) || PQgetisnull(s->res, s->row, i);
}

static int64_t pg_col_int64(struct klic_stmt *st, int i)
{
	struct pg_stmt *s = PGS(st);

	if (pg_col_is_null(st, i))
		return 0;
	return strtoll(PQgetvalue(s->res, s->row, i), NULL, 10);
}

static const char *pg_col_text(struct klic_stmt *st, int i)
{
	struct pg_stmt *s = PGS(st);

	if (pg_col_is_null(st, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

/* A bytea column's bytes (unescaped once per row), else the text's. */
static const void *col_bytes_of(struct pg_stmt *s, int i, size_t *len)
{
	*len = 0;
	if (pg_col_is_null(&s->base, i))
		return NULL;
	if (PQftype(s->res, i) != BYTEA_OID) {
		*len = (size_t)PQgetlength(s->res, s->row, i);
		return PQgetvalue(s->res, s->row, i);
	}
	if (s->blob[i] == NULL)
		s->blob[i] = PQunescapeBytea((const unsigned char *)PQgetvalue(s->res, s->row, i),
					     &s->blob_len[i]);
	*len = s->blob[i] != NULL ? s->blob_len[i] : 0;
	return s->blob[i];
}

static const void *pg_col_blob(struct klic_stmt *st, int i)
{
	size_t n;
	return col_bytes_of(PGS(st), i, &n);
}

static int pg_col_bytes(struct klic_stmt *st, int i)
{
	size_t n;
	(void)col_bytes_of(PGS(st), i, &n);
	return n > 0x7fffffff ? -1 : (int)n;
}

static int64_t pg_changes(struct klic_db *db)
{
	return PGD(db)->changes;
}

static int pg_exec(struct klic_db *db, const char *sql)
{
	return run(PGD(db), sql, NULL);
}

static int pg_begin_write(struct klic_db *db)
{
	struct pg_db *d = PGD(db);

	if (run(d, "BEGIN ISOLATION LEVEL READ COMMITTED", NULL) != 0)
		return 1;
	if (run(d, "SELECT pg_advisory_xact_lock(" WRITER_LOCK_KEY ")", NULL) != 0) {
		char m[sizeof d->msg];
		memcpy(m, d->msg, sizeof m);
		if (PQstatus(d->c) == CONNECTION_OK)
			PQclear(PQexec(d->c, "ROLLBACK"));
		memcpy(d->msg, m, sizeof m);
		return 1;
	}
	return 0;
}

static int pg_begin_read(struct klic_db *db)
{
	return run(PGD(db), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL);
}

static int pg_commit(struct klic_db *db)
{
	return run(PGD(db), "COMMIT", "COMMIT");
}

static int pg_in_transaction(struct klic_db *db)
{
	PGTransactionStatusType t = PQtransactionStatus(PGD(db)->c);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static void pg_rollback(struct klic_db *db)
{
	if (PQstatus(PGD(db)->c) == CONNECTION_OK && pg_in_transaction(db))
		PQclear(PQexec(PGD(db)->c, "ROLLBACK"));
}

/* One value of a one-row query; *null 1 when none or NULL. */
static int query1(struct pg_db *d, const char *sql, char *out, size_t outsz, int *null)
{
	PGresult *res = PQexec(d->c, sql);
	int r = 0;

	*null = 1;
	out[0] = '\0';
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_res_msg(d, res);
		r = 1;
	} else if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
		*null = 0;
		snprintf(out, outsz, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return r;
}

static int pg_version(struct klic_db *db, int *version, int *other)
{
	struct pg_db *d = PGD(db);
	char v[32];
	int null;

	*version = 0;
	*other = 0;
	if (query1(d, "SELECT to_regclass('meta')::text", v, sizeof v, &null) != 0)
		return 1;
	if (null) {
		/* no meta table: a klic ledger only if nothing else is there */
		if (query1(d,
			   "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace"
			   " n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()",
			   v, sizeof v, &null) != 0)
			return 1;
		*other = !null && strcmp(v, "0") != 0;
		return 0;
	}
	if (query1(d, "SELECT value FROM meta WHERE key = 'ledger_version'", v, sizeof v, &null) !=
	    0)
		return 1;
	if (null) {
		*other = 1;
		return 0;
	}
	*version = (int)strtol(v, NULL, 10);
	if (*version <= 0)
		*other = 1;
	return 0;
}

static int pg_set_version(struct klic_db *db, int version)
{
	char sql[160];

	snprintf(sql, sizeof sql,
		 "INSERT INTO meta(key, value) VALUES ('ledger_version', '%d')"
		 " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		 version);
	return run(PGD(db), sql, NULL);
}

static void pg_no_checkpoint(struct klic_db *db)
{
	(void)db;
}

static void no_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Every session's settings.  jit off: the seat count's subqueries (the
 * branches of USED_AT_2 that do not run) cost more than jit_above_cost,
 * and compiling the query took about 28 ms where running it takes under
 * one (tests/bench/pg_bench.sh (c): 5.9x slower on a ledger of 300,000
 * licenses than on an empty one with it on). */
static int session_setup(struct pg_db *d)
{
	PQsetNoticeProcessor(d->c, no_notice, NULL);
	return run(d, "SET client_min_messages = warning; SET jit = off", NULL);
}

static int pg_reconnect(struct klic_db *db)
{
	struct pg_db *d = PGD(db);

	PQreset(d->c);
	if (PQstatus(d->c) != CONNECTION_OK) {
		set_conn_msg(d);
		return pg_err(db, "reconnect");
	}
	if (session_setup(d) != 0)
		return pg_err(db, "reconnect");
	d->gone = 0;
	return 0;
}

static int pg_lost(struct klic_db *db)
{
	return PGD(db)->gone || PQstatus(PGD(db)->c) == CONNECTION_BAD;
}

static const struct klic_db_ops pg_ops = {
    .engine = KLIC_DB_PG,
    .close = pg_close,
    .err = pg_err,
    .prepare = pg_prepare,
    .sql = pg_sql,
    .reset = pg_reset,
    .finalize = pg_finalize,
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_is_null = pg_col_is_null,
    .col_int64 = pg_col_int64,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_bytes = pg_col_bytes,
    .changes = pg_changes,
    .exec = pg_exec,
    .begin_write = pg_begin_write,
    .begin_read = pg_begin_read,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_transaction = pg_in_transaction,
    .version = pg_version,
    .set_version = pg_set_version,
    .defer_checkpoints = pg_no_checkpoint,
    .checkpoint = pg_no_checkpoint,
    .lost = pg_lost,
    .reconnect = pg_reconnect,
};

/* The URL as it may be shown: scheme, user, host, port, database and a
 * socket folder host, never the password (rebuilt from its parts). */
void klic_db_pg_display(char *out, size_t outsz, const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL), *o;
	const char *user = NULL, *host = NULL, *port = NULL, *dbname = NULL;

	if (opts == NULL) {
		snprintf(out, outsz, "postgresql://(unparsable URL)");
		return;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	snprintf(out, outsz, "postgresql://%s%s%s%s%s/%s%s%s", user ? user : "", user ? "@" : "",
		 host && host[0] != '/' ? host : "", port ? ":" : "", port ? port : "",
		 dbname ? dbname : "", host && host[0] == '/' ? "?host=" : "",
		 host && host[0] == '/' ? host : "");
	PQconninfoFree(opts);
}

/* Connecting never waits on the server for ever: libpq's default is no
 * connect_timeout, so a server that accepts and never answers would hang
 * a command, and the web console's single thread with it.  These defaults
 * come first; the URL's own settings, expanded after them, take precedence
 * (PQconnectdbParams, expand_dbname); PGCONNECT_TIMEOUT, when set, is left
 * to libpq.  (A statement waits as the server's settings say:
 * statement_timeout, lock_timeout, in the URL's options.)  PQreset
 * reconnects with the same parameters. */
static PGconn *connect_url(const char *url)
{
	const char *keys[6], *vals[6], *env = getenv("PGCONNECT_TIMEOUT");
	int n = 0;

	keys[n] = "keepalives_idle", vals[n++] = "30";
	keys[n] = "keepalives_interval", vals[n++] = "10";
	keys[n] = "keepalives_count", vals[n++] = "3";
	if (env == NULL || env[0] == '\0')
		keys[n] = "connect_timeout", vals[n++] = "10";
	keys[n] = "dbname", vals[n++] = url;
	keys[n] = NULL, vals[n] = NULL;
	return PQconnectdbParams(keys, vals, 1);
}

int klic_db_pg_open(struct klic_db **out, const char *url)
{
	struct pg_db *d = calloc(1, sizeof *d);
	char *perr = NULL;
	PQconninfoOption *opts;
	int r;

	*out = NULL;
	if (d == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "ledger");
	d->base.ops = &pg_ops;
	klic_db_pg_display(d->base.name, sizeof d->base.name, url);
	opts = PQconninfoParse(url, &perr);
	if (opts == NULL) {
		/* not libpq's words: they quote the bad part, a password too */
		set_msg(d, "not a valid postgresql:// URL (see spec/LEDGER.md)");
		PQfreemem(perr);
		r = klic_error_set(KLIC_ERR_LEDGER, "%s", d->msg);
		pg_close(&d->base);
		return r;
	}
	PQconninfoFree(opts);
	d->c = connect_url(url);
	if (d->c == NULL || PQstatus(d->c) != CONNECTION_OK) {
		if (d->c != NULL)
			set_msg(d, PQerrorMessage(d->c));
		else
			snprintf(d->msg, sizeof d->msg, "out of memory");
		r = klic_error_set(KLIC_ERR_LEDGER, "%s", d->msg);
		pg_close(&d->base);
		return r;
	}
	if (session_setup(d) != 0) {
		r = pg_err(&d->base, "connect");
		pg_close(&d->base);
		return r;
	}
	*out = &d->base;
	return 0;
}
