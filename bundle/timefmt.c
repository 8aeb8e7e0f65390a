/* klic — the clock and RFC 3339 UTC times / calendar dates (klic_util.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "klic_error.h"
#include "klic_util.h"

int64_t klic_now(void)
{
	return (int64_t)time(NULL);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Parse exactly n decimal digits. */
static int digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

#define KLIC_YEAR_MIN 2000
#define KLIC_YEAR_MAX 9999

static int parse_date_part(int64_t *days, const char *s)
{
	unsigned y, m, d;

	if (digits(s, 4, &y) != 0 || s[4] != '-' || digits(s + 5, 2, &m) != 0 || s[7] != '-' ||
	    digits(s + 8, 2, &d) != 0)
		return -1;
	if (y < KLIC_YEAR_MIN || y > KLIC_YEAR_MAX || m < 1 || m > 12 || d < 1 ||
	    d > days_in_month(y, m))
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

int klic_time_parse(int64_t *out, const char *s)
{
	int64_t days;
	unsigned hh, mm, ss;

	if (out == NULL || s == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "time: NULL argument");
	if (strnlen(s, KLIC_TIME_LEN + 1) != KLIC_TIME_LEN || parse_date_part(&days, s) != 0 ||
	    s[10] != 'T' || digits(s + 11, 2, &hh) != 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mm) != 0 || s[16] != ':' || digits(s + 17, 2, &ss) != 0 ||
	    s[19] != 'Z' || hh > 23 || mm > 59 || ss > 59)
		return klic_error_set(KLIC_ERR_FIELD,
				      "not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
	*out = days * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 + ss;
	return 0;
}

int klic_date_parse(int64_t *out, const char *s)
{
	int64_t days;

	if (out == NULL || s == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "date: NULL argument");
	if (strnlen(s, 11) != 10 || parse_date_part(&days, s) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "not a calendar date (YYYY-MM-DD): %.40s", s);
	*out = days * 86400;
	return 0;
}

int klic_time_format(char out[KLIC_TIME_LEN + 1], int64_t t)
{
	/* 2000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
	const int64_t lo = days_from_civil(KLIC_YEAR_MIN, 1, 1) * 86400;
	const int64_t hi = days_from_civil(KLIC_YEAR_MAX + 1, 1, 1) * 86400;
	int64_t y, days, secs;
	unsigned m, d;
	int n;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "time: NULL argument");
	if (t < lo || t >= hi)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "time %lld outside years 2000..9999",
				      (long long)t);
	days = t / 86400;
	secs = t % 86400;
	civil_from_days(days, &y, &m, &d);
	n = snprintf(out, KLIC_TIME_LEN + 1, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
		     (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
	if (n != KLIC_TIME_LEN)
		return klic_error_set(KLIC_ERR_INTERNAL, "time format");
	return 0;
}
