/* klic response/ — the web console's assets, from response/web/, embedded
 * at build time by web/embed.cmake (each NUL-terminated; _len without it). */
#ifndef KLIC_SERVE_ASSETS_H
#define KLIC_SERVE_ASSETS_H

#include <stddef.h>

extern const unsigned char klic_web_style_css[];
extern const size_t klic_web_style_css_len;
extern const unsigned char klic_web_app_js[];
extern const size_t klic_web_app_js_len;

#endif
