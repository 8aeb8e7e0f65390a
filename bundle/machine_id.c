/* klic — machine ID derivation and display form (spec/PROTOCOL.md 2). */
#include <string.h>

#include "klic_bundle.h"
#include "klic_internal.h"

#define MID_SYMBOLS 24 /* 120 bits / 5 */
#define MID_GROUP 5

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const char app_id[] = "klic/machine-id/v1";

/* Value of a canonical (upper-case) symbol, or -1. */
static int sym_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(crockford, c);
	return p ? (int)(p - crockford) : -1;
}

/* Value of a typed symbol: case-insensitive, aliases O->0, I/L->1. */
static int typed_value(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c == 'O')
		c = '0';
	else if (c == 'I' || c == 'L')
		c = '1';
	return sym_value(c);
}

/* Luhn mod 32 over the 24 values (spec 2.2). */
static int luhn32(const int v[MID_SYMBOLS])
{
	unsigned sum = 0;
	int dbl = 1;

	for (int i = MID_SYMBOLS - 1; i >= 0; i--) {
		unsigned d = (unsigned)v[i];
		if (dbl) {
			d *= 2;
			d = d / 32 + d % 32;
		}
		sum += d;
		dbl = !dbl;
	}
	return (int)((32 - sum % 32) % 32);
}

/* 25 values (24 + check) to the grouped canonical form. */
static void format_values(char out[KLIC_MACHINE_ID_LEN + 1], const int v[MID_SYMBOLS + 1])
{
	size_t o = 0;

	for (int i = 0; i < MID_SYMBOLS + 1; i++) {
		if (i > 0 && i % MID_GROUP == 0)
			out[o++] = '-';
		out[o++] = crockford[v[i]];
	}
	out[o] = '\0';
}

int klic_machine_id_encode(char out[KLIC_MACHINE_ID_LEN + 1],
			   const uint8_t raw[KLIC_MACHINE_ID_RAW_LEN])
{
	int v[MID_SYMBOLS + 1];

	if (out == NULL || raw == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "machine ID: NULL argument");
	/* 120 bits, most significant first: 5 bits per symbol */
	for (int i = 0; i < MID_SYMBOLS; i++) {
		unsigned bit = (unsigned)i * 5, val = 0;
		for (unsigned b = 0; b < 5; b++) {
			unsigned pos = bit + b;
			val = (val << 1) | ((raw[pos / 8] >> (7 - pos % 8)) & 1u);
		}
		v[i] = (int)val;
	}
	v[MID_SYMBOLS] = luhn32(v);
	format_values(out, v);
	return 0;
}

int klic_machine_id_parse(char out[KLIC_MACHINE_ID_LEN + 1], const char *text)
{
	int v[MID_SYMBOLS + 1];
	size_t n = 0, i;

	if (out == NULL || text == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "machine ID: NULL argument");
	out[0] = '\0';
	for (i = 0; text[i] != '\0'; i++) {
		int val;
		if (i > KLIC_MACHINE_ID_LEN)
			return klic_error_set(KLIC_ERR_MACHINE_ID, "machine ID too long");
		if (text[i] == '-') {
			/* a dash is optional, and only allowed between groups */
			if (n == 0 || n % MID_GROUP != 0 || n >= MID_SYMBOLS + 1 || text[i + 1] == '-')
				return klic_error_set(KLIC_ERR_MACHINE_ID,
						      "misplaced '-' at position %zu", i + 1);
			continue;
		}
		if ((val = typed_value(text[i])) < 0)
			return klic_error_set(KLIC_ERR_MACHINE_ID,
					      "character %zu is not a machine ID symbol", i + 1);
		if (n >= MID_SYMBOLS + 1)
			return klic_error_set(KLIC_ERR_MACHINE_ID, "machine ID too long");
		v[n++] = val;
	}
	if (n != MID_SYMBOLS + 1)
		return klic_error_set(KLIC_ERR_MACHINE_ID, "machine ID has %zu symbols, expected 25",
				      n);
	if (luhn32(v) != v[MID_SYMBOLS])
		return klic_error_set(KLIC_ERR_MACHINE_ID,
				      "check symbol does not match (typing error?)");
	format_values(out, v);
	return 0;
}

int klic_machine_id_check(const char *s)
{
	int v[MID_SYMBOLS + 1];
	size_t n = 0;

	if (s == NULL || strnlen(s, KLIC_MACHINE_ID_LEN + 1) != KLIC_MACHINE_ID_LEN)
		return klic_error_set(KLIC_ERR_MACHINE_ID, "not a canonical machine ID");
	for (size_t i = 0; i < KLIC_MACHINE_ID_LEN; i++) {
		if ((i + 1) % (MID_GROUP + 1) == 0) {
			if (s[i] != '-')
				return klic_error_set(KLIC_ERR_MACHINE_ID, "not a canonical machine ID");
			continue;
		}
		if ((v[n] = sym_value(s[i])) < 0)
			return klic_error_set(KLIC_ERR_MACHINE_ID, "not a canonical machine ID");
		n++;
	}
	if (luhn32(v) != v[MID_SYMBOLS])
		return klic_error_set(KLIC_ERR_MACHINE_ID, "machine ID check symbol does not match");
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int klic_machine_id_derive(char out[KLIC_MACHINE_ID_LEN + 1], const char *text, size_t len)
{
	uint8_t key[16], h[32];
	int r;

	if (out == NULL || text == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "machine ID: NULL argument");
	/* exactly 32 lower-case hex digits, optionally followed by one "\n" */
	if (!(len == 32 || (len == 33 && text[32] == '\n')) || !klic_is_hex(text, 32))
		return klic_error_set(KLIC_ERR_NO_MACHINE_ID,
				      "machine-id is not 32 lower-case hex digits and a newline");
	for (size_t i = 0; i < 16; i++)
		key[i] = (uint8_t)(hexval(text[2 * i]) << 4 | hexval(text[2 * i + 1]));
	r = klic_hmac_sha256(h, key, sizeof(key), app_id, sizeof(app_id) - 1);
	if (r == 0)
		r = klic_machine_id_encode(out, h);
	klic_wipe(key, sizeof(key));
	klic_wipe(h, sizeof(h));
	return r;
}

int klic_product_check(const char *p)
{
	if (p == NULL || (strcmp(p, "KRE") != 0 && strcmp(p, "KSE") != 0))
		return klic_error_set(KLIC_ERR_FIELD, "product must be KRE or KSE");
	return 0;
}

size_t klic_machine_id_sources(const char *const **out)
{
	static const char *const sources[] = {"/etc/machine-id", "/var/lib/dbus/machine-id"};

	if (out != NULL)
		*out = sources;
	return sizeof(sources) / sizeof(sources[0]);
}
