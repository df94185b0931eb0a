#include "allocator.hpp"

#ifdef DLRD_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace dlrd::app {

std::string allocator_name() {
#ifdef DLRD_WITH_JEMALLOC
  // mallctl answers only from the jemalloc that serves malloc: it proves the link took.
  const char* version = nullptr;
  std::size_t size = sizeof version;
  if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) == 0 && version != nullptr)
    return std::string("jemalloc ") + version;
#endif
  return "glibc";
}

}  // namespace dlrd::app
