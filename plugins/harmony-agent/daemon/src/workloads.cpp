#include "workloads.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <harmony/base/files.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>

namespace harmony::agent::daemon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using contract::WorkloadPhase;
using namespace std::chrono_literals;

constexpr auto tick = 250ms;
// Containers are asked about less often: each question is a podman run.
constexpr auto container_check = 2s;
// A workload that ran this long before it ended restarts without delay.
constexpr auto ran_long_enough = 10s;
constexpr auto max_backoff = 60s;
// How long a running workload absent from a full read of desired state (but
// never deleted) is kept, until another full read confirms it.
constexpr auto confirm_absence = 10s;

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return std::string(s);
}

std::string key_of(const std::string& ns, const std::string& name) { return ns + "." + name; }

std::chrono::milliseconds backoff_delay(int n) {
  auto d = std::chrono::milliseconds(1000) * (1 << std::min(n, 6));
  return std::min<std::chrono::milliseconds>(d, max_backoff);
}

std::string policy_name(contract::RestartPolicy p) {
  switch (p) {
    case contract::RestartPolicy::always: return "always";
    case contract::RestartPolicy::on_failure: return "on-failure";
    case contract::RestartPolicy::never: return "no";
  }
  return "no";
}

base::Environment workload_environment(const contract::Labels& env) {
  base::Environment out;
  out.set("PATH", exec_path);
  out.set("LANG", "C.UTF-8");
  for (const auto& [k, v] : env) out.set(k, v);
  return out;
}

// The last non-empty line of a workload's log, for its failure message.
std::string last_line(const std::string& log_path) {
  auto text = base::read_file(log_path);
  if (!text) return {};
  std::string_view s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  const auto nl = s.rfind('\n');
  std::string line(nl == std::string_view::npos ? s : s.substr(nl + 1));
  return base::printable(std::string_view(line).substr(0, 300));
}

base::expected<base::ProcessResult> run_podman(const std::string& podman, std::vector<std::string> args) {
  args.insert(args.begin(), podman);
  base::ProcessSpec spec;
  spec.argv = std::move(args);
  spec.timeout = 60s;
  spec.output_limit = 64 * 1024;
  return base::run_process(spec);
}

}  // namespace

std::string container_name(const contract::DesiredState& desired) {
  return "fleet_" + desired.namespace_ + "_" + desired.name;
}

std::vector<std::string> podman_run_argv(const std::string& podman, const std::string& device,
                                         const contract::DesiredState& d) {
  const auto& c = *d.workload.container;
  std::vector<std::string> argv{podman, "run", "--detach", "--name", container_name(d),
                                "--label", "fleet.harmony.dev/device=" + device,
                                "--label", "fleet.harmony.dev/deployment=" + d.namespace_ + "/" + d.name,
                                "--label", "fleet.harmony.dev/revision=" + d.revision,
                                "--restart", policy_name(d.workload.restart_policy)};
  for (const auto& [k, v] : c.env) {
    argv.emplace_back("--env");
    argv.push_back(k + "=" + v);
  }
  if (!c.command.empty()) argv.push_back("--entrypoint=" + json(c.command).dump());
  argv.push_back(c.image);
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  return argv;
}

int run_workload(const std::string& exit_file, const std::vector<std::string>& argv) {
  base::ProcessSpec spec;
  spec.argv = argv;
  spec.stdout_mode = base::OutputMode::inherit;
  spec.stderr_mode = base::OutputMode::inherit;
  json out;
  int status = 0;
  auto result = base::run_process(spec);
  if (!result) {
    out = {{"end", "not_started"}, {"message", result.error().message + ": " + result.error().reason}};
    status = 127;
  } else if (result->end == base::ProcessResult::End::signaled) {
    out = {{"end", "signaled"}, {"signal", result->signal}, {"message", result->describe()}};
    status = 128 + result->signal;
  } else {
    out = {{"end", "exited"}, {"exit_code", result->exit_code}, {"message", result->describe()}};
    status = result->exit_code;
  }
  (void)base::write_file_atomically(exit_file, out.dump() + "\n", 0600);
  return status;
}

