/* TEST-ONLY (never installed): rewrite a .kreq/.kresp into a hostile one for
 * the adversarial suite (tests/adversarial/run.sh).
 *
 * usage: klic_test_mutate IN|- OUT [OP ARGS...]...
 *
 * IN is read with libarchive (any tar/gzip); "-" starts from no members.
 * The members are then rewritten in order exactly as bundle/archive.c
 * writes them (ustar, mode 0644, uid/gid 0, mtime 0, gzip level 9 with an
 * empty header, OS 255), so with no OP the output is byte-identical to a
 * bundle made by the tools: every mutation below is the only difference.
 *
 * OPs, applied in the order given:
 *   flip M start|middle|end  xor 0x01 into one byte of member M
 *   drop M                   remove member M
 *   dup M                    a second member M right after M, with other
 *                            bytes (its middle byte flipped)
 *   set M FILE               replace M's bytes with FILE (append M if absent)
 *   add TYPE NAME TARGET     append a member; TYPE reg|symlink|hardlink|dir|
 *                            fifo|chr|blk; TARGET is the link target (or
 *                            "-"); a reg member holds 4 bytes "x\n\n\n"
 *   longname N               append a regular member with an N-byte name
 *                            (written as a pax extended header)
 *   bomb M MIB               append member M holding MIB MiB of zeros
 *                            (streamed: never held in memory)
 *   many N same|distinct     append N empty regular members named "a" (same)
 *                            or "m0000001"... (distinct)
 *   licenses MID N           append N empty members with allowed license
 *                            names KRE_MID[_k].lic then KSE_MID[_k].lic
 *   zero-tail MIB            MIB MiB of zero bytes after the end-of-archive
 *                            marker (inside the gzip stream)
 *   tar-garbage              a non-zero block after the end-of-archive marker
 *   gz-garbage               bytes of garbage after the gzip stream
 *   gz-second                a second gzip member after the first
 *   no-eoa                   leave out the tar end-of-archive marker
 * Exit 0 on success, 1 on any error (message on stderr), 2 on usage.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#define MAX_IN (64u * 1024u * 1024u)
#define MAX_MEMBERS 1024

struct member {
	char *name;
	unsigned type; /* AE_IF* */
	char *link;    /* symlink/hardlink target or NULL */
	int hard;
	uint8_t *data;
	size_t len;
	uint64_t zeros; /* bomb: this many zero bytes instead of data */
};

struct bundle {
	struct member m[MAX_MEMBERS];
	size_t n;
	int pax;
	uint64_t zero_tail;
	int tar_garbage, gz_garbage, gz_second, no_eoa;
	uint64_t many;
	int many_same;
};

/* fail WHAT DETAIL: print "mutate: WHAT: DETAIL", return 1 */
static int fail(const char *what, const char *detail)
{
	fprintf(stderr, "mutate: %s: %s\n", what, detail ? detail : "error");
	return 1;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p == NULL) {
		fprintf(stderr, "mutate: out of memory\n");
		exit(1);
	}
	memcpy(p, s, n);
	return p;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "mutate: out of memory\n");
		exit(1);
	}
	return p;
}

static struct member *add_member(struct bundle *b, size_t at)
{
	if (b->n >= MAX_MEMBERS) {
		fprintf(stderr, "mutate: too many members\n");
		exit(1);
	}
	memmove(&b->m[at + 1], &b->m[at], (b->n - at) * sizeof(b->m[0]));
	b->n++;
	memset(&b->m[at], 0, sizeof(b->m[at]));
	return &b->m[at];
}

static struct member *find(struct bundle *b, const char *name, size_t *idx)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->m[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &b->m[i];
		}
	return NULL;
}

static int read_file(uint8_t **out, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	size_t n;

	if (f == NULL)
		return fail(path, strerror(errno));
	p = xmalloc(MAX_IN + 1);
	n = fread(p, 1, MAX_IN + 1, f);
	fclose(f);
	if (n > MAX_IN) {
		free(p);
		return fail(path, "too large");
	}
	*out = p;
	*len = n;
	return 0;
}

