# libleerplek (target leerplek_client): the blocking C client for leerplekd's framed protobuf
# API. Used by the `leerplek` tool, the daemon's integration tests and leerplek-bench.
add_library(leerplek_client STATIC ${CMAKE_CURRENT_LIST_DIR}/libleerplek.c)
target_include_directories(leerplek_client PUBLIC ${CMAKE_CURRENT_LIST_DIR})
find_package(PkgConfig REQUIRED)
pkg_check_modules(LEERPLEK_CLIENT_SSL REQUIRED IMPORTED_TARGET libssl libcrypto)
target_link_libraries(leerplek_client PUBLIC leerplek_proto leerplek_wire PkgConfig::LEERPLEK_CLIENT_SSL)
