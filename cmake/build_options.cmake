# Warnings and the language standard for our own code only: linked PRIVATE, never
# through CMAKE_CXX_FLAGS, so generated and third-party code keeps its own flags.
add_library(temoin_build_options INTERFACE)
add_library(temoin::build_options ALIAS temoin_build_options)
target_compile_features(temoin_build_options INTERFACE cxx_std_20)
target_compile_options(temoin_build_options INTERFACE
  -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
  # GCC 12 reports false positives inside libstdc++'s string code (GCC PR 105329);
  # clang (the fuzzing build) has no such warning.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
