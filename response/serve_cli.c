/* klic-admin serve: the command around the web console (serve.h): parses
 * --listen, opens the admin state, prints the one-time login URL, logs
 * each refused request on stderr and stops on SIGINT or SIGTERM. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "admin_cli.h"
#include "klic_error.h"
#include "serve.h"
#include "serve_cli.h"

const char serve_help[] =
    "usage: klic-admin serve [--listen ADDRESS:PORT]\n"
    "Serve the admin web console on a loopback address only: 127.0.0.0/8 or\n"
    "[::1] (default 127.0.0.1:0; port 0 picks a free port).  Prints the login\n"
    "URL, http://ADDRESS:PORT/login?token=T, whose token works once, within\n"
    "10 minutes; it sets the session cookie.  Every page needs the session,\n"
    "every form post its CSRF token and the server's own Origin, else 403 and\n"
    "one line on stderr.  Uploads: 256 KiB a file, 64 files, 20 MiB a request.\n"
    "Stops on SIGINT or SIGTERM (prints \"stopped\", exit 0).\n";

static void log_line(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s: serve: %s\n", PROG, line);
	fflush(stderr);
}

int cmd_serve(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct klic_serve_opts o = {"127.0.0.1:0", NULL, log_line, NULL};
	const char *listen_opt = NULL;
	struct sockaddr_storage ss;
	unsigned sl;
	struct klic_admin *a = NULL;
	struct klic_serve *s = NULL;
	sigset_t set;
	int c, r, sig = 0;

	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("serve"), argc, argv, "+:h", opts)) !=
	       -1) {
		switch (c) {
		case 'l':
			if ((r = klic_cli_once(&admin_cli, "serve", &listen_opt, optarg,
					       "--listen")) != 0)
				return r;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return klic_cli_usage(&admin_cli, "serve", "unexpected argument", NULL);
	if (listen_opt != NULL)
		o.listen = listen_opt;
	if (klic_serve_parse_listen(&ss, &sl, o.listen) != 0)
		return klic_cli_usage(&admin_cli, "serve", klic_error_detail(), NULL);
	if ((r = admin_open(&a, g)) != 0)
		return r;
	o.admin = a;
	/* the server's thread inherits the mask: only sigwait below sees them */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = klic_serve_start(&s, &o)) != 0) {
		klic_admin_free(a);
		return klic_cli_fail(&admin_cli, "serve", r);
	}
	printf("%s\n", klic_serve_login_url(s));
	fflush(stdout);
	sigwait(&set, &sig);
	klic_serve_stop(s);
	klic_admin_free(a);
	printf("stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	return 0;
}
