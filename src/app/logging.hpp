// Log set-up from the `log` section.
#pragma once

#include <dlrd/app/config.hpp>

namespace dlrd::app {

/// Applies log.level and log.format (text | json lines); under systemd (JOURNAL_STREAM set)
/// lines carry journald's priority prefix and no timestamp.
void setup_logging(const log_config& c);

}  // namespace dlrd::app
