/* klic response/ — eligibility (spec 5.3.1): a pure decision over the
 * product's entitlements and their used seats at `now`. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "klic_response.h"

int64_t klic_license_expiry(int64_t now, int64_t until_end)
{
	int64_t cap = now + (int64_t)KLIC_LICENSE_DAYS * 86400;
	return until_end < cap ? until_end : cap;
}

static void deny(struct klic_decision *d, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void deny(struct klic_decision *d, const char *code, const char *fmt, ...)
{
	va_list ap;
	int n;

	d->issue = 0;
	d->entitlement_id = 0;
	d->expires = 0;
	snprintf(d->reason_code, sizeof d->reason_code, "%s", code);
	va_start(ap, fmt);
	n = vsnprintf(d->reason, sizeof d->reason, fmt, ap);
	va_end(ap);
	if (n < 0)
		d->reason[0] = '\0';
	/* a reason longer than the field is cut: still a sentence for a person */
}

int klic_request_semantics(struct klic_decision *out, const struct klic_request *r)
{
	memset(out, 0, sizeof *out);
	if (strcmp(r->product, "KSE") == 0 && r->seats != 1) {
		deny(out, "malformed-request",
		     "a KSE request must ask for exactly 1 seat (it asked for %u)", r->seats);
		return 1;
	}
	if (r->seats < 1 || r->seats > KLIC_MAX_SEATS) {
		deny(out, "malformed-request",
		     "a request must ask for 1 to %d seats (it asked for %u)", KLIC_MAX_SEATS,
		     r->seats);
		return 1;
	}
	return 0;
}

int klic_eligibility_decide(struct klic_decision *out, const struct klic_entitlement *ents,
			    size_t n, const char *product, unsigned seats, int64_t now)
{
	size_t i, n_prod = 0, n_node = 0, n_yearly = 0, n_valid = 0, n_later = 0;
	const struct klic_entitlement *best = NULL;
	unsigned max_free = 0;
	char last_until[11] = "", first_from[KLIC_TIME_LEN + 1] = "";
	int64_t next_start = 0;

	if (out == NULL || product == NULL || (n > 0 && ents == NULL))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "eligibility");
	memset(out, 0, sizeof *out);
	for (i = 0; i < n; i++) {
		const struct klic_entitlement *e = &ents[i];
		unsigned free_seats;

		if (strcmp(e->product, product) != 0)
			continue;
		/* a license carries its vendor entitlement: a hand-typed row of
		 * a ledger made before protocol version 2 cannot back one */
		if (e->kent_id[0] == '\0')
			continue;
		/* a license is created within its entitlement's period: one not
		 * yet started is not there yet */
		if (e->valid_from > now) {
			if (n_later++ == 0 || e->valid_from < next_start)
				next_start = e->valid_from;
			continue;
		}
		n_prod++;
		if (strcmp(e->model, "node-locked") != 0)
			continue;
		n_node++;
		if (strcmp(e->billing, "yearly") != 0)
			continue;
		n_yearly++;
		if (strcmp(e->until, last_until) > 0)
			memcpy(last_until, e->until, sizeof last_until);
		if (e->until_end <= now)
			continue;
		n_valid++;
		free_seats = e->used >= e->seats ? 0 : e->seats - e->used;
		if (free_seats > max_free)
			max_free = free_seats;
		if (free_seats < seats)
			continue;
		/* prefer the one valid longest; ties: the older entitlement */
		if (best == NULL || e->until_end > best->until_end ||
		    (e->until_end == best->until_end && e->id < best->id))
			best = e;
	}
	if (n_prod == 0 && n_later > 0) {
		if (klic_time_format(first_from, next_start) != 0)
			first_from[0] = '\0';
		deny(out, "no-entitlement",
		     "the organization has no %s entitlement in force yet (the first starts %s)",
		     product, first_from);
	} else if (n_prod == 0) {
		deny(out, "no-entitlement", "the organization has no entitlement for %s", product);
	} else if (n_node == 0) {
		deny(out, "floating",
		     "the %s entitlements are floating; only node-locked licenses can be used "
		     "offline",
		     product);
	} else if (n_yearly == 0) {
		deny(out, "monthly",
		     "the node-locked %s entitlements are billed monthly; offline licenses need "
		     "yearly "
		     "billing",
		     product);
	} else if (n_valid == 0) {
		deny(out, "entitlement-expired",
		     "every node-locked yearly %s entitlement has ended (the last on %s)", product,
		     last_until);
	} else if (best == NULL) {
		deny(out, "no-seats",
		     "not enough free %s seats: %u asked, %u free; seats return when offline "
		     "licenses "
		     "expire",
		     product, seats, max_free);
	} else {
		out->issue = 1;
		out->entitlement_id = best->id;
		out->expires = klic_license_expiry(now, best->until_end);
	}
	return 0;
}

