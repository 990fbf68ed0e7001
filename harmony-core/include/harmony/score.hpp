#pragma once
// The model: a Score is the desired state of one deployable component; an
// Interpret makes it real on a Topology and returns an Outcome.
//
// A Score is a class with:
//
//   struct MyScore {
//     struct Settings { ...; template <class V> void describe(V& v) { v("port", port, "..."); } };
//     using capabilities = harmony::needs<harmony::capability::ProcessSupervision>;
//     explicit MyScore(Settings s);
//     std::string name() const;
//     const Settings& settings() const;
//     template <harmony::Topology T> requires harmony::SupervisesProcesses<T>
//     std::unique_ptr<harmony::Interpret<T>> create_interpret() const;
//   };
//
// Companions add powers without widening that interface. A Score may offer a
// smoke test (readiness plus a real check; deploy blocks on it):
//
//     template <harmony::Topology T> requires ...
//     std::unique_ptr<harmony::SmokeTest<T>> create_smoke_test() const;
//
// and its plan (what a deploy would change) comes from its Settings.

#include <concepts>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <harmony/capabilities.hpp>
#include <harmony/context.hpp>
#include <harmony/outcome.hpp>
#include <harmony/topology.hpp>

namespace harmony {

template <class T>
class Interpret {
 public:
  virtual ~Interpret() = default;
  // Converges: makes the Score's state real, or finds it already is.
  virtual Outcome execute(T& topology, const Inventory& inventory, RunContext& ctx) = 0;
};

template <class T>
class SmokeTest {
 public:
  virtual ~SmokeTest() = default;
  // Waits (until ctx.deadline) for the component to be ready, then checks that
  // it really works. The error says what failed, where, and what to do.
  virtual base::expected<void> run(T& topology, RunContext& ctx) = 0;
};

template <class S>
concept Score = requires(const S& s) {
  typename S::Settings;
  typename S::capabilities;
  { s.name() } -> std::convertible_to<std::string>;
  { s.settings() } -> std::convertible_to<const typename S::Settings&>;
};

template <class S, class T>
concept RunsOn = Score<S> && Topology<T> && requires(const S& s) {
  { s.template create_interpret<T>() } -> std::same_as<std::unique_ptr<Interpret<T>>>;
};

template <class S, class T>
concept HasSmokeTest = RunsOn<S, T> && requires(const S& s) {
  { s.template create_smoke_test<T>() } -> std::same_as<std::unique_ptr<SmokeTest<T>>>;
};

// The smoke test of a Score on T, or nullptr when it has none.
template <class T, class S>
  requires RunsOn<S, T>
std::unique_ptr<SmokeTest<T>> smoke_test_of(const S& score) {
  if constexpr (HasSmokeTest<S, T>)
    return score.template create_smoke_test<T>();
  else
    return nullptr;
}

// An Interpret, or a SmokeTest, made of one function: for a realisation
// that is a call (the function holds copies of what it needs). The
// Interpret's function takes (T&, RunContext&), or (T&, const Inventory&,
// RunContext&) when it needs the inventory; the SmokeTest's (T&, RunContext&).
template <Topology T, class F>
std::unique_ptr<Interpret<T>> interpret_with(F run) {
  struct Fn final : Interpret<T> {
    explicit Fn(F f) : call(std::move(f)) {}
    Outcome execute(T& topology, const Inventory& inventory, RunContext& ctx) override {
      if constexpr (std::is_invocable_v<F&, T&, const Inventory&, RunContext&>)
        return call(topology, inventory, ctx);
      else
        return call(topology, ctx);
    }
    F call;
  };
  return std::make_unique<Fn>(std::move(run));
}

template <Topology T, class F>
std::unique_ptr<SmokeTest<T>> smoke_test_with(F run) {
  struct Fn final : SmokeTest<T> {
    explicit Fn(F f) : call(std::move(f)) {}
    base::expected<void> run(T& topology, RunContext& ctx) override { return call(topology, ctx); }
    F call;
  };
  return std::make_unique<Fn>(std::move(run));
}

// ---- composition -------------------------------------------------------------

// Child Scores of a composite, for one topology: run in dependency order,
// with an Outcome per child; the composite's smoke test runs the children's.
template <Topology T>
class Composition {
 public:
  // `after`: names of children that must run first.
  template <class S>
    requires RunsOn<S, T>
  Composition& add(std::string name, const S& score, std::vector<std::string> after = {}) {
    children_.push_back({std::move(name), std::move(after), score.template create_interpret<T>(), smoke_test_of<T>(score)});
    return *this;
  }

