# Writes the bytes of file IN as a C++ array NAME (with NAME##Size) into OUT: cmake -P.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n  " bytes "${bytes}")
file(WRITE ${OUT} "// Generated from ${IN} by cmake/embed_bytes.cmake.\n#include <cstddef>\n\n"
  "extern const unsigned char ${NAME}[];\nextern const std::size_t ${NAME}Size;\n"
  "const unsigned char ${NAME}[] = {\n  ${bytes}\n};\nconst std::size_t ${NAME}Size = ${size};\n")
