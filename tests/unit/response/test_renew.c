/* Unit tests for response/: the renewal decision (spec 5.3.4), its checks
 * in order and what a grant gets (klic_renewal_decide, eligibility.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "klic_response.h"

#define DAY 86400
#define NOW ((int64_t)1900000000)
#define FPR_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FPR_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define LID_1 "11111111111111111111111111111111"
#define LID_2 "22222222222222222222222222222222"

static struct klic_entitlement ent(int64_t id, const char *product, const char *model,
				   const char *billing, unsigned seats, int64_t until_end,
				   unsigned used)
{
	struct klic_entitlement e;
	memset(&e, 0, sizeof e);
	e.id = id;
	snprintf(e.product, sizeof e.product, "%s", product);
	snprintf(e.model, sizeof e.model, "%s", model);
	snprintf(e.billing, sizeof e.billing, "%s", billing);
	e.seats = seats;
	e.until_end = until_end;
	snprintf(e.until, sizeof e.until, "2031-01-01");
	snprintf(e.kent_id, sizeof e.kent_id, "%032llx", (unsigned long long)id);
	e.used = used;
	return e;
}

static struct klic_license_row old_row(const char *id, int64_t expires)
{
	struct klic_license_row r;
	memset(&r, 0, sizeof r);
	snprintf(r.license_id, sizeof r.license_id, "%s", id);
	snprintf(r.product, sizeof r.product, "KRE");
	snprintf(r.machine_id, sizeof r.machine_id, "M");
	snprintf(r.member_fpr, sizeof r.member_fpr, FPR_A);
	r.issued = expires - 60 * DAY;
	r.expires = expires;
	r.entitlement_id = 4;
	return r;
}

static void expect_renewal(const struct klic_request *q, const struct klic_license_row *old,
			   const int *found, const struct klic_entitlement *e, const char *code,
			   const char *text)
{
	struct klic_decision d;
	assert_int_equal(klic_renewal_decide(&d, q, old, found, 14, e, 1, NOW), 0);
	if (code == NULL) {
		assert_int_equal(d.issue, 1);
		return;
	}
	assert_int_equal(d.issue, 0);
	assert_string_equal(d.reason_code, code);
	if (strstr(d.reason, text) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", d.reason, text);
}

/* spec 5.3.4: the renewal checks, in order, and what a grant gets. */
static void test_renewal_decide(void **state)
{
	struct klic_entitlement e = ent(4, "KRE", "node-locked", "yearly", 1, NOW + 400 * DAY, 1);
	struct klic_license_row old[2];
	struct klic_request q;
	struct klic_decision d;
	int found[2] = {1, 1};
	(void)state;

	memset(&q, 0, sizeof q);
	snprintf(q.product, sizeof q.product, "KRE");
	snprintf(q.machine_id, sizeof q.machine_id, "M");
	snprintf(q.requester_fpr, sizeof q.requester_fpr, FPR_A);
	q.seats = q.n_renews = 2;
	snprintf(q.renews[0], 33, LID_1);
	snprintf(q.renews[1], 33, LID_2);
	old[0] = old_row(LID_1, NOW + 10 * DAY);
	old[1] = old_row(LID_2, NOW + 13 * DAY);
	/* granted: no free seat is needed (used == seats), expiry 60 days */
	assert_int_equal(klic_renewal_decide(&d, &q, old, found, 14, &e, 1, NOW), 0);
	assert_int_equal(d.issue, 1);
	assert_int_equal(d.entitlement_id, 4);
	assert_int_equal(d.expires, NOW + 60 * DAY);
	/* capped at the entitlement's end */
	e.until_end = NOW + 30 * DAY;
	assert_int_equal(klic_renewal_decide(&d, &q, old, found, 14, &e, 1, NOW), 0);
	assert_int_equal(d.expires, NOW + 30 * DAY);
	e.until_end = NOW + 400 * DAY;
	/* too early: the date from which both can be renewed */
	old[1].expires = NOW + 20 * DAY;
	expect_renewal(&q, old, found, &e, "renewal-too-early", "renewal possible from 2030-03-23");
	/* inactive beats too early: renewed, returned, expired */
	old[0].ended = NOW - 1;
	snprintf(old[0].end_reason, sizeof old[0].end_reason, "renewed");
	expect_renewal(&q, old, found, &e, "renewal-inactive", "already renewed");
	snprintf(old[0].end_reason, sizeof old[0].end_reason, "returned");
	expect_renewal(&q, old, found, &e, "renewal-inactive", "returned");
	old[0].ended = 0;
	old[0].expires = NOW;
	expect_renewal(&q, old, found, &e, "renewal-inactive", "expired");
	/* not yours beats inactive: machine, member, product */
	snprintf(old[1].machine_id, sizeof old[1].machine_id, "N");
	expect_renewal(&q, old, found, &e, "renewal-not-yours", "another machine");
	snprintf(old[1].machine_id, sizeof old[1].machine_id, "M");
	snprintf(old[1].member_fpr, sizeof old[1].member_fpr, FPR_B);
	expect_renewal(&q, old, found, &e, "renewal-not-yours", "another member");
	snprintf(old[1].member_fpr, sizeof old[1].member_fpr, FPR_A);
	snprintf(old[1].product, sizeof old[1].product, "KSE");
	expect_renewal(&q, old, found, &e, "renewal-not-yours", "another product");
	/* unknown beats everything */
	found[1] = 0;
	expect_renewal(&q, old, found, &e, "renewal-unknown", LID_2);
	/* the entitlement: ended, or two of them */
	found[1] = 1;
	old[0] = old_row(LID_1, NOW + 10 * DAY);
	old[1] = old_row(LID_2, NOW + 10 * DAY);
	e.until_end = NOW;
	expect_renewal(&q, old, found, &e, "entitlement-expired", "has ended");
	e.until_end = NOW + 400 * DAY;
	old[1].entitlement_id = 5;
	expect_renewal(&q, old, found, &e, "malformed-request", "different entitlements");
	old[1].entitlement_id = 4;
	expect_renewal(&q, old, found, &e, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_renewal_decide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
