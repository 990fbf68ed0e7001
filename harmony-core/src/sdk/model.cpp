// The small non-template parts of the model: outcomes, the run context,
// dependency ordering, SDK errors.

#include <harmony/context.hpp>
#include <harmony/errors.hpp>
#include <harmony/outcome.hpp>
#include <harmony/reporter.hpp>
#include <harmony/score.hpp>

#include <harmony/base/interrupt.hpp>

#include <algorithm>
#include <functional>

namespace harmony {

std::string_view outcome_status_name(OutcomeStatus status) {
  switch (status) {
    case OutcomeStatus::success: return "success";
    case OutcomeStatus::no_change: return "no-change";
    case OutcomeStatus::failure: return "failure";
  }
  return "unknown";
}

Outcome Outcome::success(std::string message) { return {OutcomeStatus::success, std::move(message), {}, {}, {}}; }
Outcome Outcome::no_change(std::string message) { return {OutcomeStatus::no_change, std::move(message), {}, {}, {}}; }
Outcome Outcome::failure(base::Error error) {
  Outcome o{OutcomeStatus::failure, error.message, {}, {}, {}};
  o.error = std::move(error);
  return o;
}
Outcome& Outcome::detail(std::string key, std::string value) & {
  details.emplace_back(std::move(key), std::move(value));
  return *this;
}
Outcome&& Outcome::detail(std::string key, std::string value) && {
  details.emplace_back(std::move(key), std::move(value));
  return std::move(*this);
}

void RunContext::note(std::string_view text) const {
  if (reporter != nullptr) reporter->note(component, text);
}

void RunContext::warn(std::string_view text) const {
  if (reporter != nullptr) reporter->warn(component, text);
}

bool RunContext::interrupted() const { return base::interrupt_requested(); }

std::chrono::milliseconds RunContext::remaining() const {
  if (deadline == Clock::time_point::max()) return std::chrono::hours(24 * 365);
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}

base::Error interrupted_error() {
  return error_with(exit_status::interrupted, "interrupted", "Ctrl-C (or SIGTERM) stopped the wait",
                    "what was done so far is recorded; run the same command again to continue");
}

base::Error error_with(int status, std::string message, std::string reason, std::string hint) {
  base::Error e = base::make_error(std::move(message), std::move(reason), std::move(hint));
  e.status = status;
  return e;
}

base::expected<std::vector<std::size_t>> dependency_order(const std::vector<std::string>& names,
                                                         const std::vector<std::vector<std::string>>& after) {
  std::vector<std::size_t> order;
  std::vector<int> state(names.size(), 0);  // 0 new, 1 visiting, 2 done
  std::function<base::expected<void>(std::size_t, std::vector<std::string>&)> visit =
      [&](std::size_t i, std::vector<std::string>& path) -> base::expected<void> {
    if (state[i] == 2) return {};
    path.push_back(names[i]);
    if (state[i] == 1) {
      std::string cycle;
      for (const auto& n : path) cycle += (cycle.empty() ? "" : " -> ") + n;
      return base::fail(base::make_error("dependency cycle", cycle));
    }
    state[i] = 1;
    for (const auto& dep : after[i]) {
      auto it = std::find(names.begin(), names.end(), dep);
      if (it == names.end())
        return base::fail(base::make_error("unknown dependency", "'" + names[i] + "' comes after '" + dep + "', which does not exist"));
      if (auto ok = visit(static_cast<std::size_t>(it - names.begin()), path); !ok) return ok;
    }
    state[i] = 2;
    path.pop_back();
    order.push_back(i);
    return {};
  };
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::vector<std::string> path;
    if (auto ok = visit(i, path); !ok) return base::fail(ok.error());
  }
  return order;
}

}  // namespace harmony
