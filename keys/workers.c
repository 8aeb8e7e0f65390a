/* klic keys/ — signing and verification in worker processes.
 *
 * Why: GPGME starts each gpg with a double fork of the calling process.
 * In klic-admin, a multi-threaded process holding SQLite caches and a
 * response window, each such fork copies the page tables, write-protects
 * every page (the threads then fault on their next write) and holds the
 * memory-map lock, which stalls the other threads.  Measured: about a third
 * of klic-admin's own CPU per request (tests/bench).  Forked once, early,
 * from the single-threaded process, a worker is small, and the gpg
 * processes it starts are forked from it.
 *
 * Protocol on one AF_UNIX stream socket per worker, one call at a time:
 *   request  struct w_req, then a_len bytes, then b_len bytes
 *              SIGN: a = data; VERIFY: a = signature, b = data
 *   reply    struct w_rep, then detail_len bytes (the error detail, no NUL),
 *            then out_len bytes (the signature / clear-signed text)
 * Both sides check the magic and bound every length.  The worker runs
 * exactly the in-process code (keys_sign / keys_verify), so
 * the policy is the same; the caller's allow callback runs in the caller
 * (keys.c).  A worker exits on end-of-file (the caller stopped it, or died:
 * PR_SET_PDEATHSIG as well), and the caller fails closed on any I/O error:
 * that worker is retired, the call is made again on another one when the
 * worker died before answering (else it gets KLIC_ERR_GPG), and with no
 * worker left the calls run in the caller's process as without workers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys_int.h"

#define W_MAGIC_REQ 0x6b6c7751u /* "klwQ" */
#define W_MAGIC_REP 0x6b6c7752u /* "klwR" */
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

struct keys_worker {
	pid_t pid;
	int fd; /* -1: retired */
	int busy;
};

struct keys_workers {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned n, alive;
	struct keys_worker w[KLIC_MAX_WORKERS];
};

/* ---- framing ----------------------------------------------------------- */

/* 0, or -1 with errno set (EPIPE when the peer is gone). */
static int send_all(int fd, const void *buf, size_t n)
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

/* 1 complete, 0 end-of-file before the first byte, -1 error or short
 * (errno set; EPIPE for end-of-file inside the frame). */
static int recv_all(int fd, void *buf, size_t n)
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

/* ---- the worker process ------------------------------------------------- */

static int serve_one(struct klic_keyring *kr, int fd)
{
	struct w_req q;
	struct w_rep p;
	uint8_t *a = NULL, *b = NULL, *out = NULL;
	size_t outlen = 0;
	const char *detail;
	int r, k;

	if ((k = recv_all(fd, &q, sizeof q)) <= 0)
		return -1;
	if (q.magic != W_MAGIC_REQ || q.op < W_SIGN_DETACHED || q.op > W_VERIFY ||
	    q.a_len > KEYS_MAX_SIGN_INPUT || q.b_len > KEYS_MAX_SIGN_INPUT ||
	    q.fpr[KLIC_FPR_HEX_LEN] != '\0')
		return -1;
	/* +1: never malloc(0) */
	if ((a = malloc(q.a_len + 1u)) == NULL || (b = malloc(q.b_len + 1u)) == NULL) {
		free(a);
		return -1;
	}
	if ((q.a_len > 0 && recv_all(fd, a, q.a_len) != 1) ||
	    (q.b_len > 0 && recv_all(fd, b, q.b_len) != 1)) {
		free(a);
		free(b);
		return -1;
	}
	memset(&p, 0, sizeof p);
	klic_error_clear();
	if (q.op == W_VERIFY)
		r = keys_verify(kr, &p.info, a, q.a_len, b, q.b_len);
	else
		r = keys_sign(kr, &out, &outlen, q.fpr, a, q.a_len, q.op == W_SIGN_CLEAR);
	free(a);
	free(b);
	if (r == 0 && (outlen > KEYS_MAX_OUTPUT || (q.op != W_VERIFY && outlen == 0))) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "worker: output of %zu bytes", outlen);
		free(out);
		out = NULL;
		outlen = 0;
	}
	detail = r != 0 && klic_error_detail() != NULL ? klic_error_detail() : "";
	p.magic = W_MAGIC_REP;
	p.rc = r;
	p.detail_len = (uint32_t)strnlen(detail, W_MAX_DETAIL - 1);
	p.out_len = r == 0 ? (uint32_t)outlen : 0;
	k = send_all(fd, &p, sizeof p) == 0 && send_all(fd, detail, p.detail_len) == 0 &&
		    send_all(fd, out, p.out_len) == 0
		? 0
		: -1;
	free(out);
	return k;
}

