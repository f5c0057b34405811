# TEMOIN_FUZZ=ON: the libFuzzer build (tests/fuzz/build.sh makes it in build-fuzz/ with
# clang-14). Our own code (everything that links temoin::build_options) is compiled
# with libFuzzer's coverage, AddressSanitizer and UndefinedBehaviorSanitizer, so that a
# finding anywhere below a parser is seen, and any undefined behaviour aborts. The
# generated protobuf code is not instrumented: it is protobuf's own, fuzzed upstream,
# and instrumenting it tripled the build (about 100 s per .pb.cc on two busy cores).
# Only the fuzz targets link libFuzzer's main (tests/fuzz/CMakeLists.txt).
option(TEMOIN_FUZZ "build the libFuzzer targets of tests/fuzz (clang only)" OFF)
if(TEMOIN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TEMOIN_FUZZ needs clang (CXX=clang++-14); this is ${CMAKE_CXX_COMPILER_ID}")
  endif()
  target_compile_options(temoin_build_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
