/* Replay driver: runs LLVMFuzzerTestOneInput over every file in the
 * corpus directories (or files) given on the command line, so the
 * committed corpus is an ordinary ctest case without libFuzzer. */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "klic_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX (1024u * 1024u)

static int run_file(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	if (klic_read_file(&buf, &len, path, REPLAY_MAX) != 0) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		return 1;
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: not found\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]);
			n++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL)
			return 1;
		while ((e = readdir(d)) != NULL) {
			char p[PATH_MAX];
			if (e->d_name[0] == '.')
				continue;
			if (snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name) >= (int)sizeof p)
				continue;
			bad |= run_file(p);
			n++;
		}
		closedir(d);
	}
	printf("replayed %zu inputs\n", n);
	return bad || n == 0;
}
