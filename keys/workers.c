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
 * A worker is either a fork of the caller (which still carries every
 * library and mapping the caller has: klic-admin links 23 libraries) or,
 * given a worker program, a fork of klic-keys-worker (keys/worker_prog.c:
 * GPGME and libc only), whose forks for gpg then cost what the gpg
 * floor's do.  The caller starts the program once, with the n worker
 * sockets as descriptors 3..3+n-1 and the keyring settings in argv; it
 * initialises GPGME and looks the keys up once (each of those is a gpg
 * process or more), then forks one worker per socket and waits for them.
 * Each worker answers a ready frame (struct w_ready: its pid, or the
 * error that stopped the program) before the first call.  A passphrase
 * callback cannot cross an exec: a keyring with one cannot use a program.
 * The workers of a program are not the caller's children: a failed one
 * is retired by closing its socket (it exits at end-of-file), and the
 * program, which is, ends when they all have (SIGKILL at the deadline of
 * klic_keyring_stop_workers() ends them too: PR_SET_PDEATHSIG).
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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys_int.h"

#define W_MAGIC_REQ 0x6b6c7751u /* "klwQ" */
#define W_MAGIC_REP 0x6b6c7752u /* "klwR" */
#define W_MAGIC_READY 0x6b6c7759u /* "klwY" */
#define W_PROGRAM_FD 3            /* the first worker socket of a program */
#define W_READY_TIMEOUT_MS 60000  /* a program opening its keyring */
#define W_READY_REST_S 5          /* the rest of a ready frame once it began */
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

struct keys_worker {
	pid_t pid;
	int child; /* pid is our child (forked worker): kill and reap it */
	int fd;    /* -1: retired */
	int busy;
};

struct keys_workers {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned n, alive;
	pid_t program; /* the worker program (our child), or 0 */
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
	 * atexit handlers, no stdio flush: this is a copy of the process that
	 * forked it. */
	_exit(0);
}

/* A ready frame on fd: 0, or -1 (the caller is gone). */
static int send_ready(int fd, int rc, const char *detail)
{
	struct w_ready y;

	memset(&y, 0, sizeof y);
	y.magic = W_MAGIC_READY;
	y.rc = rc;
	y.detail_len = rc != 0 ? (uint32_t)strnlen(detail, W_MAX_DETAIL - 1) : 0;
	y.pid = (int32_t)getpid();
	return send_all(fd, &y, sizeof y) == 0 && send_all(fd, detail, y.detail_len) == 0 ? 0 : -1;
}

/* The worker program's main (keys/worker_prog.c):
 *   klic-keys-worker --worker PARENT_PID GNUPGHOME SIGN_FPR|- PASSFILE|- N
 * with its N worker sockets as descriptors 3..3+N-1, started by
 * klic_keyring_start_workers() of process PARENT_PID.  Anything else is
 * refused. */
int keys_worker_program(int argc, char **argv)
{
	struct klic_keyring *kr = NULL;
	struct stat st;
	const char *detail;
	char *end;
	long parent, n;
	pid_t self = getpid(), pid;
	int r, k, status;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("klic-keys-worker: the gpg helper processes of klic-admin issue (they\n"
		       "sign and verify for it over sockets it starts them with); not for direct\n"
		       "use.\n");
		return 0;
	}
	if (argc != 7 || strcmp(argv[1], "--worker") != 0) {
		fprintf(stderr, "klic-keys-worker: internal helper of klic-admin; not for direct "
				"use (see --help)\n");
		return 2;
	}
	errno = 0;
	parent = strtol(argv[2], &end, 10);
	r = errno != 0 || *end != '\0' || parent <= 1;
	errno = 0;
	n = strtol(argv[6], &end, 10);
	r = r || errno != 0 || *end != '\0' || n < 1 || n > KLIC_MAX_WORKERS;
	/* sockets, kept from every process gpg or GPGME starts (close-on-
	 * exec: a gpg-agent holding one would keep its worker from ever
	 * seeing end-of-file) */
	for (k = 0; !r && k < n; k++)
		r = fstat(W_PROGRAM_FD + k, &st) != 0 || !S_ISSOCK(st.st_mode) ||
		    fcntl(W_PROGRAM_FD + k, F_SETFD, FD_CLOEXEC) != 0;
	if (r) {
		fprintf(stderr,
			"klic-keys-worker: not started by klic-admin (no worker sockets)\n");
		return 2;
	}
	/* killed when the caller ends (PR_SET_PDEATHSIG survives the exec;
	 * set again for clarity) */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != (pid_t)parent)
		return 0;
	klic_error_clear();
	if ((r = klic_keyring_open(&kr, argv[3], 0)) == 0 && strcmp(argv[5], "-") != 0)
		r = klic_keyring_set_passphrase_file(kr, argv[5]);
	if (r == 0 && strcmp(argv[4], "-") != 0 && klic_fpr_check(argv[4]) != 0)
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "worker: signing key %s", argv[4]);
	if (r == 0)
		keys_warm(kr, strcmp(argv[4], "-") != 0 ? argv[4] : NULL);
	detail = r != 0 && klic_error_detail() != NULL ? klic_error_detail() : "";
	for (k = 0; k < n; k++) {
		int fd = W_PROGRAM_FD + k;
		if (r != 0) {
			(void)send_ready(fd, r, detail);
		} else if ((pid = fork()) == 0) {
			/* the worker: its own socket only */
			for (int j = 0; j < n; j++)
				if (j != k)
					(void)close(W_PROGRAM_FD + j);
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self || send_ready(fd, 0, "") != 0)
				_exit(0);
			worker_main(kr, fd);
		} else if (pid < 0) {
			(void)send_ready(fd, KLIC_ERR_IO, "fork failed");
		}
		(void)close(fd);
	}
	/* the program itself makes no gpg call from here on: it only waits */
	while (wait(&status) > 0 || errno == EINTR)
		;
	klic_keyring_free(kr);
	return 0;
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
 * KEYS_RUN_LOCAL when no worker is left. */
