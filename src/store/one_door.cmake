# Only store talks to PostgreSQL (DESIGN.md): no target but dlrd_store links libpqxx, and no
# file outside src/store includes a libpqxx header or names the PQXX target in its CMake.
# Allowed: src/app links libpq itself (PkgConfig::LIBPQ, not libpqxx) for PQconninfoParse,
# which checks database.url when the config loads and opens no connection. Tests may link
# libpqxx to set up and read their databases; they are not modules.
#
# Two modes. Included by src/store/CMakeLists.txt, it checks the targets' link libraries at
# the end of configuring src/ (configure fails). Run as a script by the ctest test
# only_store_includes_or_links_libpqxx (cmake -DSOURCE_DIR=<tree> -P one_door.cmake), it
# checks the files themselves.

if(CMAKE_SCRIPT_MODE_FILE)
  file(GLOB_RECURSE files LIST_DIRECTORIES false ${SOURCE_DIR}/src/* ${SOURCE_DIR}/include/*)
  set(offenders "")
  foreach(f IN LISTS files)
    file(RELATIVE_PATH rel ${SOURCE_DIR} ${f})
    if(rel MATCHES "^src/store/")
      continue()
    elseif(rel MATCHES "\\.(c|cc|cpp|cxx|h|hh|hpp|hxx)$")
      file(STRINGS ${f} hits REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]pqxx/")
    elseif(rel MATCHES "(CMakeLists\\.txt|\\.cmake)$")
      file(STRINGS ${f} hits REGEX "PQXX")
    else()
      continue()
    endif()
    foreach(h IN LISTS hits)
      string(STRIP "${h}" h)
      list(APPEND offenders "${rel}: ${h}")
    endforeach()
  endforeach()
  if(offenders)
    list(JOIN offenders "\n  " text)
    message(FATAL_ERROR "only src/store may include or link libpqxx; found:\n  ${text}")
  endif()
  message(STATUS "one door to PostgreSQL: no libpqxx outside src/store")
  return()
endif()

function(dlrd_check_one_door)
  get_property(dirs DIRECTORY ${PROJECT_SOURCE_DIR}/src PROPERTY SUBDIRECTORIES)
  foreach(d IN ITEMS ${PROJECT_SOURCE_DIR}/src LISTS dirs)
    get_property(targets DIRECTORY ${d} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(t IN LISTS targets)
      if(t STREQUAL "dlrd_store")
        continue()
      endif()
      get_target_property(type ${t} TYPE)
      if(type STREQUAL "UTILITY")
        continue()
      endif()
      get_target_property(libs ${t} LINK_LIBRARIES)
      get_target_property(interface ${t} INTERFACE_LINK_LIBRARIES)
      if("${libs};${interface}" MATCHES "PQXX|pqxx")
        message(FATAL_ERROR "${t} links libpqxx (${libs}); only dlrd_store may: call store's typed functions")
      endif()
    endforeach()
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR}/src CALL dlrd_check_one_door)
