/* klic-admin serve (serve_cli.c): the command and its help. */
#ifndef KLIC_SERVE_CLI_H
#define KLIC_SERVE_CLI_H

#include "klic_cli.h"

int cmd_serve(const struct klic_cmd *c, void *ctx, int argc, char **argv);
extern const char serve_help[];

#endif