  // Children in an order where each comes after its dependencies; throws
  // std::logic_error on a cycle or an unknown dependency (a plugin bug).
  void order();

  std::unique_ptr<Interpret<T>> interpret();
  std::unique_ptr<SmokeTest<T>> smoke_test();

 private:
  struct Child {
    std::string name;
    std::vector<std::string> after;
    std::unique_ptr<Interpret<T>> interpret;
    std::unique_ptr<SmokeTest<T>> smoke;
  };
  std::vector<Child> children_;
  class CompositeInterpret;
  class CompositeSmokeTest;
};

// Sorts names so each comes after the names it depends on (stable otherwise).
// Returns the indices in order, or an error naming the cycle or unknown name.
base::expected<std::vector<std::size_t>> dependency_order(const std::vector<std::string>& names,
                                                         const std::vector<std::vector<std::string>>& after);

template <Topology T>
void Composition<T>::order() {
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> after;
  for (const auto& c : children_) {
    names.push_back(c.name);
    after.push_back(c.after);
  }
  auto sorted = dependency_order(names, after);
  if (!sorted) throw std::logic_error(sorted.error().message + ": " + sorted.error().reason);
  std::vector<Child> ordered;
  for (std::size_t i : *sorted) ordered.push_back(std::move(children_[i]));
  children_ = std::move(ordered);
}

template <Topology T>
class Composition<T>::CompositeInterpret final : public Interpret<T> {
 public:
  explicit CompositeInterpret(std::vector<Child>* children) : children_(children) {}
  Outcome execute(T& topology, const Inventory& inventory, RunContext& ctx) override {
    Outcome total = Outcome::no_change("unchanged");
    for (auto& child : *children_) {
      Outcome o = child.interpret->execute(topology, inventory, ctx);
      if (o.failed()) {
        total.status = OutcomeStatus::failure;
        total.error = o.error;
        total.message = child.name + ": " + o.message;
        total.children.emplace_back(child.name, std::move(o));
        return total;
      }
      if (o.changed()) {
        total.message = total.status == OutcomeStatus::success ? total.message + "; " + o.message : o.message;
        total.status = OutcomeStatus::success;
      }
      total.children.emplace_back(child.name, std::move(o));
    }
    return total;
  }

 private:
  std::vector<Child>* children_;
};

template <Topology T>
class Composition<T>::CompositeSmokeTest final : public SmokeTest<T> {
 public:
  explicit CompositeSmokeTest(std::vector<Child>* children) : children_(children) {}
  base::expected<void> run(T& topology, RunContext& ctx) override {
    for (auto& child : *children_)
      if (child.smoke)
        if (auto ok = child.smoke->run(topology, ctx); !ok) return ok;
    return {};
  }

 private:
  std::vector<Child>* children_;
};

template <Topology T>
std::unique_ptr<Interpret<T>> Composition<T>::interpret() {
  // The interpret owns the composition, so it outlives the caller's copy.
  struct Owning final : Interpret<T> {
    explicit Owning(Composition c) : composition(std::move(c)), inner(&composition.children_) {}
    Outcome execute(T& t, const Inventory& i, RunContext& ctx) override { return inner.execute(t, i, ctx); }
    Composition composition;
    CompositeInterpret inner;
  };
  order();
  return std::make_unique<Owning>(std::move(*this));
}

template <Topology T>
std::unique_ptr<SmokeTest<T>> Composition<T>::smoke_test() {
  struct Owning final : SmokeTest<T> {
    explicit Owning(Composition c) : composition(std::move(c)), inner(&composition.children_) {}
    base::expected<void> run(T& t, RunContext& ctx) override { return inner.run(t, ctx); }
    Composition composition;
    CompositeSmokeTest inner;
  };
  order();
  return std::make_unique<Owning>(std::move(*this));
}

}  // namespace harmony