static int load(struct bundle *b, const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r = 1, lr;

	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, path, 16384) != ARCHIVE_OK) {
		fail(path, archive_error_string(a));
		goto out;
	}
	while ((lr = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		struct member *m = add_member(b, b->n);
		la_int64_t size = archive_entry_size(e);
		m->name = xstrdup(archive_entry_pathname(e));
		m->type = archive_entry_filetype(e);
		if (archive_entry_symlink(e) != NULL)
			m->link = xstrdup(archive_entry_symlink(e));
		if (archive_entry_hardlink(e) != NULL) {
			m->link = xstrdup(archive_entry_hardlink(e));
			m->hard = 1;
		}
		if (size < 0 || (uint64_t)size > MAX_IN) {
			fail(m->name, "bad size");
			goto out;
		}
		m->data = xmalloc((size_t)size);
		m->len = 0;
		while (m->len < (size_t)size) {
			la_ssize_t got = archive_read_data(a, m->data + m->len, (size_t)size - m->len);
			if (got <= 0) {
				fail(m->name, "short data");
				goto out;
			}
			m->len += (size_t)got;
		}
	}
	if (lr != ARCHIVE_EOF) {
		fail(path, archive_error_string(a));
		goto out;
	}
	r = 0;
out:
	archive_read_free(a);
	return r;
}

/* ---- writing: libarchive (tar) into zlib (gzip), streamed to a FILE ------- */

struct sink {
	FILE *f;
	z_stream z;
	gz_header head; /* zlib keeps a pointer to it until the header is written */
	int err;
};

static void deflate_some(struct sink *s, const void *buf, size_t n, int flush)
{
	uint8_t out[65536];

	s->z.next_in = (Bytef *)(uintptr_t)buf;
	s->z.avail_in = (uInt)n;
	do {
		s->z.next_out = out;
		s->z.avail_out = sizeof(out);
		if (deflate(&s->z, flush) == Z_STREAM_ERROR) {
			s->err = 1;
			return;
		}
		if (fwrite(out, 1, sizeof(out) - s->z.avail_out, s->f) !=
		    sizeof(out) - s->z.avail_out)
			s->err = 1;
	} while (s->z.avail_out == 0 || s->z.avail_in > 0);
}

static la_ssize_t sink_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	deflate_some(ud, buf, n, Z_NO_FLUSH);
	return (la_ssize_t)n;
}

