/* klic — cryptographic randomness (getrandom) (klic_util.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "klic_error.h"
#include "klic_util.h"

int klic_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(p + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return klic_error_set(KLIC_ERR_IO, "getrandom: %s", strerror(errno));
		}
		done += (size_t)n;
	}
	return 0;
}
