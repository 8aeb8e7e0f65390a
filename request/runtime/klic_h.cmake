# Generate the public header klic.h from klic.h.in: its error list is the
# rows of the one error list (bundle/klic_errors.def), never a copy kept by
# hand.  Run at build time:
#   cmake -DIN=klic.h.in -DDEF=klic_errors.def -DOUT=klic.h -P klic_h.cmake
file(STRINGS ${DEF} _rows REGEX "^KLIC_ERROR\\(")
set(_enum "")
foreach(_row IN LISTS _rows)
  if(NOT _row MATCHES "^KLIC_ERROR\\(([A-Z_]+), *(-?[0-9]+),")
    message(FATAL_ERROR "${DEF}: cannot read the row: ${_row}")
  endif()
  string(APPEND _enum "\t${CMAKE_MATCH_1} = ${CMAKE_MATCH_2},\n")
endforeach()
if(_enum STREQUAL "")
  message(FATAL_ERROR "${DEF}: no KLIC_ERROR rows")
endif()
file(READ ${IN} _h)
string(REPLACE "@KLIC_ERROR_ENUM@" "${_enum}" _h "${_h}")
# write only on change, so users of klic.h do not rebuild needlessly
if(EXISTS ${OUT})
  file(READ ${OUT} _old)
  if(_old STREQUAL _h)
    return()
  endif()
endif()
file(WRITE ${OUT} "${_h}")