static int gz_open(struct sink *s)
{
	memset(&s->z, 0, sizeof(s->z));
	memset(&s->head, 0, sizeof(s->head));
	s->head.os = 255;
	if (deflateInit2(&s->z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK ||
	    deflateSetHeader(&s->z, &s->head) != Z_OK)
		return fail("zlib", "init");
	return 0;
}

static int write_entry(struct archive *a, const struct member *m)
{
	static const uint8_t zero[65536];
	struct archive_entry *e = archive_entry_new();
	int r = 1;
	uint64_t size = m->zeros ? m->zeros : m->len;

	archive_entry_set_pathname(e, m->name);
	archive_entry_set_filetype(e, m->type);
	archive_entry_set_perm(e, m->type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_size(e, m->type == AE_IFREG && !m->hard ? (la_int64_t)size : 0);
	if (m->type == AE_IFLNK)
		archive_entry_set_symlink(e, m->link);
	if (m->hard)
		archive_entry_set_hardlink(e, m->link);
	if (m->type == AE_IFCHR || m->type == AE_IFBLK)
		archive_entry_set_rdev(e, 0x0103); /* 1,3: /dev/null */
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		fail(m->name, archive_error_string(a));
		goto out;
	}
	if (m->type == AE_IFREG && !m->hard) {
		if (m->zeros) {
			for (uint64_t done = 0; done < m->zeros;) {
				size_t k = m->zeros - done > sizeof(zero) ? sizeof(zero)
									   : (size_t)(m->zeros - done);
				if (archive_write_data(a, zero, k) != (la_ssize_t)k) {
					fail(m->name, archive_error_string(a));
					goto out;
				}
				done += k;
			}
		} else if (m->len > 0 &&
			   archive_write_data(a, m->data, m->len) != (la_ssize_t)m->len) {
			fail(m->name, archive_error_string(a));
			goto out;
		}
	}
	r = 0;
out:
	archive_entry_free(e);
	return r;
}

static int write_bundle(const struct bundle *b, const char *path)
{
	static const uint8_t zero[65536];
	struct sink s;
	struct archive *a = NULL;
	int r = 1;
	char name[32];

	memset(&s, 0, sizeof(s));
	if ((s.f = fopen(path, "wb")) == NULL)
		return fail(path, strerror(errno));
	if (gz_open(&s) != 0)
		goto out;
	a = archive_write_new();
	if ((b->pax ? archive_write_set_format_pax_restricted(a)
		    : archive_write_set_format_ustar(a)) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, &s, NULL, sink_write, NULL, NULL) != ARCHIVE_OK) {
		fail(path, archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < b->n; i++)
		if (write_entry(a, &b->m[i]) != 0)
			goto out;
	for (uint64_t i = 0; i < b->many; i++) {
		struct member m;
		memset(&m, 0, sizeof(m));
		if (b->many_same)
			snprintf(name, sizeof(name), "a");
		else
			snprintf(name, sizeof(name), "m%07llu", (unsigned long long)i + 1);
		m.name = name;
		m.type = AE_IFREG;
		if (write_entry(a, &m) != 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		fail(path, archive_error_string(a));
		goto out;
	}
	for (uint64_t done = 0; done < b->zero_tail;) {
		size_t k = b->zero_tail - done > sizeof(zero) ? sizeof(zero)
							      : (size_t)(b->zero_tail - done);
		deflate_some(&s, zero, k, Z_NO_FLUSH);
		done += k;
	}
	if (b->tar_garbage) {
		uint8_t blk[512];
		memset(blk, 'G', sizeof(blk));
		deflate_some(&s, blk, sizeof(blk), Z_NO_FLUSH);
	}
	deflate_some(&s, "", 0, Z_FINISH);
	deflateEnd(&s.z);
	if (b->gz_second) {
		if (gz_open(&s) != 0)
			goto out;
		deflate_some(&s, zero, 1024, Z_FINISH);
		deflateEnd(&s.z);
	}
	if (b->gz_garbage && fwrite("GARBAGE AFTER THE GZIP STREAM\n", 1, 30, s.f) != 30)
		s.err = 1;
	if (s.err) {
		fail(path, "write error");
		goto out;
	}
	r = 0;
out:
	if (a != NULL)
		archive_write_free(a);
	if (fclose(s.f) != 0)
		r = 1;
	return r;
}

/* no-eoa: libarchive always writes the end-of-archive marker, so build the
 * tar in memory, drop its last 1024 bytes and gzip that. */
static la_ssize_t mem_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct member *m = ud; /* reuses data/len as a growing buffer */
	uint8_t *p;
	(void)a;
	if ((p = realloc(m->data, m->len + n)) == NULL)
		return -1;
	memcpy(p + m->len, buf, n);
	m->data = p;
	m->len += n;
	return (la_ssize_t)n;
}

static int write_no_eoa(const struct bundle *b, const char *path)
{
	struct member buf;
	struct sink s;
	struct archive *a = archive_write_new();
	int r = 1;

	memset(&s, 0, sizeof(s));
	memset(&buf, 0, sizeof(buf));
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, &buf, NULL, mem_write, NULL, NULL) != ARCHIVE_OK)
		goto out;
	for (size_t i = 0; i < b->n; i++)
		if (write_entry(a, &b->m[i]) != 0)
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK || buf.len < 1024)
		goto out;
	if ((s.f = fopen(path, "wb")) == NULL)
		goto out;
	if (gz_open(&s) != 0)
		goto out;
	deflate_some(&s, buf.data, buf.len - 1024, Z_FINISH);
	deflateEnd(&s.z);
	r = s.err;
