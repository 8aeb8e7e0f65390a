# The runtime library libklic (public header request/klic.h, libklic(3)):
# included from the top-level CMakeLists.txt after request/, so it can use
# the klic_request, klic_bundle and klic_keys targets.
#
#   libklic.so.1   shared, SONAME libklic.so.1, exports only what klic.h
#                  declares (hidden visibility + version script libklic.map)
#   libklic.a      static: one relocatable object (ld -r) of the runtime and
#                  the libraries it uses, with every hidden symbol made local
#                  (objcopy --localize-hidden), so it exports the same API
#   klic.pc        pkg-config, generated at install time for the real prefix
set(KLIC_RUNTIME_SOVERSION 1)
set(_rt_dir ${CMAKE_CURRENT_LIST_DIR})
set(_rt_bin ${PROJECT_BINARY_DIR}/runtime)
file(MAKE_DIRECTORY ${_rt_bin})

# The header's version macros must match the project's version.
file(STRINGS ${_rt_dir}/klic.h _rt_ver REGEX "^#define KLIC_VERSION_STRING ")
if(NOT _rt_ver MATCHES "\"${PROJECT_VERSION}\"")
  message(FATAL_ERROR "request/klic.h: KLIC_VERSION_STRING (${_rt_ver}) is not ${PROJECT_VERSION}")
endif()

add_library(klic_runtime_obj OBJECT ${_rt_dir}/runtime.c)
klic_target_defaults(klic_runtime_obj)
target_compile_definitions(klic_runtime_obj PRIVATE KLIC_RT_VERSION="${PROJECT_VERSION}")
target_link_libraries(klic_runtime_obj PRIVATE klic_request)

add_library(klic_runtime SHARED $<TARGET_OBJECTS:klic_runtime_obj>)
set_target_properties(klic_runtime PROPERTIES
  OUTPUT_NAME klic
  VERSION ${KLIC_RUNTIME_SOVERSION}.${PROJECT_VERSION_MINOR}.${PROJECT_VERSION_PATCH}
  SOVERSION ${KLIC_RUNTIME_SOVERSION}
  LIBRARY_OUTPUT_DIRECTORY ${_rt_bin}
  LINK_DEPENDS ${_rt_dir}/libklic.map)
target_link_libraries(klic_runtime PRIVATE klic_request)
target_link_options(klic_runtime PRIVATE
  -Wl,--version-script=${_rt_dir}/libklic.map -Wl,--no-undefined -Wl,-z,relro -Wl,-z,now)
# Build-tree users (tests/runtime) include only klic.h from here.
target_include_directories(klic_runtime INTERFACE $<BUILD_INTERFACE:${_rt_dir}>)

set(_rt_a ${_rt_bin}/libklic.a)
set(_rt_o ${_rt_bin}/libklic_all.o)
set(_rt_objs $<TARGET_OBJECTS:klic_runtime_obj> $<TARGET_OBJECTS:klic_request>
             $<TARGET_OBJECTS:klic_keys> $<TARGET_OBJECTS:klic_bundle>
             $<TARGET_OBJECTS:klic_format>)
add_custom_command(
  OUTPUT ${_rt_a}
  COMMAND ${CMAKE_COMMAND} -E rm -f ${_rt_a} ${_rt_o}
  COMMAND ${CMAKE_LINKER} -r -o ${_rt_o} ${_rt_objs}
  COMMAND ${CMAKE_OBJCOPY} --localize-hidden ${_rt_o}
  COMMAND ${CMAKE_AR} rcs ${_rt_a} ${_rt_o}
  DEPENDS ${_rt_objs} klic_runtime_obj klic_request klic_keys klic_bundle klic_format
  COMMENT "Linking static library libklic.a"
  COMMAND_EXPAND_LISTS VERBATIM)
add_custom_target(klic_runtime_static ALL DEPENDS ${_rt_a})

install(TARGETS klic_runtime LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${_rt_a} DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${_rt_dir}/klic.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${_rt_dir}/libklic.3 ${_rt_dir}/klic_license_verify.3
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)

# klic.pc: the directories are fixed now, the prefix when installing
# (cmake --install --prefix P must give a klic.pc that names P).
set(KLIC_PC_PREFIX "@KLIC_PC_PREFIX@")
foreach(_d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_d}}")
    set(KLIC_PC_${_d} "${CMAKE_INSTALL_${_d}}")
  else()
    set(KLIC_PC_${_d} "\${prefix}/${CMAKE_INSTALL_${_d}}")
  endif()
endforeach()
set(KLIC_PC_REQUIRES_PRIVATE "gpgme libarchive zlib jansson libgcrypt libqrencode libpng")
configure_file(${_rt_dir}/klic.pc.in ${_rt_bin}/klic.pc.stage @ONLY)
install(CODE "
  file(READ \"${_rt_bin}/klic.pc.stage\" _pc)
  string(REPLACE \"@KLIC_PC_PREFIX@\" \"\${CMAKE_INSTALL_PREFIX}\" _pc \"\${_pc}\")
  file(WRITE \"${_rt_bin}/klic.pc\" \"\${_pc}\")")
install(FILES ${_rt_bin}/klic.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
