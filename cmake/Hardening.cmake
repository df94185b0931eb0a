# Debian's hardening flags (what `dpkg-buildflags` gives with hardening=+all), for every target:
# stack protector, fortified libc calls in optimised builds, and full RELRO with BIND_NOW.
# PIE is GCC's default on Debian. Sanitizer and fuzzer builds keep FORTIFY off (it hides
# calls from their interceptors). tests/packaging/deb_test.sh checks the packaged binary.
option(DLRD_HARDENING "Build with Debian's hardening flags" ON)
if(DLRD_HARDENING)
  add_compile_options(-fstack-protector-strong -fstack-clash-protection -Wformat -Werror=format-security)
  if(NOT DLRD_SANITIZE AND NOT DLRD_FUZZ)
    # FORTIFY needs the optimiser: glibc warns (an error under -Werror) without it.
    add_compile_options($<$<NOT:$<CONFIG:Debug>>:-U_FORTIFY_SOURCE> $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
  endif()
  add_link_options(-Wl,-z,relro -Wl,-z,now)
endif()
