/* klic keys/ — the worker side of the worker pool (worker.h): a worker
 * process serving calls on its socket, and the worker program
 * klic-keys-worker.
 *
 * A worker runs the engine's bodies (keys_engine_sign, keys_engine_verify,
 * after the same argument checks as the front), never the front: so it
 * never hands a call on to a worker of its own, whatever its copy of the
 * keyring holds.  The caller's allow callback runs in the caller.  A
 * worker exits on end-of-file (the caller stopped it, or died:
 * PR_SET_PDEATHSIG as well).
 *
 * The worker program: the caller (pool.c) starts it once, with the n
 * worker sockets as descriptors 3..3+n-1 and the keyring settings in
 * argv; it initialises GPGME and looks the keys up once (each of those is
 * a gpg process or more), then forks one worker per socket and waits for
 * them.  Each worker answers a ready frame (struct w_ready: its pid, or
 * the error that stopped the program) before the first call.  It maps
 * GPGME and libc only, so the two forks GPGME makes for every gpg process
 * are cheap.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "keys_int.h"
#include "wire.h"
#include "worker.h"

static int serve_one(struct klic_keyring *kr, int fd)
{
	struct w_req q;
	struct w_rep p;
	uint8_t *a = NULL, *b = NULL, *out = NULL;
	size_t outlen = 0;
	const char *detail;
	int r, k;

	if ((k = wire_recv_all(fd, &q, sizeof q)) <= 0)
		return -1;
	if (!wire_req_ok(&q))
		return -1;
	/* +1: never malloc(0) */
	if ((a = malloc(q.a_len + 1u)) == NULL || (b = malloc(q.b_len + 1u)) == NULL) {
		free(a);
		return -1;
	}
	if ((q.a_len > 0 && wire_recv_all(fd, a, q.a_len) != 1) ||
	    (q.b_len > 0 && wire_recv_all(fd, b, q.b_len) != 1)) {
		free(a);
		free(b);
		return -1;
	}
	memset(&p, 0, sizeof p);
	klic_error_clear();
	/* the same argument checks as in the caller, then the body */
	if (q.op == W_VERIFY) {
		if ((r = keys_verify_check(kr, &p.info, a, q.a_len, b, q.b_len)) == 0)
			r = keys_engine_verify(kr, &p.info, a, q.a_len, b, q.b_len);
	} else if ((r = keys_sign_check(kr, &out, &outlen, q.fpr, a, q.a_len)) == 0) {
		r = keys_engine_sign(kr, &out, &outlen, q.fpr, a, q.a_len, q.op == W_SIGN_CLEAR);
	}
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
	k = wire_send_all(fd, &p, sizeof p) == 0 && wire_send_all(fd, detail, p.detail_len) == 0 &&
		    wire_send_all(fd, out, p.out_len) == 0
		? 0
		: -1;
	free(out);
	return k;
}

void keys_worker_serve(struct klic_keyring *kr, int fd)
{
	while (serve_one(kr, fd) == 0)
		;
	/* end-of-file or a broken frame: the caller is done (or gone).  No
	 * atexit handlers, no stdio flush: this is a copy of the process that
	 * forked it. */
	_exit(0);
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
	if ((r = keys_engine_open(&kr, argv[3], 0)) == 0 && strcmp(argv[5], "-") != 0)
		r = keys_engine_set_passfile(kr, argv[5]);
	if (r == 0 && strcmp(argv[4], "-") != 0 && klic_fpr_check(argv[4]) != 0)
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "worker: signing key %s", argv[4]);
	if (r == 0)
		keys_warm(kr, strcmp(argv[4], "-") != 0 ? argv[4] : NULL);
	detail = r != 0 && klic_error_detail() != NULL ? klic_error_detail() : "";
	for (k = 0; k < n; k++) {
		int fd = W_PROGRAM_FD + k;
		if (r != 0) {
			(void)wire_send_ready(fd, r, detail);
		} else if ((pid = fork()) == 0) {
			/* the worker: its own socket only */
			for (int j = 0; j < n; j++)
				if (j != k)
					(void)close(W_PROGRAM_FD + j);
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self || wire_send_ready(fd, 0, "") != 0)
				_exit(0);
			keys_worker_serve(kr, fd);
		} else if (pid < 0) {
			(void)wire_send_ready(fd, KLIC_ERR_IO, "fork failed");
		}
		(void)close(fd);
	}
	/* the program itself makes no gpg call from here on: it only waits */
	while (wait(&status) > 0 || errno == EINTR)
		;
	keys_engine_free(kr);
	return 0;
}
