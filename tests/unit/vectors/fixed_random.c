/* TEST-ONLY (never installed), for spec/vectors/generate.sh: an LD_PRELOAD
 * module that makes getrandom(2) deterministic in the klic tools, so that
 * the vectors regenerate byte for byte (nonces, license and entitlement
 * IDs, temporary names).  It acts only when KLIC_TEST_RANDOM_STATE names a
 * counter file and the program is klic, klic-admin or klic-vendor; every
 * other program (gpg, gpg-agent, the keys worker) gets the real getrandom.
 * Each such process takes the next counter value from the file (the tools
 * run one after another in generate.sh) and draws a SplitMix64 stream
 * seeded from its program name and that value.  Only calls made by the
 * program's own code (klic_random, linked into the executable) draw from
 * it: libraries that ask for randomness while they load (GnuTLS under
 * libmicrohttpd in klic-admin) get the real getrandom, so linking another
 * library into a tool does not move the stream. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

ssize_t getrandom(void *buf, size_t len, unsigned int flags);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int mode = -1; /* -1 unknown, 0 real, 1 fixed */
static uint64_t state;

static uint64_t next64(void)
{
	uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void decide(void)
{
	const char *f = getenv("KLIC_TEST_RANDOM_STATE");
	const char *name = program_invocation_short_name;
	char num[32] = "0";
	uint64_t n = 0, h = 1469598103934665603ULL;
	int fd;
	ssize_t got;

	mode = 0;
	if (f == NULL || name == NULL ||
	    (strcmp(name, "klic") != 0 && strcmp(name, "klic-admin") != 0 &&
	     strcmp(name, "klic-vendor") != 0))
		return;
	if ((fd = open(f, O_RDWR | O_CREAT, 0600)) < 0 || flock(fd, LOCK_EX) != 0) {
		fprintf(stderr, "fixed_random: %s: %s\n", f, strerror(errno));
		abort();
	}
	got = read(fd, num, sizeof(num) - 1);
	num[got > 0 ? got : 1] = '\0';
	n = strtoull(num, NULL, 10);
	snprintf(num, sizeof(num), "%llu\n", (unsigned long long)n + 1);
	if (lseek(fd, 0, SEEK_SET) != 0 || write(fd, num, strlen(num)) != (ssize_t)strlen(num)) {
		fprintf(stderr, "fixed_random: %s: cannot write\n", f);
		abort();
	}
	close(fd);
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	state = h ^ (n * 0x2545F4914F6CDD1DULL);
	mode = 1;
}

/* dl_iterate_phdr visits the executable first: is addr in one of its
 * loaded segments? */
static int in_main(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t a = (uintptr_t)data;
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && a >= lo && a < lo + ph->p_memsz)
			return 1;
	}
	return 2; /* not in the executable: stop after the first object */
}

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	uint8_t *p = buf;
	int own = dl_iterate_phdr(in_main, __builtin_return_address(0)) == 1;

	pthread_mutex_lock(&mu);
	if (own && mode < 0)
		decide();
	if (!own || mode == 0) {
		pthread_mutex_unlock(&mu);
		return syscall(SYS_getrandom, buf, len, flags);
	}
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = next64();
		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
	pthread_mutex_unlock(&mu);
	return (ssize_t)len;
}
