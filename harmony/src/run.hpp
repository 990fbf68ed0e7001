#pragma once

namespace harmony::dispatcher {

// The whole dispatcher: parses the command line, runs a built-in or replaces
// itself with a plugin. The one place that turns errors into exit statuses.
int run(int argc, char** argv);

}  // namespace harmony::dispatcher
