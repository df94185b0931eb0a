// Which malloc the daemon runs on, for `dlrd version` and the startup log.
#pragma once

#include <string>

namespace dlrd::app {

/// "jemalloc <version>" when dlrd is linked with jemalloc (and it is the malloc in use),
/// otherwise "glibc".
std::string allocator_name();

}  // namespace dlrd::app