out:
	archive_write_free(a);
	if (s.f != NULL && fclose(s.f) != 0)
		r = 1;
	free(buf.data);
	if (r != 0)
		fail(path, "cannot write");
	return r;
}

static unsigned parse_type(const char *t, int *hard)
{
	*hard = 0;
	if (strcmp(t, "reg") == 0)
		return AE_IFREG;
	if (strcmp(t, "symlink") == 0)
		return AE_IFLNK;
	if (strcmp(t, "hardlink") == 0) {
		*hard = 1;
		return AE_IFREG;
	}
	if (strcmp(t, "dir") == 0)
		return AE_IFDIR;
	if (strcmp(t, "fifo") == 0)
		return AE_IFIFO;
	if (strcmp(t, "chr") == 0)
		return AE_IFCHR;
	if (strcmp(t, "blk") == 0)
		return AE_IFBLK;
	return 0;
}

static int number(uint64_t *out, const char *s)
{
	char *end = NULL;
	unsigned long long v;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return fail("bad number", s);
	*out = v;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: klic_test_mutate IN|- OUT [OP ARGS...]... (see mutate.c)\n");
	return 2;
}

/* ---- the OPs: each gets the bundle and its own arguments (a[0] .. );
 * returns 0, or the exit code (1 error, 2 usage) ---------------------- */

static int op_flip(struct bundle *b, char **a)
{
	struct member *m;
	size_t off;

	if ((m = find(b, a[0], NULL)) == NULL || m->len == 0)
		return fail("flip: no such member", a[0]);
	if (strcmp(a[1], "start") == 0)
		off = 0;
	else if (strcmp(a[1], "middle") == 0)
		off = m->len / 2;
	else if (strcmp(a[1], "end") == 0)
		off = m->len - 1;
	else
		return usage();
	m->data[off] ^= 0x01;
	return 0;
}

static int op_drop(struct bundle *b, char **a)
{
	size_t idx = 0;

	if (find(b, a[0], &idx) == NULL)
		return fail("drop: no such member", a[0]);
	free(b->m[idx].name);
	free(b->m[idx].data);
	free(b->m[idx].link);
	memmove(&b->m[idx], &b->m[idx + 1], (b->n - idx - 1) * sizeof(b->m[0]));
	b->n--;
	return 0;
}

static int op_dup(struct bundle *b, char **a)
{
	struct member *c, *m;
	size_t idx = 0;

	if (find(b, a[0], &idx) == NULL || b->m[idx].len == 0)
		return fail("dup: no such member", a[0]);
	c = add_member(b, idx + 1);
	m = &b->m[idx];
	c->name = xstrdup(m->name);
	c->type = m->type;
	c->len = m->len;
	c->data = xmalloc(m->len);
	memcpy(c->data, m->data, m->len);
	c->data[c->len / 2] ^= 0x01;
	return 0;
}

static int op_set(struct bundle *b, char **a)
{
	struct member *m;
	uint8_t *d = NULL;
	size_t len = 0;

	if (read_file(&d, &len, a[1]) != 0)
		return 1;
	if ((m = find(b, a[0], NULL)) == NULL) {
		m = add_member(b, b->n);
		m->name = xstrdup(a[0]);
		m->type = AE_IFREG;
	}
	free(m->data);
	m->data = d;
	m->len = len;
	return 0;
}

static int op_add(struct bundle *b, char **a)
{
	struct member *m;
	int hard;
	unsigned t = parse_type(a[0], &hard);

	if (t == 0)
		return usage();
	m = add_member(b, b->n);
	m->name = xstrdup(a[1]);
	m->type = t;
	m->hard = hard;
	if (t == AE_IFLNK || hard)
		m->link = xstrdup(a[2]);
	if (t == AE_IFREG && !hard) {
		m->data = xmalloc(4);
		memcpy(m->data, "x\n\n\n", 4);
		m->len = 4;
	}
	if (strlen(m->name) > 99 || (m->link && strlen(m->link) > 99))
		b->pax = 1;
	return 0;
}

