#pragma once

namespace harmony::callout {

// fleet-callout's whole life: options, then serving until SIGTERM or SIGINT.
int run(int argc, char** argv);

}  // namespace harmony::callout
