#pragma once
// The `local` topology: components run as processes on this machine, for
// real. There is no service manager underneath (systemd may not be PID 1):
// processes are started detached, tracked by identity (pid, start time, boot)
// and never restarted behind the user's back; the next deploy heals. After a
// reboot nothing runs until the next deploy.
//
// State lives in $XDG_STATE_HOME/harmony/<plugin>/local/ (mode 0700):
//
//   lock                               held by deploy and destroy
//   components/<c>/record.json         what was deployed, with which settings
//   components/<c>/processes/<p>.json  each process's identity and configuration hash
//   components/<c>/logs/<p>.log        its stdout and stderr
//   components/<c>/files/<name>        config files
//   components/<c>/published           the names of the files it published
//   <name>                             published files (a connection file)
//   components/<c>/work/               its working directory
//   credentials/<c>/<name>             secrets (0600): kept by destroy unless --purge
//   data/<c>/<name>/                   data: kept by destroy unless --purge

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/lock.hpp>
#include <harmony/capabilities.hpp>
#include <harmony/topology.hpp>

namespace harmony::topologies {

class Local final : public ProcessSupervisor, public FileStore {
 public:
  static constexpr std::string_view name = "local";
  static constexpr std::string_view description = "processes on this machine, started and tracked by harmony";

  explicit Local(const TopologyEnvironment& environment);

  // Creates the state directory and takes the stack's lock, waiting for
  // another deploy or destroy until the context's deadline (at most 2
  // minutes).
  base::expected<Outcome> ensure_ready(RunContext& ctx);

  ProcessSupervisor& processes() { return *this; }
  FileStore& files() { return *this; }
  [[nodiscard]] Endpoint endpoint(std::string_view component, std::uint16_t port) const;

  // TracksDeployments
  base::expected<void> record(RunContext& ctx, const ComponentRecord& record);
  [[nodiscard]] std::optional<ComponentRecord> recorded(std::string_view component) const;
  [[nodiscard]] std::vector<std::string> deployed_components() const;
  std::vector<ResourceState> resources(RunContext& ctx);
  base::expected<Outcome> destroy(RunContext& ctx, const DestroyOptions& options);
  // Stops and forgets the processes of ctx.component that this run did not ensure.
  base::expected<Outcome> prune(RunContext& ctx);
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> log_files(std::string_view component) const;

  // ProcessSupervisor
  Outcome ensure_process(RunContext& ctx, const ProcessDefinition& definition) override;
  [[nodiscard]] bool processes_running(std::string_view component) const override;
  [[nodiscard]] std::string log_tail(std::string_view component, std::size_t lines) const override;
  Outcome reload_process(RunContext& ctx, std::string_view component, std::string_view process) override;

  // FileStore
  base::expected<FileResult> ensure_file(RunContext& ctx, const FileDefinition& file) override;
  base::expected<std::string> ensure_secret(RunContext& ctx, std::string_view name,
                                            const std::function<std::string()>& generate) override;
  [[nodiscard]] std::string file_path(std::string_view component, std::string_view name) const override;
  [[nodiscard]] std::string credential_path(std::string_view component, std::string_view name) const override;
  [[nodiscard]] std::string work_dir(std::string_view component) const override;
  base::expected<std::string> data_dir(RunContext& ctx, std::string_view name) override;
  [[nodiscard]] const std::string& root() const { return root_; }

 private:
  [[nodiscard]] std::string component_dir(std::string_view component) const;
  void remove_if_last();

  std::string root_;
  std::string plugin_;
  std::optional<base::FileLock> lock_;
  std::map<std::string, std::set<std::string>, std::less<>> ensured_;  // component -> processes this run
};

}  // namespace harmony::topologies
