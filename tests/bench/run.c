/* Run a command so that ALL the CPU time it causes is accounted to us.
 *
 * GPGME starts gpg with a double fork (the gpg process is orphaned), and
 * gpg-agent is a daemon: neither is ever waited for by the program that
 * caused it, so /usr/bin/time and getrusage(RUSAGE_CHILDREN) of a plain run
 * miss most of the work.  This runner makes itself a child subreaper
 * (prctl PR_SET_CHILD_SUBREAPER): every orphaned descendant is re-parented
 * to it and reaped by it, so its own children's rusage -- and thus
 * /usr/bin/time -v around it -- covers the whole process tree.
 *
 * After the command exits, it stops the gpg-agent of each --gnupghome given
 * (gpgconf --kill all), so the agents' CPU time counts too, then reaps
 * every remaining descendant (waiting at most 10 s for stragglers).
 *
 * usage: klic_bench_run [-o FILE] [--gnupghome DIR]... -- COMMAND [ARG]...
 * The command's stdin/stdout/stderr are ours.  FILE gets "key value" lines:
 *   wall_ms     from start to the command's exit (agents' shutdown not counted)
 *   user_s sys_s  CPU of the whole tree, agents included
 *   maxrss_kib  peak RSS of the largest single process of the tree
 *   cmd_user_s cmd_sys_s  CPU of the command itself (all its threads) and
 *               of the children it waited for, without the orphans
 *   procs       processes reaped by the runner itself (the command, orphans,
 *               agents and gpgconf; not what the command reaped itself)
 *   stragglers  descendants still running at the end (should be 0)
 *   pids        run as PID 1 of a new PID namespace (unshare -p -f): the
 *               PIDs the command tree used up to its exit -- processes,
 *               GPGME's intermediate forks and threads, the command itself
 *               included (the last PID used, minus ours); else -1
 * Exit status: the command's (128 + signal when killed), 125 on our error. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG "klic_bench_run"
#define MAX_HOMES 16
#define REAP_LIMIT_MS 10000

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Start argv; returns its pid, or -1 with a message. */
static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", PROG, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "%s: %s: %s\n", PROG, argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Reap children until `want` has exited (want > 0), or until there are no
 * children left (want == -1) or the deadline passes.  Counts reaped
 * processes in *procs; stores want's status in *status and its own rusage
 * (with that of the children it waited for) in *ru.  Returns 0 when done,
 * 1 when the deadline passed with children left, -1 on error. */
static int reap(pid_t want, int *status, struct rusage *ru, unsigned long *procs,
		double deadline)
{
	for (;;) {
		int st;
		struct rusage r;
		pid_t p = wait4(-1, &st, want > 0 ? 0 : WNOHANG, &r);
		if (p > 0) {
			(*procs)++;
			if (p == want) {
				*status = st;
				*ru = r;
				return 0;
			}
			continue;
		}
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0 && errno == ECHILD)
			return want > 0 ? -1 : 0;
		if (p < 0) {
			fprintf(stderr, "%s: wait4: %s\n", PROG, strerror(errno));
			return -1;
		}
		/* p == 0: children left, none exited yet */
		if (now_ms() > deadline)
			return 1;
		{
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
}

/* The last PID used in our PID namespace (/proc/loadavg, 5th field; the
 * kernel reports it for the reader's namespace), or -1. */
static long last_pid(void)
{
	char buf[256];
	const char *p;
	size_t n;
	long v;
	char *end;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ' ')) == NULL)
		return -1;
	errno = 0;
	v = strtol(p + 1, &end, 10);
	if (errno != 0 || end == p + 1 || (*end != '\n' && *end != '\0') || v < 1)
		return -1;
	return v;
}

static int usage(void)
{
	fprintf(stderr, "usage: %s [-o FILE] [--gnupghome DIR]... -- COMMAND [ARG]...\n", PROG);
	return 125;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"gnupghome", required_argument, NULL, 'g'},
					     {"output", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	char *homes[MAX_HOMES];
	const char *outpath = NULL;
	size_t nhomes = 0, i;
	unsigned long procs = 0;
	struct rusage ru, self, kru;
	double t0, wall;
	long pids = -1;
	pid_t pid;
	int c, status = 0, ignored = 0, left, rc = 125;
	FILE *out = NULL;

	while ((c = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			if (nhomes == MAX_HOMES)
				return usage();
			homes[nhomes++] = optarg;
			break;
		case 'o':
			if (outpath != NULL)
				return usage();
			outpath = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind >= argc)
		return usage();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "%s: PR_SET_CHILD_SUBREAPER: %s\n", PROG, strerror(errno));
		return 125;
	}
	t0 = now_ms();
	if ((pid = spawn(&argv[optind])) < 0)
		return 125;
	if (reap(pid, &status, &self, &procs, 0) != 0)
		return 125;
	wall = now_ms() - t0;
	if (getpid() == 1 && (pids = last_pid()) > 0)
		pids -= 1; /* not us */

	for (i = 0; i < nhomes; i++) {
		char *kill_argv[] = {"gpgconf", "--homedir", homes[i], "--kill", "all", NULL};
		int kst;
		pid_t k = spawn(kill_argv);
		if (k < 0 || reap(k, &kst, &kru, &procs, 0) != 0)
			goto out;
	}
	left = reap(-1, &ignored, &kru, &procs, now_ms() + REAP_LIMIT_MS);
	if (left < 0)
		goto out;
	if (left > 0)
		fprintf(stderr, "%s: descendants still running after %d ms\n", PROG, REAP_LIMIT_MS);
	if (getrusage(RUSAGE_CHILDREN, &ru) != 0) {
		fprintf(stderr, "%s: getrusage: %s\n", PROG, strerror(errno));
		goto out;
	}
	if (outpath != NULL) {
		if ((out = fopen(outpath, "w")) == NULL) {
			fprintf(stderr, "%s: %s: %s\n", PROG, outpath, strerror(errno));
			goto out;
		}
		fprintf(out,
			"wall_ms %.3f\nuser_s %.3f\nsys_s %.3f\nmaxrss_kib %ld\n"
			"cmd_user_s %.3f\ncmd_sys_s %.3f\nprocs %lu\nstragglers %d\npids %ld\n",
			wall, tv_s(&ru.ru_utime), tv_s(&ru.ru_stime), ru.ru_maxrss,
			tv_s(&self.ru_utime), tv_s(&self.ru_stime), procs, left, pids);
		if (fclose(out) != 0) {
			out = NULL;
			fprintf(stderr, "%s: %s: write error\n", PROG, outpath);
			goto out;
		}
		out = NULL;
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
out:
	if (out != NULL)
		fclose(out);
	return rc;
}