/* The caller's ends of every worker socket of this process (all
 * keyrings): a new worker closes them, so that each worker's socket has
 * exactly two holders and reaches end-of-file when its caller closes it.
 * (Closing every other descriptor instead would pull the rug from under
 * GPGME, which keeps descriptors of its own.) */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static int reg_fd[KLIC_MAX_WORKERS * 8];
static unsigned reg_n;

static int reg_add(int fd)
{
	int r = -1;

	pthread_mutex_lock(&reg_mu);
	if (reg_n < sizeof reg_fd / sizeof reg_fd[0]) {
		reg_fd[reg_n++] = fd;
		r = 0;
	}
	pthread_mutex_unlock(&reg_mu);
	return r;
}

/* Close fd (>= 0) and forget it. */
static void reg_close(int fd)
{
	pthread_mutex_lock(&reg_mu);
	for (unsigned i = 0; i < reg_n; i++) {
		if (reg_fd[i] == fd) {
			reg_fd[i] = reg_fd[--reg_n];
			break;
		}
	}
	(void)close(fd);
	pthread_mutex_unlock(&reg_mu);
}

/* In a new worker (one thread: no lock needed, and the lock may have been
 * held by another thread of the caller at the fork). */
static void reg_close_all_in_child(void)
{
	for (unsigned i = 0; i < reg_n; i++)
		(void)close(reg_fd[i]);
	reg_n = 0;
}

static void worker_main(struct klic_keyring *kr, int fd) __attribute__((noreturn));
static void worker_main(struct klic_keyring *kr, int fd)
{
	while (serve_one(kr, fd) == 0)
		;
	/* end-of-file or a broken frame: the caller is done (or gone).  No
	 * atexit handlers, no stdio flush: this is a copy of the caller. */
	_exit(0);
}

/* ---- the caller's side -------------------------------------------------- */

/* Retire a worker that failed (the caller holds ws->mu): it is killed and
 * its pid returned, to be reaped by the caller after unlocking. */
static pid_t retire(struct keys_workers *ws, struct keys_worker *w)
{
	pid_t pid = w->pid;

	if (w->fd >= 0) {
		reg_close(w->fd);
		w->fd = -1;
		ws->alive--;
	}
	if (pid > 0)
		(void)kill(pid, SIGKILL);
	w->pid = 0;
	w->busy = 0;
	pthread_cond_broadcast(&ws->cv);
	return pid;
}

/* One call on a free worker.  0 or a KLIC_ERR_* (the worker's own answer,
 * or KLIC_ERR_GPG when the worker failed: it is then retired, and
 * *unanswered says whether it died before sending a byte of its answer);
 * KEYS_RUN_LOCAL when no worker is left. */
