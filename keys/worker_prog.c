/* klic-keys-worker: the worker program of klic_keyring_start_workers()
 * (keys/worker.c, keys/wire.h).  It links GPGME and libc only, so the
 * two forks GPGME makes for every gpg process are cheap; klic-admin starts
 * it from $bindir/KLIC_WORKER_REL, never from PATH. */
#include "worker.h"

int main(int argc, char **argv)
{
	return keys_worker_program(argc, argv);
}
