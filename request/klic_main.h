/* klic — what the files of the klic executable share (main.c: global
 * options, dispatch, the other commands; cmd_check.c: install, verify,
 * status).  Not a library header. */
#ifndef KLIC_MAIN_H
#define KLIC_MAIN_H

#include <getopt.h>
#include <jansson.h>

#include "klic_cli.h"
#include "klic_request.h"

struct globals {
	const char *home;
	const char *gnupghome;
	const char *passphrase_file;
};

extern const struct klic_cli klic_main_cli;

/* Resolve the home and set up the user's state; an exit code on failure
 * (the error printed). */
int klic_main_user_open(struct klic_user *u, const struct globals *g);
/* The same for a command that needs a home made by 'klic init' (request,
 * install): without its keyring, "klic: CMD: no klic home at DIR: run
 * 'klic init' first" and exit 1, before anything is read or written. */
int klic_main_user_open_home(struct klic_user *u, const struct globals *g, const char *cmd);
/* 1 when path names a folder ("-" and NULL never do). */
int klic_main_is_folder(const char *path);
/* A folder given where a file is expected: "klic: PATH: is a folder: CMD
 * takes WHAT" and KLIC_EXIT_USAGE; 0 when path is not a folder. */
int klic_main_refuse_folder(const char *cmd, const char *path, const char *what);
/* 1 when HOME/klic exists (status and verify never create a home). */
int klic_main_home_made(const struct klic_user *u);
/* A JSON string, or null for NULL/"". */
json_t *klic_main_json_str_or_null(const char *s);
/* The options of a command whose only option is --json (and --help):
 * -1 to go on, else the exit status to return. */
int klic_main_json_only_args(const struct klic_cmd *c, int argc, char **argv,
			     const struct option *lo, int *json);

int klic_cmd_install(const struct klic_cmd *c, void *ctx, int argc, char **argv);
int klic_cmd_verify(const struct klic_cmd *c, void *ctx, int argc, char **argv);
int klic_cmd_status(const struct klic_cmd *c, void *ctx, int argc, char **argv);
int klic_cmd_return(const struct klic_cmd *c, void *ctx, int argc, char **argv);

#endif
