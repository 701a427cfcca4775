# All dependencies come from Debian 12 packages (see ci/install-deps.sh).
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBELF REQUIRED IMPORTED_TARGET libelf)

# libdwarf 20210528 (Debian 12) ships no pkg-config file or CMake package.
find_path(LIBDWARF_INCLUDE_DIR libdwarf.h PATH_SUFFIXES libdwarf REQUIRED)
find_library(LIBDWARF_LIBRARY dwarf REQUIRED)
add_library(kpg_libdwarf INTERFACE)
target_include_directories(kpg_libdwarf SYSTEM INTERFACE ${LIBDWARF_INCLUDE_DIR})
target_link_libraries(kpg_libdwarf INTERFACE ${LIBDWARF_LIBRARY} PkgConfig::LIBELF)

find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(OpenSSL REQUIRED)   # libcrypto: SHA-256 of produced modules; lib/tuf Ed25519
find_package(CURL REQUIRED)      # lib/tuf curl_fetcher: the agent fetches TUF repositories
find_package(ZLIB REQUIRED)      # lib/elf: inflating SHF_COMPRESSED (gcc -gz) sections

# LLVM 16 MC for x86-64 disassembly. Prefer llvm-16 even when another LLVM is installed.
find_package(LLVM 16 REQUIRED CONFIG HINTS /usr/lib/llvm-16/lib/cmake/llvm)
message(STATUS "LLVM ${LLVM_PACKAGE_VERSION} from ${LLVM_DIR}")
add_library(kpg_llvm_mc INTERFACE)
target_include_directories(kpg_llvm_mc SYSTEM INTERFACE ${LLVM_INCLUDE_DIRS})
target_compile_definitions(kpg_llvm_mc INTERFACE ${LLVM_DEFINITIONS})
# Static by default: the six MC components are ~6 MB of code, while libLLVM-16.so is 100 MB
# whose dynamic relocations alone cost ~50 MB of RSS and ~10 ms at every start of
# kpatch-gen (measured with bench/diff; see docs/design.md, "Start-up cost").
# --as-needed drops what the static archives only name (libz3 from LLVMSupport's interface).
option(KPG_LLVM_STATIC "Link LLVM's MC components statically instead of libLLVM-16.so" ON)
if(KPG_LLVM_STATIC AND EXISTS "${LLVM_LIBRARY_DIR}/libLLVMX86Disassembler.a")
  llvm_map_components_to_libnames(KPG_LLVM_LIBS mc mcdisassembler x86disassembler x86desc x86info support)
  target_link_libraries(kpg_llvm_mc INTERFACE ${KPG_LLVM_LIBS})
  target_link_options(kpg_llvm_mc INTERFACE "LINKER:--as-needed")
  message(STATUS "LLVM MC linked statically (${KPG_LLVM_LIBS})")
elseif(LLVM_LINK_LLVM_DYLIB OR TARGET LLVM)
  target_link_libraries(kpg_llvm_mc INTERFACE LLVM)
else()
  llvm_map_components_to_libnames(KPG_LLVM_LIBS mc mcdisassembler x86disassembler x86desc x86info support)
  target_link_libraries(kpg_llvm_mc INTERFACE ${KPG_LLVM_LIBS})
endif()

if(KPG_TESTS)
  find_package(GTest REQUIRED)
endif()
