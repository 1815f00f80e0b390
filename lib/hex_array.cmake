# hex_array(FILE NAME OUT): sets OUT to a C++ definition of FILE's bytes,
#   constexpr unsigned char NAME[size] = {0x..,0x..,...};
# on one line (CMake's regular expressions have no {n} to break it every so many bytes). The
# build's embedders (lib/api/embed_openapi.cmake, ui/embed.cmake) compile files into taskd with
# it: a byte array needs no escaping and no raw-string delimiter that the content could clash with.
function(hex_array file name out)
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" length)
  math(EXPR bytes "${length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  set(${out} "constexpr unsigned char ${name}[${bytes}] = {\n${hex}\n};\n" PARENT_SCOPE)
endfunction()
