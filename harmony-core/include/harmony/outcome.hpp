#pragma once
// What executing a Score did: it changed something (success), found nothing
// to change (no_change), or failed, with an Error that reads like a compiler
// diagnostic. Composites keep one Outcome per child.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <harmony/base/error.hpp>

namespace harmony {

enum class OutcomeStatus { success, no_change, failure };
std::string_view outcome_status_name(OutcomeStatus status);  // "success", "no-change", "failure"

struct Outcome {
  OutcomeStatus status = OutcomeStatus::success;
  std::string message;
  std::vector<std::pair<std::string, std::string>> details;
  std::optional<base::Error> error;                       // set when status == failure
  std::vector<std::pair<std::string, Outcome>> children;  // per child, for composites

  static Outcome success(std::string message);
  static Outcome no_change(std::string message);
  static Outcome failure(base::Error error);

  Outcome& detail(std::string key, std::string value) &;
  Outcome&& detail(std::string key, std::string value) &&;
  [[nodiscard]] bool failed() const { return status == OutcomeStatus::failure; }
  [[nodiscard]] bool changed() const { return status == OutcomeStatus::success; }
};

}  // namespace harmony
