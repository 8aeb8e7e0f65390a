/* klic keys/ — the caller side of the worker pool (pool.h).
 *
 * Why: GPGME starts each gpg with a double fork of the calling process.
 * In klic-admin, a multi-threaded process holding SQLite caches and a
 * response window, each such fork copies the page tables, write-protects
 * every page (the threads then fault on their next write) and holds the
 * memory-map lock, which stalls the other threads (tests/bench measures
 * what that costs).  Forked once, early, from the single-threaded process,
 * a worker is small, and the gpg processes it starts are forked from it.
 *
 * A worker is either a fork of the caller (which still carries every
 * library and mapping the caller has) or, given a worker program, a fork
 * of klic-keys-worker (worker.c: GPGME and libc only), whose forks for gpg
 * then cost what the gpg floor's do.  A passphrase callback cannot cross
 * an exec: a keyring with one cannot use a program.  The workers of a
 * program are not the caller's children: a failed one is retired by
 * closing its socket (it exits at end-of-file), and the program, which
 * is, ends when they all have (SIGKILL at the deadline of keys_pool_stop()
 * ends them too: PR_SET_PDEATHSIG).
 *
 * The caller fails closed on any I/O error (wire.h has the protocol): that
 * worker is retired, the call is made again on another one when the worker
 * died before answering (else it gets KLIC_ERR_GPG), and with no worker
 * left the pool says so (*ran = 0) and the front runs the call itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys_int.h"
#include "pool.h"
#include "wire.h"
#include "worker.h"

#define W_READY_TIMEOUT_MS 60000 /* a program opening its keyring */
#define W_READY_REST_S 5         /* the rest of a ready frame once it began */

struct keys_worker {
	pid_t pid;
	int child; /* pid is our child (forked worker): kill and reap it */
	int fd;    /* -1: retired */
	int busy;
};

struct keys_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned n, alive;
	pid_t program; /* the worker program (our child), or 0 */
	struct keys_worker w[KLIC_MAX_WORKERS];
};

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

/* Retire a worker that failed (the caller holds ws->mu): it is killed and
 * its pid returned, to be reaped by the caller after unlocking. */
