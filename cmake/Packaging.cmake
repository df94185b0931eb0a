# Install layout and the Debian package (CPack DEB). Configure with
# -DCMAKE_INSTALL_PREFIX=/usr for the system layout; scripts/package.sh does.
include(GNUInstallDirs)

# Debian 12 still ships units in /lib/systemd/system; elsewhere they follow the prefix.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(DLRD_UNIT_DIR_DEFAULT /lib/systemd/system)
else()
  set(DLRD_UNIT_DIR_DEFAULT ${CMAKE_INSTALL_LIBDIR}/systemd/system)
endif()
set(DLRD_UNIT_DIR ${DLRD_UNIT_DIR_DEFAULT} CACHE PATH "Where dlrd.service is installed")

install(FILES config/dlrd.service DESTINATION ${DLRD_UNIT_DIR})
# The minimal config becomes the one the unit reads; the reference stays with the docs.
install(FILES config/dlrd.minimal.yaml DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/dlrd RENAME dlrd.yaml)
install(FILES config/dlrd.reference.yaml config/dlrd.minimal.yaml README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY sql/ DESTINATION ${CMAKE_INSTALL_DATADIR}/dlrd/sql FILES_MATCHING PATTERN "*.sql")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dlrd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "dlrd maintainers <dlrd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SMS delivery report daemon: durable HTTP intake, PostgreSQL state")
set(CPACK_PACKAGE_DESCRIPTION "dlrd receives SMS delivery reports over HTTP, acknowledges each callback \
once it is durable in a local spool, and keeps every message's delivery state in PostgreSQL.")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # dlrd_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Debian 12's own runtime library packages, as dpkg-shlibdeps finds them from the
# binary's NEEDED entries (libpqxx-6.4, libspdlog1.10, libyaml-cpp0.7, libfmt9,
# libsystemd0, libphonenumber8, libstdc++6, libc6, ...).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql (>= 15), prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