Workloads::Workloads(const Config& config, std::shared_ptr<spdlog::logger> log, Report report, Forget forget)
    : config_(config), log_(std::move(log)), report_(std::move(report)), forget_(std::move(forget)) {
  std::error_code ec;
  self_ = fs::read_symlink("/proc/self/exe", ec).string();
}

Workloads::~Workloads() { stop(); }

base::expected<void> Workloads::start() {
  std::error_code ec;
  // The default directory is the package's to make (postinst): an agent run
  // by hand does not leave /var/lib/fleet-agent behind.
  if (!config_.workloads_dir_set && !fs::is_directory(config_.workloads_dir, ec))
    return base::fail(base::make_error("no workloads directory", config_.workloads_dir + " does not exist",
                                       "install the fleet-agent package, or set workloads.directory"));
  fs::create_directories(config_.workloads_dir, ec);
  if (ec)
    return base::fail(base::make_error("cannot use workloads.directory " + config_.workloads_dir, ec.message(),
                                       "make it writable for the agent's user, or set workloads.directory"));
  fs::permissions(config_.workloads_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  adopt();
  supervisor_ = std::thread([this] { supervise(); });
  return {};
}

void Workloads::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
}

void Workloads::replace_all(const std::vector<contract::DesiredState>& all) {
  {
    std::lock_guard lock(mutex_);
    desired_.clear();
    for (const auto& d : all) desired_[key_of(d.namespace_, d.name)] = d;
    complete_ = true;
    ++snapshots_;
    changed_ = true;
  }
  wake_.notify_all();
}

void Workloads::put(const contract::DesiredState& desired) {
  {
    std::lock_guard lock(mutex_);
    desired_[key_of(desired.namespace_, desired.name)] = desired;
    changed_ = true;
  }
  wake_.notify_all();
}

void Workloads::remove(const std::string& namespace_, const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    desired_.erase(key_of(namespace_, name));
    removed_.insert(key_of(namespace_, name));
    changed_ = true;
  }
  wake_.notify_all();
}

void Workloads::report_all() {
  {
    std::lock_guard lock(mutex_);
    report_all_ = true;
  }
  wake_.notify_all();
}

bool Workloads::wants_resync() {
  std::lock_guard lock(mutex_);
  return std::exchange(resync_wanted_, false);
}

std::vector<contract::ReportedState> Workloads::states() {
  std::lock_guard lock(mutex_);
  return states_;
}

std::chrono::milliseconds Workloads::min_ready(const Workload& w) {
  return std::chrono::seconds(w.desired.min_ready_seconds);
}

std::string Workloads::path(const contract::DesiredState& d, std::string_view suffix) const {
  return config_.workloads_dir + "/" + key_of(d.namespace_, d.name) + std::string(suffix);
}

contract::ReportedState Workloads::state_of(const Workload& w) const {
  return {config_.device_id, w.desired.namespace_, w.desired.name, w.desired.revision,
          w.phase,           w.message,            w.restarts,       base::rfc3339_now()};
}

void Workloads::set_phase(Workload& w, WorkloadPhase phase, std::string message) {
  if (w.phase == phase && w.message == message) return;
  w.phase = phase;
  w.message = std::move(message);
  w.dirty = true;
}

