# cmake -DIN=web/style.css -DOUT=web_style.c -DVAR=klic_web_style_css -P web/embed.cmake
# Writes `const unsigned char VAR[]` (IN's exact bytes) and `const size_t
# VAR_len`: the console's assets are built into klic-admin (issue 17: the
# admin machine may be air-gapped; nothing is fetched from outside).
file(READ ${IN} data HEX)
string(LENGTH "${data}" n)
math(EXPR len "${n} / 2")
set(body "")
if(n GREATER 0)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${data}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
endif()
file(WRITE ${OUT}.tmp "/* generated from ${IN} by web/embed.cmake: do not edit */\n#include \"serve_assets.h\"\nconst unsigned char ${VAR}[] = {\n${body}0x00};\nconst size_t ${VAR}_len = ${len};\n")
file(RENAME ${OUT}.tmp ${OUT})