/* ---- renewal (spec 5.3.4) ------------------------------------------------------ */

int klic_renewal_decide(struct klic_decision *out, const struct klic_request *req,
			const struct klic_license_row *old, const int *found,
			unsigned window_days, const struct klic_entitlement *ents, size_t n,
			int64_t now)
{
	const struct klic_entitlement *ent = NULL;
	int64_t from = 0, window = (int64_t)window_days * 86400;
	char t[KLIC_TIME_LEN + 1];
	unsigned i;

	if (out == NULL || req == NULL || (req->n_renews > 0 && (old == NULL || found == NULL)) ||
	    (n > 0 && ents == NULL))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "renewal");
	memset(out, 0, sizeof *out);
	for (i = 0; i < req->n_renews; i++)
		if (!found[i]) {
			deny(out, "renewal-unknown",
			     "license %s is not one this organization issued", req->renews[i]);
			return 0;
		}
	for (i = 0; i < req->n_renews; i++)
		if (strcmp(old[i].machine_id, req->machine_id) != 0 ||
		    strcmp(old[i].member_fpr, req->requester_fpr) != 0 ||
		    strcmp(old[i].product, req->product) != 0) {
			deny(out, "renewal-not-yours",
			     "license %s was issued to another %s", req->renews[i],
			     strcmp(old[i].machine_id, req->machine_id) != 0   ? "machine"
			     : strcmp(old[i].member_fpr, req->requester_fpr) != 0 ? "member"
										   : "product");
			return 0;
		}
	for (i = 0; i < req->n_renews; i++) {
		if (old[i].ended != 0 && old[i].ended <= now) {
			if (strcmp(old[i].end_reason, "renewed") == 0)
				deny(out, "renewal-inactive",
				     "license %s was already renewed: renew the license that "
				     "replaced it",
				     req->renews[i]);
			else
				deny(out, "renewal-inactive",
				     "license %s was %s: its seat is back in the pool; send a "
				     "normal request",
				     req->renews[i], old[i].end_reason);
			return 0;
		}
		if (old[i].expires <= now) {
			(void)klic_time_format(t, old[i].expires);
			deny(out, "renewal-inactive",
			     "license %s expired %s: its seat is back in the pool; send a normal "
			     "request",
			     req->renews[i], t);
			return 0;
		}
	}
	for (i = 0; i < req->n_renews; i++)
		if (old[i].expires - window > from)
			from = old[i].expires - window;
	if (now < from) {
		if (klic_time_format(t, from) != 0)
			snprintf(t, sizeof t, "?");
		deny(out, "renewal-too-early",
		     "renewal possible from %.10s (at %.8s UTC), %u days before the license "
		     "expires",
		     t, t[0] == '?' ? "?" : t + 11, window_days);
		return 0;
	}
	for (i = 1; i < req->n_renews; i++)
		if (old[i].entitlement_id != old[0].entitlement_id) {
			deny(out, "malformed-request",
			     "the licenses renewed draw on different entitlements; renew them in "
			     "separate requests");
			return 0;
		}
	for (size_t k = 0; k < n && req->n_renews > 0; k++)
		if (ents[k].id == old[0].entitlement_id)
			ent = &ents[k];
	if (ent == NULL || ent->kent_id[0] == '\0' || ent->until_end <= now) {
		deny(out, "entitlement-expired",
		     "the %s entitlement of these licenses has ended%s%s", req->product,
		     ent != NULL && ent->until[0] != '\0' ? " on " : "",
		     ent != NULL ? ent->until : "");
		return 0;
	}
	if (req->n_renews == 0 || req->seats != req->n_renews) {
		deny(out, "malformed-request", "a renewal names each license it renews");
		return 0;
	}
	out->issue = 1;
	out->entitlement_id = ent->id;
	out->expires = klic_license_expiry(now, ent->until_end);
	return 0;
}