static int call(struct keys_workers *ws, const struct w_req *q, const uint8_t *a,
		const uint8_t *b, struct w_rep *p, uint8_t **out, int *unanswered)
{
	struct keys_worker *w = NULL;
	char detail[W_MAX_DETAIL];
	uint8_t *o = NULL;
	const char *what = "send";
	int e = 0, k;

	*out = NULL;
	*unanswered = 1;
	pthread_mutex_lock(&ws->mu);
	for (;;) {
		for (unsigned j = 0; j < ws->n && w == NULL; j++)
			if (ws->w[j].fd >= 0 && !ws->w[j].busy)
				w = &ws->w[j];
		if (w != NULL || ws->alive == 0)
			break;
		pthread_cond_wait(&ws->cv, &ws->mu);
	}
	if (w == NULL) {
		pthread_mutex_unlock(&ws->mu);
		return KEYS_RUN_LOCAL;
	}
	w->busy = 1;
	pthread_mutex_unlock(&ws->mu);

	if (send_all(w->fd, q, sizeof *q) != 0 || send_all(w->fd, a, q->a_len) != 0 ||
	    send_all(w->fd, b, q->b_len) != 0) {
		e = errno;
		goto fail;
	}
	what = "reply";
	if ((k = recv_all(w->fd, p, sizeof *p)) != 1) {
		e = k == 0 ? EPIPE : errno;
		goto fail;
	}
	*unanswered = 0;
	if (p->magic != W_MAGIC_REP || p->rc > 0 || p->detail_len >= W_MAX_DETAIL ||
	    p->out_len > KEYS_MAX_OUTPUT || (p->rc != 0 && p->out_len != 0) ||
	    (q->op == W_VERIFY && p->out_len != 0) ||
	    (q->op != W_VERIFY && p->rc == 0 && p->out_len == 0)) {
		e = EPROTO;
		goto fail;
	}
	if (p->detail_len > 0 && recv_all(w->fd, detail, p->detail_len) != 1) {
		e = errno;
		goto fail;
	}
	detail[p->detail_len] = '\0';
	if (p->out_len > 0) {
		if ((o = malloc(p->out_len)) == NULL) {
			e = ENOMEM;
			goto fail;
		}
		if (recv_all(w->fd, o, p->out_len) != 1) {
			e = errno;
			goto fail;
		}
	}
	pthread_mutex_lock(&ws->mu);
	w->busy = 0;
	pthread_cond_signal(&ws->cv);
	pthread_mutex_unlock(&ws->mu);
	if (p->rc != 0) {
		free(o);
		return klic_error_set(p->rc, "%s", detail);
	}
	*out = o;
	return 0;
fail:
	if (e == 0)
		e = EPIPE;
	free(o);
	pthread_mutex_lock(&ws->mu);
	pid_t pid = retire(ws, w);
	pthread_mutex_unlock(&ws->mu);
	if (pid > 0)
		while (waitpid(pid, &k, 0) < 0 && errno == EINTR)
			;
	return klic_error_set(KLIC_ERR_GPG, "gpg worker process %ld stopped (%s: %s)", (long)pid,
			      what, strerror(e));
}

/* A call, again on another worker when the first died before answering
 * (killed while idle, say: signing and verifying can be repeated); a
 * second death is the answer. */
static int call_retry(struct keys_workers *ws, const struct w_req *q, const uint8_t *a,
		      const uint8_t *b, struct w_rep *p, uint8_t **out)
{
	int unanswered, r = call(ws, q, a, b, p, out, &unanswered);

	if (r == KLIC_ERR_GPG && unanswered)
		r = call(ws, q, a, b, p, out, &unanswered);
	return r;
}

int keys_workers_sign(struct keys_workers *ws, uint8_t **out, size_t *outlen, const char *fpr,
		      const uint8_t *data, size_t len, int clear)
{
	struct w_req q;
	struct w_rep p;
	int r;

	memset(&q, 0, sizeof q);
	q.magic = W_MAGIC_REQ;
	q.op = clear ? W_SIGN_CLEAR : W_SIGN_DETACHED;
	q.a_len = (uint32_t)len;
	memcpy(q.fpr, fpr, KLIC_FPR_HEX_LEN);
	if ((r = call_retry(ws, &q, data, NULL, &p, out)) != 0)
		return r;
	*outlen = p.out_len;
	return 0;
}

int keys_workers_verify(struct keys_workers *ws, struct klic_sig_info *info, const uint8_t *sig,
			size_t siglen, const uint8_t *data, size_t len)
{
	struct w_req q;
	struct w_rep p;
	uint8_t *none = NULL;
	int r;

	memset(&q, 0, sizeof q);
	q.magic = W_MAGIC_REQ;
	q.op = W_VERIFY;
	q.a_len = (uint32_t)siglen;
	q.b_len = (uint32_t)len;
	if ((r = call_retry(ws, &q, sig, data, &p, &none)) != 0)
		return r;
	free(none);
	p.info.signer[KLIC_FPR_HEX_LEN] = '\0';
	if (klic_fpr_check(p.info.signer) != 0 ||
	    (p.info.hash_bits != 256 && p.info.hash_bits != 384 && p.info.hash_bits != 512) ||
	    (p.info.sig_class != 0x00 && p.info.sig_class != 0x01))
		return klic_error_set(KLIC_ERR_GPG, "gpg worker: malformed answer");
	*info = p.info;
	return 0;
}

