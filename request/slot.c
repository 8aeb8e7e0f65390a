/* klic — which license file name a new license goes to (spec 5.4). Pure. */
#include <string.h>

#include "klic_request.h"

int klic_slot_choose(size_t *idx, enum klic_slot_action *action,
		     const struct klic_slot_info *slots, size_t n, const char *license_id,
		     int64_t expires)
{
	*idx = 0;
	*action = 0;
	if (slots == NULL || n == 0 || license_id == NULL || license_id[0] == '\0')
		return klic_error_set(KLIC_ERR_INVALID_ARG, "slot choice");
	/* 1. the same license is already there: nothing to do */
	for (size_t i = 0; i < n; i++) {
		if (!slots[i].taken && slots[i].exists &&
		    strcmp(slots[i].license_id, license_id) == 0) {
			*idx = i;
			*action = KLIC_SLOT_PRESENT;
			return 0;
		}
	}
	/* 2. the delivered name: free, or not a valid license for this machine */
	if (!slots[0].taken) {
		if (!slots[0].exists || !slots[0].valid) {
			*action = KLIC_SLOT_WRITE;
			return 0;
		}
		if (slots[0].expires > expires)
			return klic_error_set(KLIC_ERR_OLDER,
					      "a valid license that expires later is installed");
	}
	/* 3. the next name that is free or holds no valid license */
	for (size_t i = 1; i < n; i++) {
		if (!slots[i].taken && (!slots[i].exists || !slots[i].valid)) {
			*idx = i;
			*action = KLIC_SLOT_WRITE;
			return 0;
		}
	}
	return klic_error_set(KLIC_ERR_EXISTS, "no free license file name left");
}
