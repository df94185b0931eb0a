# Install layout and the Debian package (CPack DEB).
# `cmake --install BUILD --prefix /usr` and `cpack -G DEB` (whose prefix is /usr) give the
# system layout from any build tree: the config and the unit go to /etc/dlrd and
# /lib/systemd/system when the install prefix is /usr, under the prefix otherwise. That is
# decided at install time, so a tree configured for /usr/local still packages correctly.
include(GNUInstallDirs)

install(FILES config/dlrd.reference.yaml config/dlrd.minimal.yaml README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES packaging/deb/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The topic pages the README links to (docs/<topic>.md, relative to the README).
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
# lintian overrides, each with the reason in a comment above it.
install(FILES packaging/deb/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME dlrd)
install(DIRECTORY sql/ DESTINATION ${CMAKE_INSTALL_DATADIR}/dlrd/sql FILES_MATCHING PATTERN "*.sql")
install(FILES mixin/dlrd.rules.yaml mixin/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/dlrd/prometheus)
install(FILES mixin/dlrd.dashboard.json DESTINATION ${CMAKE_INSTALL_DATADIR}/dlrd/grafana)
# dlrd.8 is printed by the built binary (`dlrd help --man`: the same texts as --help), and it
# and the Debian changelog are installed gzip -9n compressed, as Debian policy asks.
install(CODE "set(dlrd_binary \"$<TARGET_FILE:dlrd>\")
  set(dlrd_gz_dir \"${CMAKE_BINARY_DIR}/packaging\")
  set(dlrd_changelog \"${PROJECT_SOURCE_DIR}/packaging/deb/changelog\")
  set(dlrd_man_dir \"${CMAKE_INSTALL_MANDIR}/man8\")
  set(dlrd_doc_dir \"${CMAKE_INSTALL_DOCDIR}\")")
install(CODE [[
  file(MAKE_DIRECTORY ${dlrd_gz_dir})
  execute_process(COMMAND sh -c "\"$1\" help --man | gzip -9n > \"$2\"" sh ${dlrd_binary} ${dlrd_gz_dir}/dlrd.8.gz
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dlrd help --man failed (${rc})")
  endif()
  execute_process(COMMAND sh -c "gzip -9n < \"$1\" > \"$2\"" sh ${dlrd_changelog} ${dlrd_gz_dir}/changelog.gz
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip of the changelog failed (${rc})")
  endif()
  # Relative to the prefix given at install time (cpack's /usr), like install(FILES).
  file(INSTALL DESTINATION ${CMAKE_INSTALL_PREFIX}/${dlrd_man_dir} TYPE FILE FILES ${dlrd_gz_dir}/dlrd.8.gz)
  file(INSTALL DESTINATION ${CMAKE_INSTALL_PREFIX}/${dlrd_doc_dir} TYPE FILE FILES ${dlrd_gz_dir}/changelog.gz)
]])
install(CODE "set(dlrd_config_dir \"${PROJECT_SOURCE_DIR}/config\")")
install(CODE "set(dlrd_packaging_dir \"${PROJECT_SOURCE_DIR}/packaging/deb\")")
install(CODE [[
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(dlrd_etc_dir /etc/dlrd)
    set(dlrd_default_dir /etc/default)
    set(dlrd_unit_dir /lib/systemd/system)  # Debian 12 still ships units there
  else()
    set(dlrd_etc_dir ${CMAKE_INSTALL_PREFIX}/etc/dlrd)
    set(dlrd_default_dir ${CMAKE_INSTALL_PREFIX}/etc/default)
    set(dlrd_unit_dir ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
  endif()
  # The minimal config becomes the one the unit reads; the reference stays with the docs.
  file(INSTALL DESTINATION ${dlrd_etc_dir} TYPE FILE RENAME dlrd.yaml
       FILES ${dlrd_config_dir}/dlrd.minimal.yaml)
  file(INSTALL DESTINATION ${dlrd_unit_dir} TYPE FILE FILES ${dlrd_config_dir}/dlrd.service)
  # Environment for the unit (DLRD_DATABASE_URL); root only, as it may hold a password.
  file(INSTALL DESTINATION ${dlrd_default_dir} TYPE FILE RENAME dlrd
       PERMISSIONS OWNER_READ OWNER_WRITE FILES ${dlrd_packaging_dir}/default)
]])

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dlrd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# The project has no mail host of its own yet: .invalid (RFC 2606) says so honestly.
set(CPACK_PACKAGE_CONTACT "dlrd maintainers <maintainers@dlrd.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SMS delivery report daemon: durable HTTP intake, PostgreSQL state")
# The extended description (CPack puts the summary above it), wrapped at 80 columns.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "dlrd receives SMS delivery reports over HTTP, acknowledges each callback
once it is durable in a local spool, and keeps every message's delivery
state in PostgreSQL.")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # dlrd_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Debian 12's own runtime packages, one per NEEDED library of the binary (real package
# names: dpkg-shlibdeps would write the virtual libspdlog1.10-fmt9 and
# libphonenumber8-protobuf32), plus adduser for the postinst. tests/packaging/deb_test.sh
# fails when the binary needs a library no package here provides.
set(dlrd_depends
    "libc6 (>= 2.34)" "libgcc-s1 (>= 3.0)" "libstdc++6 (>= 12)"
    "libfmt9 (>= 9.1.0)" "libspdlog1.10 (>= 1:1.10.0)" "libyaml-cpp0.7 (>= 0.7.0)"
    "libpqxx-6.4 (>= 6.4.5)" "libpq5 (>= 15)" "libphonenumber8 (>= 8.12)" "libssl3 (>= 3.0.0)" libsystemd0
    adduser "init-system-helpers (>= 1.54)")
if(DLRD_WITH_JEMALLOC)
  list(APPEND dlrd_depends "libjemalloc2 (>= 5.3.0)")
endif()
# A sanitizer build (the test suite packages its ASan tree too) links GCC 12's runtimes.
if(DLRD_SANITIZE MATCHES "address" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND dlrd_depends libasan8)
endif()
if(DLRD_SANITIZE MATCHES "undefined" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND dlrd_depends libubsan1)
endif()
list(JOIN dlrd_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql (>= 15), prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
