/* klic — what installing a license does to the file at its name (spec
 * 5.4).  Pure. */
#include <string.h>

#include "klic_request.h"

int klic_slot_decide(enum klic_slot_action *action, const struct klic_slot_info *cur,
		     const char *license_id, int64_t expires)
{
	char t[KLIC_TIME_LEN + 1] = "?";

	*action = 0;
	if (cur == NULL || license_id == NULL || license_id[0] == '\0')
		return klic_error_set(KLIC_ERR_INVALID_ARG, "slot decision");
	if (!cur->exists || !cur->valid) {
		*action = KLIC_SLOT_WRITE;
		return 0;
	}
	if (strcmp(cur->license_id, license_id) == 0) {
		*action = KLIC_SLOT_PRESENT;
		return 0;
	}
	(void)klic_time_format(t, cur->expires);
	if (cur->expires > expires)
		return klic_error_set(KLIC_ERR_OLDER,
				      "holds another valid license that expires later (%s)", t);
	return klic_error_set(KLIC_ERR_EXISTS, "holds another valid license (until %s)", t);
}
