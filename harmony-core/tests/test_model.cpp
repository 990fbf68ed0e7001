#include <catch2/catch.hpp>

#include <harmony/capabilities.hpp>
#include <harmony/score.hpp>

using namespace harmony;

namespace {

// A topology for tests: records what the Scores did.
struct Recorder {
  static constexpr std::string_view name = "recorder";
  static constexpr std::string_view description = "remembers what ran";
  explicit Recorder(const TopologyEnvironment&) {}
  base::expected<Outcome> ensure_ready(RunContext&) { return Outcome::no_change("ready"); }
  std::vector<std::string> log;
};

// A Score that logs its name, or fails.
struct Step {
  struct Settings {
    std::string label;
    bool fail = false;
    bool change = true;
    template <class V>
    void describe(V& v) {
      v("label", label, "what it logs");
    }
  };
  using capabilities = needs<>;
  explicit Step(Settings s) : settings_(std::move(s)) {}
  [[nodiscard]] std::string name() const { return settings_.label; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    struct Run final : Interpret<T> {
      explicit Run(Settings s) : settings(std::move(s)) {}
      Outcome execute(T& t, const Inventory&, RunContext&) override {
        t.log.push_back(settings.label);
        if (settings.fail) return Outcome::failure(base::make_error(settings.label + " broke"));
        return settings.change ? Outcome::success(settings.label + " done") : Outcome::no_change(settings.label + " same");
      }
      Settings settings;
    };
    return std::make_unique<Run>(settings_);
  }
  template <Topology T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    struct Smoke final : SmokeTest<T> {
      explicit Smoke(std::string l) : label(std::move(l)) {}
      base::expected<void> run(T& t, RunContext&) override {
        t.log.push_back("check " + label);
        return {};
      }
      std::string label;
    };
    return std::make_unique<Smoke>(settings_.label);
  }

 private:
  Settings settings_;
};

Step step(std::string label, bool fail = false, bool change = true) { return Step({std::move(label), fail, change}); }

}  // namespace

static_assert(Topology<Recorder>);
static_assert(Score<Step>);
static_assert(RunsOn<Step, Recorder>);
static_assert(HasSmokeTest<Step, Recorder>);

TEST_CASE("a composite runs its children in dependency order, with an outcome per child") {
  Recorder t{{}};
  Composition<Recorder> c;
  c.add("c", step("c"), {"b"});
  c.add("a", step("a"));
  c.add("b", step("b", false, false), {"a"});
  auto interpret = c.interpret();
  RunContext ctx;
  Outcome o = interpret->execute(t, {}, ctx);
  CHECK(t.log == std::vector<std::string>{"a", "b", "c"});
  CHECK(o.status == OutcomeStatus::success);
  CHECK(o.message == "a done; c done");
  REQUIRE(o.children.size() == 3);
  CHECK(o.children[1].first == "b");
  CHECK(o.children[1].second.status == OutcomeStatus::no_change);
}

TEST_CASE("a composite with nothing to change reports no change, and a failing child stops it") {
  Recorder t{{}};
  RunContext ctx;
  {
    Composition<Recorder> c;
    c.add("a", step("a", false, false));
    CHECK(c.interpret()->execute(t, {}, ctx).status == OutcomeStatus::no_change);
  }
  t.log.clear();
  Composition<Recorder> c;
  c.add("a", step("a"));
  c.add("b", step("b", true), {"a"});
  c.add("c", step("c"), {"b"});
  Outcome o = c.interpret()->execute(t, {}, ctx);
  CHECK(o.failed());
  REQUIRE(o.error);
  CHECK(o.error->message == "b broke");
  CHECK(t.log == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a composite's smoke test runs its children's, in order") {
  Recorder t{{}};
  Composition<Recorder> c;
  c.add("b", step("b"), {"a"});
  c.add("a", step("a"));
  RunContext ctx;
  REQUIRE(c.smoke_test()->run(t, ctx));
  CHECK(t.log == std::vector<std::string>{"check a", "check b"});
}

TEST_CASE("dependency order finds cycles and unknown names") {
  auto ok = dependency_order({"a", "b", "c"}, {{"c"}, {}, {"b"}});
  REQUIRE(ok);
  CHECK(*ok == std::vector<std::size_t>{1, 2, 0});
  auto cycle = dependency_order({"a", "b"}, {{"b"}, {"a"}});
  REQUIRE_FALSE(cycle);
  CHECK(cycle.error().message == "dependency cycle");
  CHECK(cycle.error().reason == "a -> b -> a");
  auto unknown = dependency_order({"a"}, {{"z"}});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().reason == "'a' comes after 'z', which does not exist");
}

namespace {
struct ProcessesOnly {
  static constexpr std::string_view name = "p";
  static constexpr std::string_view description = "p";
  explicit ProcessesOnly(const TopologyEnvironment&) {}
  base::expected<Outcome> ensure_ready(RunContext&) { return Outcome::no_change("ready"); }
  ProcessSupervisor& processes();
};
}  // namespace

TEST_CASE("capability lists say what a topology has and lacks") {
  using List = needs<capability::ProcessSupervision, capability::FileStorage>;
  CHECK(List::names() == std::vector<std::string_view>{"SupervisesProcesses", "StoresFiles"});
  CHECK(List::missing_in<ProcessesOnly>() == std::vector<std::string_view>{"StoresFiles"});
  CHECK(List::names_in<ProcessesOnly>() == std::vector<std::string_view>{"SupervisesProcesses"});
  CHECK_FALSE(List::satisfied_by<ProcessesOnly>);
  CHECK(needs<capability::ProcessSupervision>::satisfied_by<ProcessesOnly>);
  CHECK(needs<>::satisfied_by<Recorder>);
}

TEST_CASE("outcomes") {
  CHECK(Outcome::success("x").changed());
  CHECK_FALSE(Outcome::no_change("x").changed());
  auto f = Outcome::failure(base::make_error("bad", "why"));
  CHECK(f.failed());
  CHECK(f.message == "bad");
  CHECK(outcome_status_name(OutcomeStatus::no_change) == "no-change");
  auto d = Outcome::success("x").detail("pid", "12");
  CHECK(d.details == std::vector<std::pair<std::string, std::string>>{{"pid", "12"}});
}
