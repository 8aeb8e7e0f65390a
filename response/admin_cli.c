/* klic-admin — the helpers its command files share (admin_cli.h). */
#include <stdio.h>
#include <string.h>

#include "admin_cli.h"

const struct klic_cli admin_cli = {PROG, "[--state DIR] [--ledger URL|PATH] [--gnupghome DIR] "
					 "[--passphrase-file FILE]"};

int admin_open(struct klic_admin **a, const struct global *g)
{
	int r = klic_admin_open(a, g->state, g->gnupghome, g->passphrase_file);
	if (r != 0) {
		/* a PostgreSQL ledger is named, not the state folder */
		char where[4096], shown[4200];
		if (klic_ledger_where(where, sizeof where, g->state) == 0 &&
		    strncmp(where, "postgres", 8) == 0 && strstr(where, "://") != NULL) {
			klic_ledger_display(shown, sizeof shown, where);
			return klic_cli_fail(&admin_cli, shown, r);
		}
		return klic_cli_fail(&admin_cli, g->state, r);
	}
	return 0;
}

int admin_sub(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	char msg[256];
	size_t off = 0;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(c->help, stdout);
		return 0;
	}
	for (size_t i = 0; argc >= 2 && i < c->nsub; i++)
		if (strcmp(argv[1], c->sub[i].name) == 0)
			return klic_cli_dispatch(&admin_cli, c->name, c->sub, c->nsub, ctx,
						 argc - 1, argv + 1);
	off = (size_t)snprintf(msg, sizeof msg, "expected");
	for (size_t i = 0; i < c->nsub && off < sizeof msg; i++)
		off += (size_t)snprintf(msg + off, sizeof msg - off, "%s '%s'",
					i == 0             ? ""
					: i + 1 == c->nsub ? " or"
							   : ",",
					c->sub[i].name);
	return klic_cli_usage(&admin_cli, c->name, msg, NULL);
}
