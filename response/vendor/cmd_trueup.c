/* klic-vendor usage verify — output of the true-up; the checks are
 * klic_vendor_usage_verify() (usage_verify.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_usage.h"
#include "vendor_cli.h"

const char vendor_usage_help[] =
    "The true-up of an organization's usage export (from 'klic-admin usage export').\n"
    "Refused unless it is signed by its issuer key and that key is named by an\n"
    "entitlement this vendor signed and recorded.  Then: the audit chain is\n"
    "recomputed, every license must have the 'issued' audit row of its request\n"
    "(and every such row as many licenses as it issued), a license that ended\n"
    "early (renewed) its 'renewed' row naming its successor, and per entitlement\n"
    "the peak number of licenses active at one time (each until it expired or\n"
    "ended) is compared with its seats:\n"
    "  ENTITLEMENT_ID PRODUCT peak P of S seats: ok|OVER-ISSUED\n"
    "then one 'FLAGGED: ...' line per finding and a verdict line.  Exit 0 when\n"
    "everything is ok, 1 when anything is flagged or the file is refused.\n";

int vendor_usage_verify(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct vendor_global *g = ctx;
	struct klic_vendor_usage_report rep;
	char org[KLIC_MAX_TEXT_LEN + 1], created[KLIC_TIME_LEN + 1];
	struct klic_vendor *v = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *file;
	int r;

	memset(&rep, 0, sizeof rep);
	if ((r = vendor_noargs(c, argc, argv, 1, "expects one FILE.kusage")) != 0)
		return r - 1000;
	file = argv[optind];
	if ((r = klic_cli_not_folder(&vendor_cli, "usage verify", file, "FILE.kusage")) != 0)
		return r;
	if ((r = vendor_open(&v, g)) != 0)
		return r;
	if ((r = klic_read_file(&buf, &len, file, KLIC_MAX_KUSAGE_BYTES)) != 0 ||
	    (r = klic_vendor_usage_verify(v, &rep, buf, len)) != 0) {
		r = klic_cli_fail(&vendor_cli, file, r);
		goto out;
	}
	if (klic_time_format(created, rep.created) != 0)
		snprintf(created, sizeof created, "%s", "(bad time)");
	printf("usage export of \"%s\" signed by issuer %s, created %s: %zu licenses, %zu audit "
	       "rows\n",
	       klic_printable_copy(org, sizeof org, rep.org, SIZE_MAX), rep.issuer_fpr, created,
	       rep.n_lics, rep.n_audit);
	printf("audit chain: %s\n", rep.chain_ok ? "ok" : "BROKEN");
	for (size_t i = 0; i < rep.n_ents; i++)
		printf("%s %s peak %u of %u seats: %s\n", rep.ents[i].entitlement_id,
		       rep.ents[i].product[0] != '\0' ? rep.ents[i].product : "-", rep.ents[i].peak,
		       rep.ents[i].seats,
		       rep.ents[i].peak > rep.ents[i].seats ? "OVER-ISSUED" : "ok");
	for (size_t i = 0; i < rep.n_findings; i++)
		printf("FLAGGED: %s\n", rep.findings[i]);
	if (rep.n_findings == 0) {
		printf("verdict: ok\n");
		r = KLIC_EXIT_OK;
	} else {
		printf("verdict: FLAGGED (%zu finding%s)\n", rep.n_findings,
		       rep.n_findings == 1 ? "" : "s");
		r = KLIC_EXIT_REFUSED;
	}
out:
	klic_vendor_usage_report_dispose(&rep);
	free(buf);
	klic_vendor_free(v);
	return r;
}
