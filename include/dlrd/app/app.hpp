// The command line: serve, migrate, check-config, spool inspect, version.
#pragma once

namespace dlrd::app {

/// Parses the command line and runs the command; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace dlrd::app
