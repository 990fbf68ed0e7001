#pragma once
// Readiness checks: single attempts (TCP connect, HTTP GET via libcurl), and
// the wait loop that retries one until it passes, the deadline passes, or the
// user presses Ctrl-C. Used by the readiness Scores and by plugins' own
// smoke tests.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <harmony/base/expected.hpp>
#include <harmony/capabilities.hpp>
#include <harmony/context.hpp>

namespace harmony::checks {

using namespace std::chrono_literals;

// One TCP connection attempt.
base::expected<void> tcp_connect(const Endpoint& endpoint, std::chrono::milliseconds timeout);

struct HttpExpectation {
  int status_min = 200;
  int status_max = 299;
  std::string body_contains;  // empty: any body
};
// One GET; the error says what came back instead.
base::expected<void> http_get(const std::string& url, const HttpExpectation& expect, std::chrono::milliseconds timeout);

struct WaitOptions {
  std::chrono::milliseconds interval = 100ms;
  // Polled between attempts: a reason when waiting is pointless (the process
  // died), nullopt otherwise.
  std::function<std::optional<std::string>()> gave_up{};
};

// Retries `attempt` until it passes or ctx.deadline. Errors: not_ready (with
// the last attempt's error as the reason), interrupted, or the gave_up reason.
base::expected<void> wait_until(RunContext& ctx, std::string_view what,
                                const std::function<base::expected<void>()>& attempt, const WaitOptions& options = {});

}  // namespace harmony::checks