// A process recorded by an earlier run of the agent: still running, it is
// ours again; ended, its record goes and desired state starts it anew.
void Workloads::adopt() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(config_.workloads_dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto text = base::read_file(entry.path().string());
    const auto record = text ? json::parse(*text, nullptr, false) : json();
    contract::DesiredState desired;
    if (!record.is_object() || !record.contains("desired") ||
        !contract::decode_desired_state(record["desired"].dump()).has_value()) {
      fs::remove(entry.path(), ec);
      continue;
    }
    desired = *contract::decode_desired_state(record["desired"].dump());
    Workload w;
    w.desired = desired;
    w.restarts = record.value("restarts", std::int64_t{0});
    base::ProcessIdentity id{record.value("pid", 0), record.value("start_ticks", std::uint64_t{0}), record.value("boot_id", "")};
    if (base::check_process(id) == base::Liveness::running) {
      w.process = id;
      // It has run for a while already: no minReadySeconds to wait out again.
      w.started = std::chrono::steady_clock::now() - std::chrono::hours(24);
      w.phase = WorkloadPhase::running;
      log_->info("adopted workload {}/{} (pid {}), started by an earlier run of the agent", desired.namespace_, desired.name, id.pid);
    } else {
      // It ended while the agent was away: start it again if still desired.
      fs::remove(entry.path(), ec);
      w.phase = WorkloadPhase::pending;
    }
    running_.emplace(key_of(desired.namespace_, desired.name), std::move(w));
  }
}

void Workloads::supervise() {
  while (true) {
    std::map<std::string, contract::DesiredState> desired;
    bool complete = false;
    std::uint64_t snapshot = 0;
    std::set<std::string> removed;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, tick, [&] { return stopping_ || changed_ || report_all_; });
      if (stopping_) return;
      desired = desired_;
      complete = complete_;
      snapshot = snapshots_;
      removed = std::exchange(removed_, {});
      changed_ = false;
      if (report_all_)
        for (auto& [k, w] : running_) w.dirty = true;
      report_all_ = false;
    }
    converge(std::move(desired), complete, snapshot, std::move(removed));
    if (!missing_.empty()) {
      std::lock_guard lock(mutex_);
      resync_wanted_ = true;
    }
    std::vector<contract::ReportedState> view;
    for (auto& [k, w] : running_) {
      view.push_back(state_of(w));
      if (!w.dirty) continue;
      w.dirty = false;
      report_(view.back());
    }
    std::lock_guard lock(mutex_);
    states_ = std::move(view);
  }
}

void Workloads::converge(std::map<std::string, contract::DesiredState> desired, bool complete, std::uint64_t snapshot,
                         std::set<std::string> removed) {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = running_.begin(); it != running_.end();) {
    auto want = desired.find(it->first);
    if (want == desired.end() && !complete) {
      ++it;  // adopted, and desired state not read yet
      continue;
    }
    if (want != desired.end()) {
      missing_.erase(it->first);
    } else if (!removed.contains(it->first)) {
      // Absent from a full read, never deleted: stopped only when a later
      // full read agrees, a while after.
      auto [m, first] = missing_.try_emplace(it->first, Missing{snapshot, now});
      if (first) log_->warn("workload {} is absent from desired state; stopping it if that is still so in {} s", it->first,
                            std::chrono::duration_cast<std::chrono::seconds>(confirm_absence).count());
      if (m->second.snapshot == snapshot || now - m->second.since < confirm_absence) {
        ++it;
        continue;
      }
    }
    missing_.erase(it->first);
    if (want != desired.end() && want->second.revision == it->second.desired.revision) {
      it->second.desired = want->second;  // a new generation with the same workload
      ++it;
      continue;
    }
    stop_workload(it->second);
    if (want == desired.end()) {
      log_->info("workload {}/{} is no longer desired: stopped", it->second.desired.namespace_, it->second.desired.name);
      forget_({config_.device_id, it->second.desired.namespace_, it->second.desired.name});
      it = running_.erase(it);
    } else {
      log_->info("workload {}/{}: revision {} replaces {}", want->second.namespace_, want->second.name,
                 want->second.revision, it->second.desired.revision);
      it->second = Workload{};
      it->second.desired = want->second;
      ++it;
    }
  }
  for (auto& [k, d] : desired)
    if (!running_.contains(k)) {
      Workload w;
      w.desired = d;
      running_.emplace(k, std::move(w));
    }
  for (auto& [k, w] : running_)
    if (desired.contains(k)) step(w);
}

