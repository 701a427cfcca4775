# KPG_FUZZ: the libFuzzer build (a separate build directory, see ci/fuzz.sh). Every target is
# compiled with ASan, UBSan and libFuzzer's coverage instrumentation, so that a bug in the
# code under test (lib/elf, lib/support) is caught where it happens, not only in the fuzz
# target. Only the fuzz targets link the libFuzzer runtime (-fsanitize=fuzzer, in fuzz/).
# Prebuilt dependencies such as libelf are not instrumented.
if(NOT KPG_FUZZ)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "KPG_FUZZ needs clang: configure with -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16")
endif()
add_compile_options(-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-sanitize-recover=all
  -fno-omit-frame-pointer
  # Keep assert() and libstdc++'s bounds checks on: they are exactly what the fuzzer should trip.
  -UNDEBUG -D_GLIBCXX_ASSERTIONS)
add_link_options(-fsanitize=address,undefined)
