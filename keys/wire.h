/* klic keys/ — the wire format between the caller side of the worker pool
 * (pool.c) and a worker (worker.c): one AF_UNIX stream socket per worker,
 * one call at a time.
 *   request  struct w_req, then a_len bytes, then b_len bytes
 *              SIGN: a = data; VERIFY: a = signature, b = data
 *   reply    struct w_rep, then detail_len bytes (the error detail, no NUL),
 *            then out_len bytes (the signature / clear-signed text)
 *   ready    struct w_ready, then detail_len bytes: a program's worker's
 *            first frame (its pid, or the error that stopped the program)
 * Both sides check the magic and bound every length (wire_req_ok,
 * wire_rep_ok).  Calls nothing in keys/. */
#ifndef KLIC_KEYS_WIRE_H
#define KLIC_KEYS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "klic_keys.h"

#define W_MAGIC_REQ 0x6b6c7751u   /* "klwQ" */
#define W_MAGIC_REP 0x6b6c7752u   /* "klwR" */
#define W_MAGIC_READY 0x6b6c7759u /* "klwY" */
#define W_PROGRAM_FD 3            /* the first worker socket of a program */
#define W_MAX_DETAIL 1024u

enum { W_SIGN_DETACHED = 1, W_SIGN_CLEAR = 2, W_VERIFY = 3 };

struct w_req {
	uint32_t magic;
	uint32_t op;
	uint32_t a_len;
	uint32_t b_len;
	char fpr[KLIC_FPR_HEX_LEN + 1];
};

struct w_rep {
	uint32_t magic;
	int32_t rc;
	uint32_t detail_len;
	uint32_t out_len;
	struct klic_sig_info info;
};

/* A program worker's first frame. */
struct w_ready {
	uint32_t magic;
	int32_t rc;          /* 0 ready, else the program's error */
	uint32_t detail_len; /* then the error detail, no NUL */
	int32_t pid;         /* the worker's pid (messages only) */
};

/* 0, or -1 with errno set (EPIPE when the peer is gone). */
int wire_send_all(int fd, const void *buf, size_t n);
/* 1 complete, 0 end-of-file before the first byte, -1 error or short
 * (errno set; EPIPE for end-of-file inside the frame). */
int wire_recv_all(int fd, void *buf, size_t n);
/* 1 when a request header is well formed (magic, op, lengths, fpr). */
int wire_req_ok(const struct w_req *q);
/* 1 when the reply header p is well formed for request q. */
int wire_rep_ok(const struct w_req *q, const struct w_rep *p);
/* A ready frame on fd: 0, or -1 (the caller is gone). */
int wire_send_ready(int fd, int rc, const char *detail);

#endif