void Workloads::step(Workload& w) {
  const auto now = std::chrono::steady_clock::now();
  if (w.terminal) return;
  if (w.desired.workload.process) {
    if (!w.process) {
      if (now >= w.restart_at) start_workload(w);
      return;
    }
    auto alive = base::check_process(*w.process);
    if (alive == base::Liveness::zombie) {
      // In a container the agent may be init: the wrapper is then its child.
      int ignored = 0;
      (void)::waitpid(w.process->pid, &ignored, WNOHANG);
    }
    if (alive == base::Liveness::running) {
      set_phase(w, now - w.started < min_ready(w) ? WorkloadPhase::pending : WorkloadPhase::running,
                now - w.started < min_ready(w) ? "started; running for less than minReadySeconds" : std::string());
      return;
    }
    w.process.reset();
    auto text = base::read_file(path(w.desired, ".exit"));
    const auto end = text ? json::parse(*text, nullptr, false) : json();
    std::error_code ec;
    fs::remove(path(w.desired, ".json"), ec);
    if (!end.is_object()) {
      ended(w, false, "ended without saying how (killed together with its supervisor?)");
      return;
    }
    std::string how = end.value("message", "ended");
    if (end.value("end", "") != "exited" || end.value("exit_code", -1) != 0) {
      if (auto line = last_line(path(w.desired, ".log")); !line.empty()) how += ": " + line;
    }
    ended(w, end.value("end", "") == "exited" && end.value("exit_code", -1) == 0, how);
    return;
  }
  // A container: podman restarts it by its policy; the agent watches.
  if (!w.container_started) {
    if (now >= w.restart_at) start_workload(w);
    return;
  }
  if (now - w.checked < container_check) return;
  w.checked = now;
  auto inspected = run_podman(config_.podman, {"inspect", "--format",
                                               "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}",
                                               container_name(w.desired)});
  if (!inspected || !inspected->ok()) {
    w.container_started = false;
    set_phase(w, WorkloadPhase::pending, "the container is gone; starting it again");
    return;
  }
  std::string status, code;
  std::int64_t restarts = 0;
  {
    std::istringstream in(inspected->out);
    in >> status >> code >> restarts;
  }
  if (restarts != w.restarts) {
    w.restarts = restarts;
    w.dirty = true;
  }
  if (status == "running" && now - w.started < min_ready(w))
    set_phase(w, WorkloadPhase::pending, "started; running for less than minReadySeconds");
  else if (status == "running") set_phase(w, WorkloadPhase::running, {});
  else if (status == "exited" && code == "0") set_phase(w, WorkloadPhase::completed, "exited with status 0");
  else if (status == "exited") set_phase(w, WorkloadPhase::failed, "exited with status " + code);
  else set_phase(w, WorkloadPhase::pending, "container " + status);
}

void Workloads::ended(Workload& w, bool succeeded, const std::string& how) {
  const auto policy = w.desired.workload.restart_policy;
  const auto now = std::chrono::steady_clock::now();
  const bool again = policy == contract::RestartPolicy::always || (!succeeded && policy == contract::RestartPolicy::on_failure);
  if (!again) {
    w.terminal = true;
    set_phase(w, succeeded ? WorkloadPhase::completed : WorkloadPhase::failed, how);
    log_->info("workload {}/{} {}", w.desired.namespace_, w.desired.name, how);
    return;
  }
  w.backoff = now - w.started >= ran_long_enough ? 0 : w.backoff + 1;
  const auto delay = w.backoff == 0 ? std::chrono::milliseconds(0) : backoff_delay(w.backoff - 1);
  w.restart_at = now + delay;
  set_phase(w, succeeded ? WorkloadPhase::running : WorkloadPhase::failed,
            how + "; starting it again" + (delay.count() ? " in " + base::format_duration(delay) : ""));
  log_->warn("workload {}/{} {}; restart in {} ms", w.desired.namespace_, w.desired.name, how, delay.count());
}

