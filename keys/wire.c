/* klic keys/ — framing of the worker protocol (wire.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "keys_int.h"
#include "wire.h"

int wire_send_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int wire_recv_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t k = recv(fd, p + got, n - got, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0) {
			if (got == 0)
				return 0;
			errno = EPIPE;
			return -1;
		}
		got += (size_t)k;
	}
	return 1;
}

int wire_req_ok(const struct w_req *q)
{
	return q->magic == W_MAGIC_REQ && q->op >= W_SIGN_DETACHED && q->op <= W_VERIFY &&
	       q->a_len <= KEYS_MAX_SIGN_INPUT && q->b_len <= KEYS_MAX_SIGN_INPUT &&
	       q->fpr[KLIC_FPR_HEX_LEN] == '\0';
}

int wire_rep_ok(const struct w_req *q, const struct w_rep *p)
{
	return !(p->magic != W_MAGIC_REP || p->rc > 0 || p->detail_len >= W_MAX_DETAIL ||
		 p->out_len > KEYS_MAX_OUTPUT || (p->rc != 0 && p->out_len != 0) ||
		 (q->op == W_VERIFY && p->out_len != 0) ||
		 (q->op != W_VERIFY && p->rc == 0 && p->out_len == 0));
}

int wire_send_ready(int fd, int rc, const char *detail)
{
	struct w_ready y;

	memset(&y, 0, sizeof y);
	y.magic = W_MAGIC_READY;
	y.rc = rc;
	y.detail_len = rc != 0 ? (uint32_t)strnlen(detail, W_MAX_DETAIL - 1) : 0;
	y.pid = (int32_t)getpid();
	return wire_send_all(fd, &y, sizeof y) == 0 && wire_send_all(fd, detail, y.detail_len) == 0
		   ? 0
		   : -1;
}
