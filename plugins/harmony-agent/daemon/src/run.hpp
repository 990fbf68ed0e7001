#pragma once

namespace harmony::agent::daemon {

// The whole daemon: reads its configuration, serves until SIGTERM or
// SIGINT, then drains and exits 0. The one place that prints errors.
int run(int argc, char** argv);

}  // namespace harmony::agent::daemon