static int call(struct keys_workers *ws, const struct w_req *q, const uint8_t *a,
		const uint8_t *b, struct w_rep *p, uint8_t **out, int *unanswered)
{
	struct keys_worker *w = NULL;
	char detail[W_MAX_DETAIL];
	uint8_t *o = NULL;
	const char *what = "send";
	int e = 0, k;
	long wpid;

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
	    recv_all(w->fd, &y, sizeof y) == 1 && y.magic == W_MAGIC_READY &&
	    y.detail_len < W_MAX_DETAIL && y.rc <= 0 && y.pid > 1 &&
	    (y.detail_len == 0 || recv_all(w->fd, detail, y.detail_len) == 1);
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
static int start_program(struct keys_workers *ws, struct klic_keyring *kr, unsigned n,
			 const char *sign_fpr, const char *program, pid_t parent)
{
	int theirs[KLIC_MAX_WORKERS];
	char pid_s[24], n_s[8];
	const char *pf = keys_passfile(kr);
	char *argv[] = {(char *)(uintptr_t)program,
			"--worker",
			pid_s,
			(char *)(uintptr_t)klic_keyring_home(kr),
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
static int start_forked(struct keys_workers *ws, struct klic_keyring *kr, unsigned n, pid_t parent)
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
			keys_set_workers(kr, NULL);
			/* the caller's pool is not the worker's (and a memory
			 * checker would call it lost in every process the worker
			 * forks, failing their exit status, which GPGME checks) */
			pthread_cond_destroy(&ws->cv);
			pthread_mutex_destroy(&ws->mu);
			free(ws);
			worker_main(kr, fd);
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

int klic_keyring_start_workers(struct klic_keyring *kr, unsigned n, const char *sign_fpr,
			       const char *program)
{
	struct keys_workers *ws;
	pid_t parent = getpid();
	int r;

	if (kr == NULL || n == 0 || n > KLIC_MAX_WORKERS)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "start_workers: 1..%d workers",
				      KLIC_MAX_WORKERS);
	if (keys_get_workers(kr) != NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "start_workers: already started");
	if (program != NULL && (program[0] != '/' || keys_has_passphrase_cb(kr)))
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "start_workers: the worker program needs an absolute path "
				      "and a keyring without a passphrase callback");
	if (sign_fpr != NULL && klic_fpr_check(sign_fpr) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "start_workers: signing key");
	if (threads() != 1)
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "start_workers: the process must have one thread");
	if (program != NULL && access(program, X_OK) != 0)
		return klic_error_set(errno == ENOENT ? KLIC_ERR_NOT_FOUND : KLIC_ERR_IO,
				      "worker program %s: %s", program, strerror(errno));
	/* forked workers inherit what this looks up; a program looks it up
	 * itself */
	if (program == NULL)
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
	r = program != NULL ? start_program(ws, kr, n, sign_fpr, program, parent)
			    : start_forked(ws, kr, n, parent);
	if (r != 0)
		goto fail;
	keys_set_workers(kr, ws);
	return 0;
fail:
	keys_workers_stop(ws);
	return r;
}
