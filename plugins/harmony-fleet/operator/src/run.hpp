#pragma once

namespace harmony::fleet::op {

// fleet-operator's command line (flags, then FLEET_OPERATOR_* variables),
// signals and exit status.
int run(int argc, char** argv);

}  // namespace harmony::fleet::op
