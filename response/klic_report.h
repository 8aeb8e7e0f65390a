/* klic — the seat report of klic-admin (`klic-admin report`): per
 * entitlement the seats used, free and expiring soon, and the seats in use
 * per day, read from the ledger (read-only queries); plus its rendering as
 * one self-contained HTML page.  Library code: returns data, never prints.
 * The JSON form is documented in spec/CLI-JSON.md. */
#ifndef KLIC_REPORT_H
#define KLIC_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "klic_response.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_REPORT_MAX_DAYS 3660        /* longest daily series (about 10 years) */
#define KLIC_REPORT_MAX_HTML (32u << 20) /* cap of the rendered page */

struct klic_report_ent {
	struct klic_entitlement e; /* e.used: licenses not yet expired at `now` */
	unsigned free;             /* seats - used, at least 0 */
	unsigned expiring_7d;      /* of `used`: expires within 7 days of now (<= now + 7 d) */
	unsigned expiring_14d;     /* of `used`: within 14 days (includes expiring_7d) */
	unsigned expiring_30d;     /* of `used`: within 30 days (includes expiring_14d) */
	int valid;                 /* the entitlement has not ended (until_end > now) */
	unsigned issued_total;     /* every license ever issued from it */
	unsigned peak;             /* highest value of daily[] */
	unsigned *daily;           /* n_days values, see struct klic_report */
};

struct klic_report {
	int64_t now;
	char org[KLIC_MAX_TEXT_LEN + 1];
	char issuer_fpr[KLIC_FPR_HEX_LEN + 1];
	size_t n; /* entitlements, by id */
	struct klic_report_ent *ent;
	/* Daily series: day k (0 <= k < n_days) is the UTC day starting at
	 * first_day + k * 86400; daily[k] counts the licenses valid at some
	 * moment of that day (issued < day end and expires > day start).  The
	 * series runs from the day of the first issue to the later of the day
	 * of the last expiry and today; n_days is 0 when no license was ever
	 * issued.  truncated: the series was cut to its last
	 * KLIC_REPORT_MAX_DAYS days. */
	int64_t first_day;
	size_t n_days;
	int truncated;
};

/* Build the report at `now` from the ledger (org and issuer_fpr from its
 * meta table).  *out owned by the caller (klic_report_free). */
int klic_report_build(struct klic_report **out, struct klic_ledger *l, int64_t now);
void klic_report_free(struct klic_report *r);

/* One self-contained HTML page (inline CSS, one inline SVG chart of the
 * daily series per entitlement, no script, no external reference); every
 * string from the ledger is escaped.  *out owned by the caller (free()),
 * NUL-terminated, *outlen without the NUL. */
int klic_report_html(char **out, size_t *outlen, const struct klic_report *r);

/* One license as `klic-admin list` and the web console show it at `now`:
 * its times formatted, and its state ("renewed" or "returned" when it
 * ended early by now, else "active" while expires > now, else "expired"). */
struct klic_license_view {
	char issued[KLIC_TIME_LEN + 1], expires[KLIC_TIME_LEN + 1];
	const char *state;
};
int klic_license_view(struct klic_license_view *v, const struct klic_license_row *row, int64_t now);
/* Its object of `klic-admin list --json` (spec/CLI-JSON.md 4; issuer_fpr
 * null when the ledger did not record it): a new reference the caller
 * owns (json_decref); NULL when out of memory. */
struct json_t *klic_license_json(const struct klic_license_row *row,
				 const struct klic_license_view *v);

#ifdef __cplusplus
}
#endif
#endif
