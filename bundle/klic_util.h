/* klic — small shared helpers, one file per topic: bounded file reading
 * and mkdir -p (files.c), the one atomic-write helper and the sweep of
 * stale temps (atomic.c), SHA-256 and hex (hash.c), randomness (random.c),
 * RFC 3339 UTC times (timefmt.c), printable text and wiping (text.c).
 * Library code: never prints, never exits. */
#ifndef KLIC_UTIL_H
#define KLIC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_SHA256_LEN 32
#define KLIC_SHA256_HEX_LEN 64
#define KLIC_FPR_HEX_LEN 40 /* v4 OpenPGP fingerprint, upper-case hex */
#define KLIC_TIME_LEN 20    /* "2026-11-22T18:00:00Z" */

/* Read a whole file (or standard input when path is "-") into a new
 * NUL-terminated buffer.  Refuses with KLIC_ERR_TOO_BIG as soon as more than
 * `max` bytes arrive (never reads unbounded).  Refuses non-regular files
 * (except stdin).  On success *out is owned by the caller (free()),
 * *outlen excludes the added NUL. */
int klic_read_file(uint8_t **out, size_t *outlen, const char *path, size_t max);

/* Flags for klic_write_atomic(). */
#define KLIC_WRITE_NOREPLACE 0x1 /* fail with KLIC_ERR_EXISTS if path exists */

/* Make `path` hold exactly buf[0..len) or leave it untouched: write a temp
 * file in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW, `mode`), fsync it,
 * rename it over path (renameat2 RENAME_NOREPLACE with KLIC_WRITE_NOREPLACE),
 * fsync the directory.  Any failure (including any fsync) removes the temp
 * file and returns KLIC_ERR_IO (or KLIC_ERR_EXISTS); path "-" writes to
 * standard output instead. */
int klic_write_atomic(const char *path, const void *buf, size_t len, mode_t mode, int flags);

/* One file of klic_write_atomic_set(). */
struct klic_write_item {
	const char *path; /* not "-" */
	const void *buf;
	size_t len;
	mode_t mode;
};
#define KLIC_WRITE_SET_MAX 128

/* Make every items[i].path hold its bytes, or leave all of them as they
 * were: all new contents are first written to synced temp files beside
 * their targets; then each target that exists gets a second (hidden) name
 * and each temp is renamed over its target; then the directories are
 * fsynced and the second names removed.  If anything fails (including any
 * fsync), the renames done so far are undone (previous files back, new
 * files removed), temps are removed, and KLIC_ERR_IO (or KLIC_ERR_EXISTS
 * for a target that is not a regular file) is returned.  Directories must
 * exist.  A crash in the middle can leave hidden ".NAME.tmp.*" /
 * ".NAME.bak.*" files, never a half-written target. */
int klic_write_atomic_set(const struct klic_write_item *items, size_t n);

/* Remove what a killed writer left in dir: the hidden temporary and
 * second names of klic_write_atomic() / klic_write_atomic_set()
 * (".NAME.tmp.PID.XXXXXX", ".NAME.bak.PID.XXXXXX") whose process no longer
 * exists on this machine; with ext, only those whose NAME ends in ext (in
 * a folder klic shares with other programs).  Regular files only; a
 * missing dir is fine. */
int klic_sweep_stale(const char *dir, const char *ext);

/* mkdir -p with `mode` for every directory created; existing directories
 * are accepted as they are. */
int klic_mkdir_p(const char *path, mode_t mode);

/* SHA-256 of buf, raw and as lower-case hex (65 bytes with NUL). */
int klic_sha256(uint8_t out[KLIC_SHA256_LEN], const void *buf, size_t len);
int klic_sha256_hex(char out[KLIC_SHA256_HEX_LEN + 1], const void *buf, size_t len);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void klic_hex(char *out, const uint8_t *in, size_t n);

/* Strict lower-case hex check of exactly `len` characters. */
int klic_is_hex(const char *s, size_t len);

/* Cryptographic randomness (getrandom). */
int klic_random(void *buf, size_t len);

/* RFC 3339 UTC, second precision, exactly "YYYY-MM-DDTHH:MM:SSZ".
 * Parsing is strict: that exact shape, a real calendar date, years
 * 2000..9999. */
int klic_time_format(char out[KLIC_TIME_LEN + 1], int64_t t);
int klic_time_parse(int64_t *out, const char *s);

/* "YYYY-MM-DD" (a calendar date, UTC) to the first second of that day. */
int klic_date_parse(int64_t *out, const char *s);

/* Current time (time(NULL)); a single place so tests with faketime see
 * the same clock as everything else. */
int64_t klic_now(void);

/* 1 when every byte of s[0..len) is printable ASCII (0x20..0x7e), else 0.
 * Strings from bundles are checked with this before being echoed. */
int klic_is_printable(const char *s, size_t len);
/* Printable ASCII and LF only (a clear-signed text carried in a JSON
 * string: spec 1.1). */
int klic_is_text_lines(const char *s, size_t len);
/* 1 when s[0..n) is valid UTF-8 (shortest forms, no surrogates, at most
 * U+10FFFF) with no control character (C0, DEL, C1) and no line or
 * bidirectional-format character (U+2028/9, U+202A-E, U+2066-9,
 * U+200E/F): what a name (an OpenPGP user ID) may hold, displaying as what
 * it is. */
int klic_text_utf8_ok(const char *s, size_t n);
/* The same check, saying why and where: 0 (ok, *at = n), 1 not valid
 * UTF-8, 2 a control character, 3 a line or bidirectional-format
 * character; *at is the byte offset of the offending sequence. */
int klic_utf8_text_check(const char *s, size_t n, size_t *at);

/* The one printable-copy helper: copy src (up to its NUL or srclen bytes,
 * whichever comes first; SIZE_MAX for a plain C string) into dst, every
 * byte that is not printable ASCII replaced by '?', at most dstsz - 1
 * bytes, always NUL-terminated.  Returns dst.  Text from a file or a key
 * goes through this before it reaches a terminal. */
char *klic_printable_copy(char *dst, size_t dstsz, const char *src, size_t srclen);

/* The one HTML escape, a byte at a time: what to write in place of the
 * byte c in HTML text or a quoted attribute: an entity for & < > " ',
 * "?" for a byte that is not printable ASCII, NULL for c itself.  Text
 * from a ledger or a bundle goes through this before it reaches a page. */
const char *klic_html_char(char c);

/* Wipe memory that held a secret (explicit_bzero). */
void klic_wipe(void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif
