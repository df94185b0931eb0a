// `dlrd serve`: the daemon's start-up and shutdown sequence.
#pragma once

#include <dlrd/app/config.hpp>

namespace dlrd::app {

/// Runs until SIGTERM/SIGINT; returns the exit code (0 on a clean stop).
int serve(const daemon_config& config);

}  // namespace dlrd::app
