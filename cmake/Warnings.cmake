# Warnings live on an INTERFACE target that only dlrd's own targets link.
add_library(dlrd_warnings INTERFACE)
target_compile_options(dlrd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
  -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(DLRD_WERROR)
  target_compile_options(dlrd_warnings INTERFACE -Werror)
endif()
