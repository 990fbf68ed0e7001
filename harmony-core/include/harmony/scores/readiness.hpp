#pragma once
// Readiness checks as Scores, to compose into a component: deploying them
// changes nothing; their smoke tests wait (until the deploy's deadline) for
// the component to answer, and fail early if its processes died.
//
//   TcpReady    a port accepts connections
//   HttpReady   GET http://<endpoint><path> answers 2xx (and a body, if asked)
//   Check       a custom check: any callable returning base::expected<void>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <harmony/capabilities.hpp>
#include <harmony/checks.hpp>
#include <harmony/score.hpp>
#include <harmony/settings.hpp>

namespace harmony::scores {

namespace detail {

// Deploying a check changes nothing.
template <class T>
struct NothingToDo final : Interpret<T> {
  explicit NothingToDo(std::string text) : what(std::move(text)) {}
  Outcome execute(T&, const Inventory&, RunContext&) override { return Outcome::no_change(what + " is checked after deploy"); }
  std::string what;
};

// Where waiting is pointless: the component's processes are gone.
template <class T>
checks::WaitOptions wait_options(T& topology, const RunContext& ctx) {
  checks::WaitOptions options;
  if constexpr (SupervisesProcesses<T>) {
    options.gave_up = [&topology, component = ctx.component]() -> std::optional<std::string> {
      if (topology.processes().processes_running(component)) return std::nullopt;
      return "its process exited; the end of its log:\n" + topology.processes().log_tail(component, 10);
    };
  }
  return options;
}

template <class T, class Attempt>
struct WaitFor final : SmokeTest<T> {
  WaitFor(std::string text, Attempt check) : what(std::move(text)), attempt(std::move(check)) {}
  base::expected<void> run(T& topology, RunContext& ctx) override {
    return checks::wait_until(ctx, what, [&] { return attempt(topology, ctx); }, wait_options(topology, ctx));
  }
  std::string what;
  Attempt attempt;
};

template <class T, class Attempt>
std::unique_ptr<SmokeTest<T>> wait_for(std::string what, Attempt attempt) {
  return std::make_unique<WaitFor<T, Attempt>>(std::move(what), std::move(attempt));
}

}  // namespace detail

class TcpReady {
 public:
  struct Settings {
    Port port;
    template <class V>
    void describe(V& v) {
      v("port", port, "the port that must accept connections");
    }
  };
  using capabilities = needs<capability::EndpointReach>;

  explicit TcpReady(Settings settings) : settings_(settings) {}
  [[nodiscard]] std::string name() const { return "port " + std::to_string(settings_.port.value) + " ready"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires ReachesEndpoints<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return std::make_unique<detail::NothingToDo<T>>(name());
  }
  template <Topology T>
    requires ReachesEndpoints<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    const std::uint16_t port = settings_.port.value;
    return detail::wait_for<T>("TCP port " + std::to_string(port), [port](T& topology, RunContext& ctx) {
      return checks::tcp_connect(topology.endpoint(ctx.component, port), std::chrono::milliseconds(500));
    });
  }

 private:
  Settings settings_;
};

class HttpReady {
 public:
  struct Settings {
    Port port;
    std::string path = "/";
    std::string body_contains;
    template <class V>
    void describe(V& v) {
      v("port", port, "the HTTP port");
      v("path", path, "the path to GET");
      v("body_contains", body_contains, "text the answer must contain");
    }
  };
  using capabilities = needs<capability::EndpointReach>;

  explicit HttpReady(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "GET " + settings_.path; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires ReachesEndpoints<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return std::make_unique<detail::NothingToDo<T>>(name());
  }
  template <Topology T>
    requires ReachesEndpoints<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    Settings s = settings_;
    return detail::wait_for<T>("GET " + s.path, [s](T& topology, RunContext& ctx) {
      const std::string url = "http://" + topology.endpoint(ctx.component, s.port.value).str() + s.path;
      return checks::http_get(url, {200, 299, s.body_contains}, std::chrono::milliseconds(2000));
    });
  }

 private:
  Settings settings_;
};

// A custom check, retried until it passes: the "real check" of a smoke test
// (a request/reply over NATS, a login, a query).
class Check {
 public:
  struct Settings {
    std::string what;
    template <class V>
    void describe(V& v) {
      v("what", what, "what the check verifies");
    }
  };
  using capabilities = needs<>;
  using Function = std::function<base::expected<void>(RunContext&)>;

  Check(std::string what, Function check) : settings_{std::move(what)}, check_(std::move(check)) {}
  [[nodiscard]] std::string name() const { return settings_.what; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return std::make_unique<detail::NothingToDo<T>>(name());
  }
  template <Topology T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    Function check = check_;
    return detail::wait_for<T>(settings_.what, [check](T&, RunContext& ctx) { return check(ctx); });
  }

 private:
  Settings settings_;
  Function check_;
};

}  // namespace harmony::scores
