# The zstd dictionary of record bodies (data/body-dictionary-v1.zdict, trained by
# tests/bench/train_body_dictionary) is embedded in the library at build time: a device,
# server or reviewer never decompresses with a dictionary read from a mutable path.
cmake_path(SET TEMOIN_BODY_DICTIONARY_PATH NORMALIZE
           ${CMAKE_CURRENT_LIST_DIR}/../data/body-dictionary-v1.zdict)
file(READ ${TEMOIN_BODY_DICTIONARY_PATH} TEMOIN_BODY_DICTIONARY_HEX HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," TEMOIN_BODY_DICTIONARY_BYTES
       "${TEMOIN_BODY_DICTIONARY_HEX}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${TEMOIN_BODY_DICTIONARY_PATH})
configure_file(${CMAKE_CURRENT_LIST_DIR}/body_dictionary_data.cc.in
               ${CMAKE_CURRENT_BINARY_DIR}/body_dictionary_data.cc @ONLY)
