#pragma once
// Errors the SDK raises, with their exit statuses from the one table
// (harmony/base/exit_status.hpp, docs/exit-codes.md).

#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/error.hpp>

namespace harmony {

namespace exit_status = base::exit_status;

// Ctrl-C: status 130.
base::Error interrupted_error();

// An error with a given status.
base::Error error_with(int status, std::string message, std::string reason = {}, std::string hint = {});

}  // namespace harmony
