# Turns IN (a text file) into OUT, a C file defining sched_openapi_json[] and its length.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}.tmp"
  "/* Generated from scheduler/openapi.json by scheduler/embed.cmake. */\n"
  "#include <stddef.h>\n"
  "extern const unsigned char sched_openapi_json[];\n"
  "extern const size_t sched_openapi_json_len;\n"
  "const unsigned char sched_openapi_json[] = {${bytes}0x00};\n"
  "const size_t sched_openapi_json_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
