/* klic response/ — the one report line of an answered request
 * (klic_response.h): `klic-admin issue` prints it, the web console shows it. */
#include <stdio.h>
#include <string.h>

#include "klic_response.h"

int klic_issue_result_line(char *buf, size_t bufsz, const struct klic_issue_result *r,
			   const char *path, const char *out)
{
	const char *what = r->renewal ? "renewed" : "issued";
	const char *unit = r->renewal ? "license(s)" : "seat(s)";
	const char *prep = r->renewal ? "of" : "to";

	switch (r->outcome) {
	case KLIC_OUTCOME_ISSUED:
		snprintf(buf, bufsz, "OK   %s -> %s: %s %u %s %s %s %s machine %s%s", path, out,
			 what, r->seats, r->product, unit, prep, r->member_fpr, r->machine_id,
			 r->renewal ? " (no new seat)" : "");
		return 0;
	case KLIC_OUTCOME_DENIED:
		snprintf(buf, bufsz, "DENY %s -> %s: %s: %s", path, out, r->reason_code, r->reason);
		return 0;
	case KLIC_OUTCOME_REISSUED:
		if (strcmp(r->status, KLIC_STATUS_ISSUED) == 0)
			snprintf(buf, bufsz,
				 "OK   %s -> %s: re-issued %s%u %s %s %s %s machine %s (%s, nothing "
				 "spent)",
				 path, out, r->renewal ? "renewal of " : "", r->seats, r->product,
				 unit, prep, r->member_fpr, r->machine_id,
				 r->rebuilt ? "rebuilt from the ledger" : "stored response");
		else
			snprintf(buf, bufsz, "DENY %s -> %s: re-issued denial %s: %s", path, out,
				 r->reason_code, r->reason);
		return 0;
	default:
		if (bufsz > 0)
			buf[0] = '\0';
		return -1;
	}
}