static pid_t retire(struct keys_pool *ws, struct keys_worker *w)
{
	pid_t pid = w->pid;

	if (w->fd >= 0) {
		reg_close(w->fd);
		w->fd = -1;
		ws->alive--;
	}
	if (!w->child)
		pid = 0; /* a program's worker: it exits at end-of-file */
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
 * *ran = 0 and 0 when no worker is left. */
static int call(struct keys_pool *ws, const struct w_req *q, const uint8_t *a, const uint8_t *b,
		struct w_rep *p, uint8_t **out, int *unanswered, int *ran)
{
	struct keys_worker *w = NULL;
	char detail[W_MAX_DETAIL];
	uint8_t *o = NULL;
	const char *what = "send";
	int e = 0, k;
	long wpid;

	*out = NULL;
	*unanswered = 1;
	*ran = 1;
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
		*ran = 0;
		return 0;
	}
	w->busy = 1;
	pthread_mutex_unlock(&ws->mu);

	if (wire_send_all(w->fd, q, sizeof *q) != 0 || wire_send_all(w->fd, a, q->a_len) != 0 ||
	    wire_send_all(w->fd, b, q->b_len) != 0) {
		e = errno;
		goto fail;
	}
	what = "reply";
	if ((k = wire_recv_all(w->fd, p, sizeof *p)) != 1) {
		e = k == 0 ? EPIPE : errno;
		goto fail;
	}
	*unanswered = 0;
	if (!wire_rep_ok(q, p)) {
		e = EPROTO;
		goto fail;
	}
	if (p->detail_len > 0 && wire_recv_all(w->fd, detail, p->detail_len) != 1) {
		e = errno;
		goto fail;
	}
	detail[p->detail_len] = '\0';
	if (p->out_len > 0) {
		if ((o = malloc(p->out_len)) == NULL) {
			e = ENOMEM;
			goto fail;
		}
		if (wire_recv_all(w->fd, o, p->out_len) != 1) {
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
	wpid = (long)w->pid;
	pid_t pid = retire(ws, w);
	pthread_mutex_unlock(&ws->mu);
	if (pid > 0)
		while (waitpid(pid, &k, 0) < 0 && errno == EINTR)
			;
	return klic_error_set(KLIC_ERR_GPG, "gpg worker process %ld stopped (%s: %s)", wpid, what,
			      strerror(e));
}

/* A call, again on another worker when the first died before answering
 * (killed while idle, say: signing and verifying can be repeated); a
 * second death is the answer. */
static int call_retry(struct keys_pool *ws, const struct w_req *q, const uint8_t *a,
		      const uint8_t *b, struct w_rep *p, uint8_t **out, int *ran)
{
	int unanswered, r = call(ws, q, a, b, p, out, &unanswered, ran);

	if (r == KLIC_ERR_GPG && unanswered)
		r = call(ws, q, a, b, p, out, &unanswered, ran);
	return r;
}

int keys_pool_sign(struct keys_pool *ws, int *ran, uint8_t **out, size_t *outlen, const char *fpr,
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
	if ((r = call_retry(ws, &q, data, NULL, &p, out, ran)) != 0 || !*ran)
		return r;
	*outlen = p.out_len;
	return 0;
}

int keys_pool_verify(struct keys_pool *ws, int *ran, struct klic_sig_info *info, const uint8_t *sig,
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
	if ((r = call_retry(ws, &q, sig, data, &p, &none, ran)) != 0 || !*ran)
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

void keys_pool_stop(struct keys_pool *ws)
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
	/* our children (forked workers, or the program, which ends when its
	 * workers have) exit at once; those that have not within 10 s in
	 * all (stuck in gpg?) are killed rather than waited for forever */
	pid_t kids[KLIC_MAX_WORKERS + 1];
	unsigned nk = 0;
	for (unsigned k = 0; k < ws->n; k++)
		if (ws->w[k].child && ws->w[k].pid > 0)
			kids[nk++] = ws->w[k].pid;
	if (ws->program > 0)
		kids[nk++] = ws->program;
	for (int i = 0; i < 10000; i++) {
		unsigned left = 0;
		for (unsigned k = 0; k < nk; k++) {
			if (kids[k] <= 0)
				continue;
			pid_t got = waitpid(kids[k], &st, WNOHANG);
			if (got == kids[k] || (got < 0 && errno != EINTR))
				kids[k] = 0;
			else
				left++;
		}
		if (left == 0)
			break;
		(void)usleep(1000);
	}
	for (unsigned k = 0; k < nk; k++) {
		if (kids[k] <= 0)
			continue;
		(void)kill(kids[k], SIGKILL);
		while (waitpid(kids[k], &st, 0) < 0 && errno == EINTR)
			;
	}
	pthread_cond_destroy(&ws->cv);
	pthread_mutex_destroy(&ws->mu);
	free(ws);
}

/* In the child of fork: stdin and stdout on /dev/null (a worker never
 * uses them, and must not hold the caller's stdout pipe open; stderr
 * stays, for a sanitizer's report), killed when the caller ends; 0, or -1
 * when the caller is already gone. */
static int child_setup(pid_t parent)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (nul >= 0) {
		(void)dup2(nul, 0);
		(void)dup2(nul, 1);
		(void)close(nul);
	}
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	return getppid() == parent ? 0 : -1;
}

/* In the child of fork (one thread): exec the worker program argv[0] with
 * the n sockets fds[] as descriptors W_PROGRAM_FD.. and no other
 * descriptor beyond stdio; returns only if that fails.  (Only
 * async-signal-safe calls: argv was made before the fork.) */
static void exec_program(char *const argv[], const int *fds, unsigned n, pid_t parent)
{
	int high[KLIC_MAX_WORKERS];

	/* first out of the way of stdio and of the target numbers, then
	 * into place (dup2 leaves FD_CLOEXEC off) */
	for (unsigned k = 0; k < n; k++)
		if ((high[k] = fcntl(fds[k], F_DUPFD_CLOEXEC, W_PROGRAM_FD + (int)n)) < 0)
			return;
	if (child_setup(parent) != 0)
		return;
	for (unsigned k = 0; k < n; k++)
		if (dup2(high[k], W_PROGRAM_FD + (int)k) != W_PROGRAM_FD + (int)k)
			return;
	if (close_range(W_PROGRAM_FD + n, ~0U, 0) != 0)
		return;
	execv(argv[0], argv);
}

/* The ready frame of worker w (a program's): 0 with w->pid set, or an
 * error (the program's own, or KLIC_ERR_GPG when it sent none within
 * W_READY_TIMEOUT_MS). */
static int await_ready(struct keys_worker *w, const char *program)
{
	struct pollfd pf = {.fd = w->fd, .events = POLLIN};
	char detail[W_MAX_DETAIL];
	struct w_ready y;
	int k;

	do
		k = poll(&pf, 1, W_READY_TIMEOUT_MS);
	while (k < 0 && errno == EINTR);
	if (k <= 0)
		return klic_error_set(KLIC_ERR_GPG, "worker program %s: %s", program,
				      k == 0 ? "no answer" : strerror(errno));
	/* the frame, with a receive timeout (a program that sends part of
	 * one and stops must not hang the caller), then none again */
	struct timeval tv = {.tv_sec = W_READY_REST_S};
	k = setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
	    wire_recv_all(w->fd, &y, sizeof y) == 1 && y.magic == W_MAGIC_READY &&
	    y.detail_len < W_MAX_DETAIL && y.rc <= 0 && y.pid > 1 &&
	    (y.detail_len == 0 || wire_recv_all(w->fd, detail, y.detail_len) == 1);
	tv.tv_sec = 0;
	if (!k || setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
		return klic_error_set(KLIC_ERR_GPG, "worker program %s did not start", program);
	detail[y.detail_len] = '\0';
	if (y.rc != 0)
		return klic_error_set(y.rc, "worker program: %s", detail);
	w->pid = (pid_t)y.pid;
	return 0;
}

/* The caller's end of a new socket pair in *mine, the worker's in *theirs. */
static int new_pair(int *mine, int *theirs)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return klic_error_set(KLIC_ERR_IO, "socketpair: %s", strerror(errno));
	if (reg_add(sv[0]) != 0) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return klic_error_set(KLIC_ERR_INTERNAL, "too many worker processes");
	}
	*mine = sv[0];
	*theirs = sv[1];
	return 0;
}

