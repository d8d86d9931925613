# tern_bpf_object(TARGET SOURCE NAME DEFINE [DEPENDS file...]): compiles the eBPF program SOURCE
# with clang for the BPF target, builds it into TARGET as the byte array NAME (embed_bytes.cmake),
# links libbpf and defines DEFINE=1; without clang or libbpf-dev, DEFINE=0 and a warning.
function(tern_bpf_object target source name define)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  find_program(TERN_BPF_CLANG NAMES clang clang-14)
  find_package(PkgConfig)
  if(PkgConfig_FOUND)
    pkg_check_modules(LIBBPF IMPORTED_TARGET libbpf)
  endif()
  if(NOT (TERN_BPF_CLANG AND LIBBPF_FOUND))
    message(WARNING "tern: clang or libbpf-dev missing: ${target} built without ${source}")
    target_compile_definitions(${target} PRIVATE ${define}=0)
    return()
  endif()
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-multiarch OUTPUT_VARIABLE multiarch
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  get_filename_component(base ${source} NAME_WE)
  set(object ${CMAKE_CURRENT_BINARY_DIR}/${base}.bpf.o)
  set(embedded ${CMAKE_CURRENT_BINARY_DIR}/${base}_bpf_object.cpp)
  add_custom_command(OUTPUT ${object}
    COMMAND ${TERN_BPF_CLANG} -O2 -g -Wall -Werror -target bpf -I/usr/include/${multiarch}
            -c ${source} -o ${object}
    DEPENDS ${source} ${ARG_DEPENDS} COMMENT "eBPF: ${base}.bpf.o")
  add_custom_command(OUTPUT ${embedded}
    COMMAND ${CMAKE_COMMAND} -DIN=${object} -DOUT=${embedded} -DNAME=${name}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_bytes.cmake
    DEPENDS ${object} ${PROJECT_SOURCE_DIR}/cmake/embed_bytes.cmake)
  target_sources(${target} PRIVATE ${embedded})
  target_compile_definitions(${target} PRIVATE ${define}=1)
  target_link_libraries(${target} PRIVATE PkgConfig::LIBBPF)
endfunction()
