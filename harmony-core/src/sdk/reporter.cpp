#include <harmony/reporter.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include <harmony/base/error.hpp>
#include <harmony/base/time.hpp>

namespace harmony {
namespace {

using Clock = std::chrono::steady_clock;

void write_out(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void write_err(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

std::string warning_line(std::string_view component, std::string_view text) {
  return "warning: " + (component.empty() ? std::string() : std::string(component) + ": ") + base::printable(text) + "\n";
}

std::string seconds(Clock::duration d) {
  auto tenths = std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "s";
}

struct Row {
  std::string component;
  Phase phase = Phase::pending;
  std::string message{};
  Clock::time_point started{};
  Clock::time_point ended{};
  bool timed = false;
};

bool finished(Phase p) {
  return p == Phase::ready || p == Phase::unchanged || p == Phase::failed || p == Phase::skipped || p == Phase::removed;
}

// Rows kept in order, with elapsed times.
class Rows {
 public:
  void start(const std::vector<std::string>& components) {
    for (const auto& c : components) rows_.push_back({c});
  }
  Row& at(std::string_view component) {
    for (auto& r : rows_)
      if (r.component == component) return r;
    rows_.push_back({std::string(component)});
    return rows_.back();
  }
  void phase(std::string_view component, Phase phase, std::string_view message) {
    Row& r = at(component);
    if (phase == Phase::running && !r.timed) {
      r.started = Clock::now();
      r.timed = true;
    }
    if (finished(phase)) r.ended = Clock::now();
    r.phase = phase;
    if (!message.empty() || finished(phase)) r.message = base::printable(message);
  }
  [[nodiscard]] std::string elapsed(const Row& r) const {
    if (!r.timed) return "";
    return seconds((finished(r.phase) ? r.ended : Clock::now()) - r.started);
  }
  std::vector<Row> rows_;
};

std::string color_of(Phase p, bool color) {
  if (!color) return "";
  switch (p) {
    case Phase::ready:
    case Phase::unchanged:
    case Phase::removed: return "\033[32m";
    case Phase::failed: return "\033[31m";
    case Phase::running:
    case Phase::checking: return "\033[33m";
    default: return "\033[2m";
  }
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string next_steps_text(const Summary& summary) {
  std::string out;
  if (!summary.next_steps.empty()) {
    out += "\nnext:\n";
    for (const auto& step : summary.next_steps) out += "  " + step + "\n";
  }
  return out;
}

class PlainReporter final : public Reporter {
 public:
  explicit PlainReporter(const ReporterOptions& o) : options_(o) {}
  void start(std::string_view, const std::vector<std::string>& components) override { rows_.start(components); }
  void phase(std::string_view component, Phase phase, std::string_view message) override {
    rows_.phase(component, phase, message);
    const Row& r = rows_.at(component);
    std::string line = std::string(component) + ": " + std::string(phase_name(phase));
    if (finished(phase) && r.timed) line += " (" + rows_.elapsed(r) + ")";
    if (!message.empty()) line += ": " + base::printable(message);
    write_out(line + "\n");
  }
  void note(std::string_view component, std::string_view text) override {
    if (options_.verbose > 0) write_out(std::string(component) + ": " + base::printable(text) + "\n");
  }
  void warn(std::string_view component, std::string_view text) override { write_err(warning_line(component, text)); }
  void finish(const Summary& summary) override {
    write_out((summary.message.empty() ? "" : summary.message + "\n") + next_steps_text(summary));
  }

 private:
  ReporterOptions options_;
  Rows rows_;
};

class JsonReporter final : public Reporter {
 public:
  explicit JsonReporter(const ReporterOptions& o) : options_(o) {}
  void start(std::string_view operation, const std::vector<std::string>& components) override {
    rows_.start(components);
    emit({{"event", "start"}, {"operation", operation}, {"components", components}});
  }
  void phase(std::string_view component, Phase phase, std::string_view message) override {
    rows_.phase(component, phase, message);
    const Row& r = rows_.at(component);
    nlohmann::json e = {{"event", "phase"}, {"component", component}, {"phase", phase_name(phase)}, {"message", message}};
    if (r.timed)
      e["elapsed_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                            (finished(phase) ? r.ended : Clock::now()) - r.started)
                            .count();
    emit(std::move(e));
  }
  void note(std::string_view component, std::string_view text) override {
    if (options_.verbose > 0) emit({{"event", "note"}, {"component", component}, {"message", text}});
  }
  void warn(std::string_view component, std::string_view text) override {
    emit({{"event", "warning"}, {"component", component}, {"message", text}});
  }
  void finish(const Summary& summary) override {
    nlohmann::json components = nlohmann::json::array();
    for (const auto& r : rows_.rows_)
      components.push_back({{"component", r.component}, {"phase", phase_name(r.phase)}, {"message", r.message}});
    emit({{"event", "summary"},
          {"operation", summary.operation},
          {"ok", summary.ok},
          {"exit_status", summary.exit_status},
          {"message", summary.message},
          {"components", components},
          {"next_steps", summary.next_steps}});
  }

 private:
  void emit(nlohmann::json event) {
    event["time"] = base::rfc3339_now();
    write_out(event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }
  ReporterOptions options_;
  Rows rows_;
};

// One live line per component, redrawn in place; a ticker keeps the elapsed
// times of running components moving.
class LiveReporter final : public Reporter {
 public:
  explicit LiveReporter(const ReporterOptions& o) : options_(o) {}
  ~LiveReporter() override { stop_ticker(); }

  void start(std::string_view, const std::vector<std::string>& components) override {
    std::lock_guard lock(mutex_);
    rows_.start(components);
    for (const auto& c : components) width_ = std::max(width_, c.size());
    draw();
    ticker_ = std::thread([this] {
      std::unique_lock held(mutex_);
      while (!stopping_) {
        wake_.wait_for(held, std::chrono::milliseconds(100));
        if (!stopping_) draw();
      }
    });
  }
  void phase(std::string_view component, Phase phase, std::string_view message) override {
    std::lock_guard lock(mutex_);
    rows_.phase(component, phase, message);
    width_ = std::max(width_, component.size());
    draw();
  }
  void note(std::string_view component, std::string_view text) override {
    if (options_.verbose == 0) return;
    std::lock_guard lock(mutex_);
    clear();
    write_out("  " + std::string(component) + ": " + base::printable(text) + "\n");
    drawn_ = 0;
    draw();
  }
  void warn(std::string_view component, std::string_view text) override {
    std::lock_guard lock(mutex_);
    clear();
    write_err(warning_line(component, text));
    drawn_ = 0;
    draw();
  }
  void finish(const Summary& summary) override {
    stop_ticker();
    std::lock_guard lock(mutex_);
    draw();
    write_out("\n" + (summary.message.empty() ? "" : summary.message + "\n") + next_steps_text(summary));
  }

 private:
  void stop_ticker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }
  void clear() {
    std::string out;
    for (std::size_t i = 0; i < drawn_; ++i) out += "\033[1A\033[2K";
    out += "\r";
    write_out(out);
  }
  void draw() {
    std::string out;
    for (std::size_t i = 0; i < drawn_; ++i) out += "\033[1A";
    out += "\r";
    const std::string reset = options_.color ? "\033[0m" : "";
    for (const auto& r : rows_.rows_) {
      out += "\033[2K  " + pad(r.component, width_ + 2) + color_of(r.phase, options_.color) +
             pad(std::string(phase_name(r.phase)), 10) + reset + pad(rows_.elapsed(r), 8) + r.message.substr(0, 100) + "\n";
    }
    drawn_ = rows_.rows_.size();
    write_out(out);
  }

  ReporterOptions options_;
  Rows rows_;
  std::size_t width_ = 0;
  std::size_t drawn_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace

std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::pending: return "pending";
    case Phase::running: return "running";
    case Phase::checking: return "checking";
    case Phase::ready: return "ready";
    case Phase::unchanged: return "unchanged";
    case Phase::failed: return "failed";
    case Phase::skipped: return "skipped";
    case Phase::removed: return "removed";
  }
  return "unknown";
}

std::unique_ptr<Reporter> make_reporter(const ReporterOptions& options) {
  switch (options.kind) {
    case ReporterKind::live: return std::make_unique<LiveReporter>(options);
    case ReporterKind::json: return std::make_unique<JsonReporter>(options);
    case ReporterKind::plain: break;
  }
  return std::make_unique<PlainReporter>(options);
}

}  // namespace harmony
