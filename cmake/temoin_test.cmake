# temoin_test(name SOURCES a.cc ... DEPS targets...) -> a GoogleTest binary registered
# with CTest. Tests run from the build tree; TEMOIN_SOURCE_DIR lets them find data files.
function(temoin_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT T_SOURCES)
    set(T_SOURCES ${name}.cc)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gmock GTest::gtest_main
                        temoin::build_options)
  target_compile_definitions(${name} PRIVATE
    TEMOIN_SOURCE_DIR="${PROJECT_SOURCE_DIR}" TEMOIN_BINARY_DIR="${PROJECT_BINARY_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  # Vaults calibrate Argon2id to unlock in ~1.5 s; tests take the floor (t=3, 64 MiB),
  # which is still enforced, so that hundreds of commands fit in CI.
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "TEMOIN_VAULT_UNLOCK_MS=1")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