static int op_longname(struct bundle *b, char **a)
{
	struct member *m;
	uint64_t n;

	if (number(&n, a[0]) != 0 || n == 0 || n > 65536)
		return usage();
	m = add_member(b, b->n);
	m->name = xmalloc((size_t)n + 1);
	memset(m->name, 'a', (size_t)n);
	m->name[n] = '\0';
	m->type = AE_IFREG;
	m->data = xmalloc(4);
	memcpy(m->data, "x\n\n\n", 4);
	m->len = 4;
	b->pax = 1;
	return 0;
}

static int op_bomb(struct bundle *b, char **a)
{
	struct member *m;
	uint64_t n;

	if (number(&n, a[1]) != 0 || n == 0)
		return usage();
	m = add_member(b, b->n);
	m->name = xstrdup(a[0]);
	m->type = AE_IFREG;
	m->zeros = n * 1024 * 1024;
	return 0;
}

static int op_many(struct bundle *b, char **a)
{
	if (number(&b->many, a[0]) != 0)
		return usage();
	b->many_same = strcmp(a[1], "same") == 0;
	return 0;
}

static int op_licenses(struct bundle *b, char **a)
{
	struct member *m;
	char name[128];
	uint64_t n;

	if (number(&n, a[1]) != 0)
		return usage();
	for (uint64_t k = 0; k < n; k++) {
		const char *prod = k < 64 ? "KRE" : "KSE";
		unsigned seat = (unsigned)(k % 64) + 1;
		if (seat == 1)
			snprintf(name, sizeof(name), "%s_%s.lic", prod, a[0]);
		else
			snprintf(name, sizeof(name), "%s_%s_%u.lic", prod, a[0], seat);
		m = add_member(b, b->n);
		m->name = xstrdup(name);
		m->type = AE_IFREG;
	}
	return 0;
}

static int op_zero_tail(struct bundle *b, char **a)
{
	uint64_t n;

	if (number(&n, a[0]) != 0)
		return usage();
	b->zero_tail = n * 1024 * 1024;
	return 0;
}

static int op_tar_garbage(struct bundle *b, char **a)
{
	(void)a;
	b->tar_garbage = 1;
	return 0;
}

static int op_gz_garbage(struct bundle *b, char **a)
{
	(void)a;
	b->gz_garbage = 1;
	return 0;
}

static int op_gz_second(struct bundle *b, char **a)
{
	(void)a;
	b->gz_second = 1;
	return 0;
}

static int op_no_eoa(struct bundle *b, char **a)
{
	(void)a;
	b->no_eoa = 1;
	return 0;
}

static const struct op {
	const char *name;
	int nargs;
	int (*fn)(struct bundle *b, char **a);
} ops[] = {
    {"flip", 2, op_flip},
    {"drop", 1, op_drop},
    {"dup", 1, op_dup},
    {"set", 2, op_set},
    {"add", 3, op_add},
    {"longname", 1, op_longname},
    {"bomb", 2, op_bomb},
    {"many", 2, op_many},
    {"licenses", 2, op_licenses},
    {"zero-tail", 1, op_zero_tail},
    {"tar-garbage", 0, op_tar_garbage},
    {"gz-garbage", 0, op_gz_garbage},
    {"gz-second", 0, op_gz_second},
    {"no-eoa", 0, op_no_eoa},
};

int main(int argc, char **argv)
{
	static struct bundle b;
	int i;

	if (argc < 3)
		return usage();
	if (strcmp(argv[1], "-") != 0 && load(&b, argv[1]) != 0)
		return 1;
	for (i = 3; i < argc;) {
		const struct op *op = NULL;
		int left = argc - i - 1, r;

		for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
			if (strcmp(argv[i], ops[k].name) == 0 && left >= ops[k].nargs)
				op = &ops[k];
		if (op == NULL)
			return usage();
		if ((r = op->fn(&b, argv + i + 1)) != 0)
			return r;
		i += 1 + op->nargs;
	}
	return b.no_eoa ? write_no_eoa(&b, argv[2]) : write_bundle(&b, argv[2]);
}
