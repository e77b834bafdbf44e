# The `leerplek` command-line tool: school, company, coordinator and admin subcommands and
# CSV import/export, on top of libleerplek. CSV is parsed and written with libcsv, JSON with
# jansson (Debian's libcsv-dev and libjansson-dev); neither is done by hand.
find_package(PkgConfig REQUIRED)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
find_path(LIBCSV_INCLUDE_DIR csv.h REQUIRED)
find_library(LIBCSV_LIBRARY csv REQUIRED)

# Everything that needs no connection (text forms, CSV rows, entities, output formats) is a
# library of its own so the unit tests in tests/cli link exactly what the tool runs.
add_library(leerplek_cli_support STATIC
  ${CMAKE_CURRENT_LIST_DIR}/leerplek_text.c       # day masks, decimals, dates, enums, lists
  ${CMAKE_CURRENT_LIST_DIR}/leerplek_csv.c        # CSV rows with line numbers; diagnostics
  ${CMAKE_CURRENT_LIST_DIR}/leerplek_entities.c   # CSV columns <-> proto messages per entity
  ${CMAKE_CURRENT_LIST_DIR}/leerplek_output.c     # table / CSV / JSON printing
  ${CMAKE_CURRENT_LIST_DIR}/leerplek_report.c     # the report's tables as flat rows
  ${CMAKE_CURRENT_LIST_DIR}/leerplek_refs.c       # references of import rows to known records
  ${CMAKE_CURRENT_LIST_DIR}/leerplek_postcodes.c  # postcode -> centre (postcodes_antwerp.def)
)
target_include_directories(leerplek_cli_support PUBLIC ${CMAKE_CURRENT_LIST_DIR} ${LIBCSV_INCLUDE_DIR})
target_link_libraries(leerplek_cli_support PUBLIC leerplek_proto leerplek_i18n PkgConfig::JANSSON ${LIBCSV_LIBRARY})

if(TARGET leerplek_client)
  add_executable(leerplek ${CMAKE_CURRENT_LIST_DIR}/leerplek.c)
  target_link_libraries(leerplek PRIVATE leerplek_cli_support leerplek_client)
  add_dependencies(leerplek leerplek-translations)
endif()
