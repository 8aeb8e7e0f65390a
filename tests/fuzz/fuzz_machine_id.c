/* libFuzzer target: machine ID parsing (what a person typed), canonical
 * check and derivation input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[KLIC_MACHINE_ID_LEN + 1], id2[KLIC_MACHINE_ID_LEN + 1];
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (klic_machine_id_parse(id, s) == 0) {
		/* the canonical form is canonical and a fixed point */
		if (klic_machine_id_check(id) != 0 || klic_machine_id_parse(id2, id) != 0 ||
		    strcmp(id, id2) != 0)
			__builtin_trap();
	}
	(void)klic_machine_id_check(s);
	if (klic_machine_id_derive(id, s, size) == 0 && klic_machine_id_check(id) != 0)
		__builtin_trap();
	free(s);
	return 0;
}