/* n workers of the program (one child): 0, or an error with every
 * socket made so far in ws (stopped by the caller). */
static int start_program(struct keys_pool *ws, struct klic_keyring *kr, unsigned n,
			 const char *sign_fpr, const char *program, pid_t parent)
{
	int theirs[KLIC_MAX_WORKERS];
	char pid_s[24], n_s[8];
	const char *pf = kr->passfile;
	char *argv[] = {(char *)(uintptr_t)program,
			"--worker",
			pid_s,
			(char *)(uintptr_t)kr->home,
			(char *)(uintptr_t)(sign_fpr != NULL ? sign_fpr : "-"),
			(char *)(uintptr_t)(pf != NULL ? pf : "-"),
			n_s,
			NULL};
	unsigned k;
	pid_t pid;
	int r = 0;

	snprintf(pid_s, sizeof pid_s, "%ld", (long)parent);
	snprintf(n_s, sizeof n_s, "%u", n);
	for (k = 0; k < n; k++) {
		if ((r = new_pair(&ws->w[k].fd, &theirs[k])) != 0)
			break;
		ws->n++;
		ws->alive++;
	}
	if (r == 0) {
		pid = fork();
		if (pid == 0) {
			reg_close_all_in_child();
			exec_program(argv, theirs, n, parent);
			_exit(127);
		}
		if (pid < 0)
			r = klic_error_set(KLIC_ERR_IO, "fork: %s", strerror(errno));
		else
			ws->program = pid;
	}
	for (unsigned j = 0; j < ws->n; j++)
		(void)close(theirs[j]);
	/* the program opens the keyring once, then forks the workers; each
	 * must say it is ready before it gets a call */
	for (k = 0; r == 0 && k < n; k++)
		r = await_ready(&ws->w[k], program);
	return r;
}

/* n workers forked from this process: 0, or an error with every worker
 * made so far in ws (stopped by the caller). */
static int start_forked(struct keys_pool *ws, struct klic_keyring *kr, unsigned n, pid_t parent)
{
	int r;

	for (unsigned k = 0; k < n; k++) {
		int mine, theirs;
		pid_t pid;

		if ((r = new_pair(&mine, &theirs)) != 0)
			return r;
		pid = fork();
		if (pid < 0) {
			r = klic_error_set(KLIC_ERR_IO, "fork: %s", strerror(errno));
			reg_close(mine);
			(void)close(theirs);
			return r;
		}
		if (pid == 0) {
			/* the worker: only its own end of its own socket (moved
			 * out of the way of stdio) */
			int fd = fcntl(theirs, F_DUPFD_CLOEXEC, 3);
			reg_close_all_in_child();
			(void)close(theirs);
			if (fd < 0 || child_setup(parent) != 0)
				_exit(0);
			/* the caller's pool is not the worker's (and a memory
			 * checker would call it lost in every process the worker
			 * forks, failing their exit status, which GPGME checks);
			 * kr has no pool yet, and the worker runs the engine,
			 * never the front, so it would not use one anyway */
			pthread_cond_destroy(&ws->cv);
			pthread_mutex_destroy(&ws->mu);
			free(ws);
			keys_worker_serve(kr, fd);
		}
		(void)close(theirs);
		ws->w[k].fd = mine;
		ws->w[k].pid = pid;
		ws->w[k].child = 1;
		ws->n++;
		ws->alive++;
	}
	return 0;
}

int keys_pool_start(struct keys_pool **out, struct klic_keyring *kr, unsigned n,
		    const char *sign_fpr, const char *program)
{
	struct keys_pool *ws;
	pid_t parent = getpid();
	int r;

	*out = NULL;
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
	r = program != NULL ? start_program(ws, kr, n, sign_fpr, program, parent)
			    : start_forked(ws, kr, n, parent);
	if (r != 0) {
		keys_pool_stop(ws);
		return r;
	}
	*out = ws;
	return 0;
}