void keys_workers_stop(struct keys_workers *ws)
{
	int st;

	if (ws == NULL)
		return;
	/* end-of-file tells each worker to exit */
	for (unsigned k = 0; k < ws->n; k++) {
		if (ws->w[k].fd >= 0)
			reg_close(ws->w[k].fd);
		ws->w[k].fd = -1;
	}
	/* each exits at once; those that have not within 10 s in all (stuck
	 * in gpg?) are killed rather than waited for forever */
	for (int i = 0; i < 10000; i++) {
		unsigned left = 0;
		for (unsigned k = 0; k < ws->n; k++) {
			if (ws->w[k].pid <= 0)
				continue;
			pid_t got = waitpid(ws->w[k].pid, &st, WNOHANG);
			if (got == ws->w[k].pid || (got < 0 && errno != EINTR))
				ws->w[k].pid = 0;
			else
				left++;
		}
		if (left == 0)
			break;
		(void)usleep(1000);
	}
	for (unsigned k = 0; k < ws->n; k++) {
		if (ws->w[k].pid <= 0)
			continue;
		(void)kill(ws->w[k].pid, SIGKILL);
		while (waitpid(ws->w[k].pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	pthread_cond_destroy(&ws->cv);
	pthread_mutex_destroy(&ws->mu);
	free(ws);
}

void klic_keyring_stop_workers(struct klic_keyring *kr)
{
	if (kr == NULL)
		return;
	keys_workers_stop(keys_get_workers(kr));
	keys_set_workers(kr, NULL);
}

/* Threads of this process (Threads: in /proc/self/status), -1 unknown. */
static int threads(void)
{
	char line[128];
	int n = -1;
	FILE *fp = fopen("/proc/self/status", "re");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof line, fp) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	(void)fclose(fp);
	return n;
}

int klic_keyring_start_workers(struct klic_keyring *kr, unsigned n, const char *sign_fpr)
{
	struct keys_workers *ws;
	pid_t parent = getpid();
	int r;

	if (kr == NULL || n == 0 || n > KLIC_MAX_WORKERS)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "start_workers: 1..%d workers",
				      KLIC_MAX_WORKERS);
	if (keys_get_workers(kr) != NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "start_workers: already started");
	if (threads() != 1)
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "start_workers: the process must have one thread");
	keys_warm(kr, sign_fpr);
	if ((ws = calloc(1, sizeof *ws)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "workers");
	if (pthread_mutex_init(&ws->mu, NULL) != 0) {
		free(ws);
		return klic_error_set(KLIC_ERR_INTERNAL, "workers mutex");
	}
	if (pthread_cond_init(&ws->cv, NULL) != 0) {
		pthread_mutex_destroy(&ws->mu);
		free(ws);
		return klic_error_set(KLIC_ERR_INTERNAL, "workers condition");
	}
	for (unsigned k = 0; k < n; k++) {
		int sv[2];
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
			r = klic_error_set(KLIC_ERR_IO, "socketpair: %s", strerror(errno));
			goto fail;
		}
		pid = fork();
		if (pid < 0) {
			r = klic_error_set(KLIC_ERR_IO, "fork: %s", strerror(errno));
			(void)close(sv[0]);
			(void)close(sv[1]);
			goto fail;
		}
		if (pid == 0) {
			/* the worker: only its own end of its own socket */
			(void)close(sv[0]);
			reg_close_all_in_child();
			int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (nul >= 0) {
				/* a worker never reads or writes stdio; it must not
				 * hold the caller's stdout pipe open either (stderr
				 * stays, for a sanitizer's report) */
				(void)dup2(nul, 0);
				(void)dup2(nul, 1);
				(void)close(nul);
			}
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			keys_set_workers(kr, NULL);
			/* the caller's pool is not the worker's (and a memory
			 * checker would call it lost in every process the worker
			 * forks, failing their exit status, which GPGME checks) */
			pthread_cond_destroy(&ws->cv);
			pthread_mutex_destroy(&ws->mu);
			free(ws);
			worker_main(kr, sv[1]);
		}
		(void)close(sv[1]);
		if (reg_add(sv[0]) != 0) {
			r = klic_error_set(KLIC_ERR_INTERNAL, "too many worker processes");
			(void)close(sv[0]);
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			goto fail;
		}
		ws->w[k].fd = sv[0];
		ws->w[k].pid = pid;
		ws->n++;
		ws->alive++;
	}
	keys_set_workers(kr, ws);
	return 0;
fail:
	keys_workers_stop(ws);
	return r;
}
