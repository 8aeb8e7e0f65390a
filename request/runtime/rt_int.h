/* klic — internals shared by the files of libklic (runtime.c, session.c);
 * not installed.  Include after klic_check.h and klic.h. */
#ifndef KLIC_RT_INT_H
#define KLIC_RT_INT_H

/* Fill the public info from a chain result whose chain verified. */
void klic_rt_info_fill(struct klic_license_info *out, const struct klic_chain_result *res);
/* The current error detail, printable, into dst. */
void klic_rt_detail(char *dst, size_t dstsz);
/* The klic home: klic_home, else $KLIC_HOME (not in set-ID processes),
 * else ~/.katalon. */
int klic_rt_home(char home[KLIC_PATH_MAX], const char *klic_home);
/* A check context over the product's embedded vendor keys. */
int klic_rt_chain_new(struct klic_chain **c, const char *const *vendor_keys, size_t n);
/* Best effort trusted time of home (NULL: none): *unknown 1 when there is
 * no readable record; *r gets KLIC_ERR_CLOCK for a malformed one. */
void klic_rt_clock(int64_t *trusted, int *unknown, int *r, const char *home);

#endif
