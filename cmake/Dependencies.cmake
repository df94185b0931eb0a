# Every dependency comes from Debian 12 packages; nothing is downloaded at build time.
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

# jemalloc as the daemon's malloc. dlrd's ack path allocates small buffers on the I/O
# threads that the appender and the writers free on theirs; under `bench/run max` glibc's
# malloc and free took about 13% of dlrd's CPU samples (perf), and jemalloc cut dlrd's CPU
# per persisted report (docs/performance.md). Sanitizer and fuzz builds keep the allocator
# their runtime replaces.
option(DLRD_JEMALLOC "Link dlrd with jemalloc (ignored in sanitizer and fuzz builds)" ON)
set(DLRD_WITH_JEMALLOC OFF)
if(DLRD_JEMALLOC AND NOT DLRD_SANITIZE AND NOT DLRD_FUZZ)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
  set(DLRD_WITH_JEMALLOC ON)
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
