# cmake -DIN=ledger.sql -DOUT=ledger_sql.c -DVAR=klic_ledger_sql -P embed_sql.cmake
# Writes `const char VAR[]` holding IN's exact bytes.
file(READ ${IN} sql HEX)
string(LENGTH "${sql}" n)
set(body "")
if(n GREATER 0)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${sql}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
endif()
file(WRITE ${OUT}.tmp "/* generated from ${IN} by embed_sql.cmake: do not edit */\n#include \"response_int.h\"\nconst char ${VAR}[] = {\n${body}0x00};\n")
file(RENAME ${OUT}.tmp ${OUT})
