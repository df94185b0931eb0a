// `dlrd serve`: the daemon's start-up and shutdown sequence.
#pragma once

#include <dlrd/app/config.hpp>

#include <string>

namespace dlrd::app {

/// Runs until SIGTERM/SIGINT; returns the exit code (0 on a clean stop). On SIGHUP,
/// `config_path` is read again and the keys that can change live are applied.
int serve(const daemon_config& config, const std::string& config_path);

}  // namespace dlrd::app