void Workloads::start_workload(Workload& w) {
  const auto& d = w.desired;
  const bool again = w.started != std::chrono::steady_clock::time_point{};
  w.started = std::chrono::steady_clock::now();
  if (d.workload.container) {
    auto existing = run_podman(config_.podman, {"inspect", "--format", "{{index .Config.Labels \"fleet.harmony.dev/revision\"}}",
                                                container_name(d)});
    if (!existing) {
      w.terminal = true;
      set_phase(w, WorkloadPhase::failed,
                "podman is not installed on this device (workloads.podman: " + config_.podman + "): " + existing.error().reason);
      return;
    }
    if (existing->ok() && trimmed(existing->out) == d.revision) {
      w.container_started = true;  // started by an earlier run of the agent
      return;
    }
    if (existing->ok()) (void)run_podman(config_.podman, {"rm", "--force", container_name(d)});
    auto argv = podman_run_argv(config_.podman, config_.device_id, d);
    argv.erase(argv.begin());
    auto ran = run_podman(config_.podman, argv);
    if (!ran || !ran->ok()) {
      w.restart_at = w.started + backoff_delay(w.backoff++);
      set_phase(w, WorkloadPhase::failed,
                "podman run failed: " + (ran ? base::printable(trimmed(ran->err)) : ran.error().message));
      return;
    }
    w.container_started = true;
    set_phase(w, WorkloadPhase::pending, "container started");
    return;
  }
  const auto& p = *d.workload.process;
  std::error_code ec;
  fs::remove(path(d, ".exit"), ec);
  std::vector<std::string> argv{self_, "--run-workload", path(d, ".exit"), "--", p.command};
  argv.insert(argv.end(), p.args.begin(), p.args.end());
  base::DetachedSpec spec{argv, workload_environment(p.env), "/", path(d, ".log")};
  const std::int64_t restarts = w.restarts + (again ? 1 : 0);
  auto started = base::spawn_detached(spec, [&](const base::ProcessIdentity& id) -> base::expected<void> {
    json record{{"desired", json::parse(contract::encode(d))},
                {"pid", id.pid},
                {"start_ticks", id.start_ticks},
                {"boot_id", id.boot_id},
                {"restarts", restarts}};
    return base::write_file_atomically(path(d, ".json"), record.dump() + "\n", 0600);
  });
  if (!started) {
    w.terminal = true;
    set_phase(w, WorkloadPhase::failed, started.error().message + ": " + started.error().reason);
    return;
  }
  w.process = *started;
  if (w.restarts != restarts) {
    w.restarts = restarts;
    w.dirty = true;
  }
  log_->info("workload {}/{} started (pid {}, revision {})", d.namespace_, d.name, started->pid, d.revision);
  set_phase(w, min_ready(w).count() > 0 ? WorkloadPhase::pending : WorkloadPhase::running,
            min_ready(w).count() > 0 ? "started; running for less than minReadySeconds" : std::string());
}

void Workloads::stop_workload(Workload& w) {
  std::error_code ec;
  if (w.process) {
    (void)base::terminate_process(*w.process, config_.workloads_stop_grace);
    int ignored = 0;
    (void)::waitpid(w.process->pid, &ignored, WNOHANG);
    w.process.reset();
  }
  if (w.container_started || w.desired.workload.container) {
    (void)run_podman(config_.podman, {"rm", "--force", "--time",
                                      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(config_.workloads_stop_grace).count()),
                                      container_name(w.desired)});
    w.container_started = false;
  }
  for (const char* suffix : {".json", ".exit", ".log"}) fs::remove(path(w.desired, suffix), ec);
}

}  // namespace harmony::agent::daemon
