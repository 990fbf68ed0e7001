# The deb of harmony-myapp: the plugin and its server, completion for bash,
# zsh and fish, the man page, the copyright and changelog Debian asks for.
#   cpack --config build/CPackConfig.cmake -G DEB

harmony_install_completions(TARGET harmony-myapp)
harmony_install_man_page("${CMAKE_CURRENT_SOURCE_DIR}/packaging/harmony-myapp.1")
harmony_install_man_page("${CMAKE_CURRENT_SOURCE_DIR}/packaging/myapp-server.1")
set(MYAPP_DOC_DIR "${CMAKE_INSTALL_DATADIR}/doc/harmony-myapp")
install(FILES packaging/copyright DESTINATION "${MYAPP_DOC_DIR}")
harmony_install_gzipped(packaging/changelog DESTINATION "${MYAPP_DOC_DIR}")

set(CPACK_PACKAGE_NAME harmony-myapp)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "You <you@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "harmony plugin that deploys myapp")
set(CPACK_PACKAGE_DESCRIPTION "harmony deploy myapp starts myapp-server on this machine\nand returns once it answers; harmony myapp status tells whether it still does.")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The SDK loads libcurl when an HTTP readiness check runs.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "harmony (>= 0.1), libcurl4")
set(CPACK_STRIP_FILES ON)
include(CPack)
