# The default vocabulary: data/vocabulary.json is embedded in the library at build time,
# so a server or client never starts without one and never reads it from a mutable path.
cmake_path(SET TEMOIN_VOCABULARY_JSON_PATH NORMALIZE
           ${CMAKE_CURRENT_LIST_DIR}/../data/vocabulary.json)
file(READ ${TEMOIN_VOCABULARY_JSON_PATH} TEMOIN_VOCABULARY_JSON)
# The raw string's closing sequence must not occur in the data, or the literal would end
# early; fail at configure time rather than produce a confusing compile error.
string(FIND "${TEMOIN_VOCABULARY_JSON}" ")temoin_vocab\"" TEMOIN_VOCABULARY_DELIM_POS)
if(NOT TEMOIN_VOCABULARY_DELIM_POS EQUAL -1)
  message(FATAL_ERROR "data/vocabulary.json contains the raw string delimiter )temoin_vocab\"")
endif()
# Re-run configure (and so regenerate the .cc) whenever the json is edited.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${TEMOIN_VOCABULARY_JSON_PATH})
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/vocabulary_data.cc.in
               ${CMAKE_CURRENT_BINARY_DIR}/vocabulary_data.cc @ONLY)

add_library(temoin_vocabulary vocabulary.cc vocabulary.h
            ${CMAKE_CURRENT_BINARY_DIR}/vocabulary_data.cc)
add_library(temoin::vocabulary ALIAS temoin_vocabulary)
target_link_libraries(temoin_vocabulary
  PUBLIC temoin::proto temoin::common protobuf::libprotobuf
         absl::status absl::statusor absl::strings
  PRIVATE absl::flat_hash_set temoin::build_options)
temoin_test(vocabulary_test DEPS temoin::vocabulary)
