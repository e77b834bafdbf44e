# Translations: each text domain's nl.po is compiled by msgfmt (Debian's gettext package) into
# <build>/share/locale/nl/LC_MESSAGES/<domain>.mo, beside bin/, where the programs look first
# (clients/i18n/leerplek_i18n.c), and installed under share/locale. `leerplek-translations` builds
# them all; every program that reads them depends on it.
find_program(LEERPLEK_MSGFMT msgfmt REQUIRED)
find_program(LEERPLEK_XGETTEXT xgettext REQUIRED)
find_program(LEERPLEK_MSGCMP msgcmp REQUIRED)
include(GNUInstallDirs)
if(NOT TARGET leerplek-translations)
  add_custom_target(leerplek-translations)
endif()

# leerplek_add_catalogue(<domain> <po file>)
function(leerplek_add_catalogue domain po_file)
  set(mo ${CMAKE_BINARY_DIR}/share/locale/nl/LC_MESSAGES/${domain}.mo)
  # --check: a translation's printf directives must match its msgid's (a wrong one would crash).
  add_custom_command(OUTPUT ${mo}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/share/locale/nl/LC_MESSAGES
    COMMAND ${LEERPLEK_MSGFMT} --check -o ${mo} ${po_file}
    DEPENDS ${po_file}
    COMMENT "msgfmt ${domain} (nl)")
  add_custom_target(${domain}-catalogue DEPENDS ${mo})
  add_dependencies(leerplek-translations ${domain}-catalogue)
  install(FILES ${mo} DESTINATION ${CMAKE_INSTALL_LOCALEDIR}/nl/LC_MESSAGES)
endfunction()
