/* klic keys/ — the worker side of the worker pool (worker.c): what runs
 * in a worker process.  Calls the engine (engine.h) and the wire format
 * (wire.h), never the front or the pool. */
#ifndef KLIC_KEYS_WORKER_H
#define KLIC_KEYS_WORKER_H

#include "keys_int.h"

/* A forked worker's life: serve calls on fd with kr until end-of-file (the
 * caller stopped it, or died) or a broken frame, then _exit(0). */
void keys_worker_serve(struct klic_keyring *kr, int fd) __attribute__((noreturn));

/* main() of the worker program klic-keys-worker (keys/worker_prog.c). */
int keys_worker_program(int argc, char **argv);

#endif
