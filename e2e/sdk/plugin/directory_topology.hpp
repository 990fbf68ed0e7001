#pragma once
// A second topology for the test plugin, with a capability `local` lacks:
// it "deploys" manifests by writing them into a directory. It shows how a
// plugin adds its own capability and topology, and gives the capability
// errors a topology to point to ("topologies of this plugin that have it").

#include <filesystem>
#include <fstream>
#include <map>

#include <harmony/base/files.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/time.hpp>
#include <harmony/capabilities.hpp>
#include <harmony/topology.hpp>

namespace sdktest {

class ManifestSink {
 public:
  virtual ~ManifestSink() = default;
  virtual harmony::base::expected<bool> write_manifest(harmony::RunContext& ctx, const std::string& text) = 0;
};

template <class T>
concept WritesManifests = harmony::Topology<T> && requires(T& t) {
  { t.manifests() } -> std::same_as<ManifestSink&>;
};

struct ManifestWriting {
  static constexpr std::string_view name = "WritesManifests";
  template <class T>
  static constexpr bool provided_by = WritesManifests<T>;
};

class Directory final : public ManifestSink {
 public:
  static constexpr std::string_view name = "directory";
  static constexpr std::string_view description = "manifests written into a directory (a test topology)";

  explicit Directory(const harmony::TopologyEnvironment& env) : root_(harmony::base::join_path(env.state_root, "directory")) {}

  harmony::base::expected<harmony::Outcome> ensure_ready(harmony::RunContext&) {
    if (auto made = harmony::base::make_directories(root_, 0700); !made) return harmony::base::fail(made.error());
    return harmony::Outcome::no_change("ready");
  }
  ManifestSink& manifests() { return *this; }

  harmony::base::expected<bool> write_manifest(harmony::RunContext& ctx, const std::string& text) override {
    const std::string path = manifest(ctx.component);
    if (harmony::base::read_file(path).value_or("") == text) return false;
    if (auto written = harmony::base::write_file_atomically(path, text); !written) return harmony::base::fail(written.error());
    return true;
  }

  // TracksDeployments
  harmony::base::expected<void> record(harmony::RunContext&, const harmony::ComponentRecord& r) {
    return harmony::base::write_file_atomically(path(r.component, ".record"), r.deployed_at + "\n" + r.settings_json);
  }
  [[nodiscard]] std::optional<harmony::ComponentRecord> recorded(std::string_view component) const {
    auto text = harmony::base::read_file(path(component, ".record"));
    if (!text) return std::nullopt;
    auto nl = text->find('\n');
    return harmony::ComponentRecord{std::string(component), text->substr(nl + 1), text->substr(0, nl)};
  }
  [[nodiscard]] std::vector<std::string> deployed_components() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root_, ec))
      if (e.path().extension() == ".record") out.push_back(e.path().stem().string());
    return out;
  }
  std::vector<harmony::ResourceState> resources(harmony::RunContext& ctx) {
    const bool present = std::filesystem::exists(manifest(ctx.component));
    return {{"manifest", ctx.component, present, present ? "written" : "missing", {{"path", manifest(ctx.component)}}}};
  }
  harmony::base::expected<harmony::Outcome> destroy(harmony::RunContext& ctx, const harmony::DestroyOptions&) {
    std::error_code ec;
    std::filesystem::remove(manifest(ctx.component), ec);
    std::filesystem::remove(path(ctx.component, ".record"), ec);
    return harmony::Outcome::success("removed its manifest");
  }
  harmony::base::expected<harmony::Outcome> prune(harmony::RunContext&) { return harmony::Outcome::no_change("nothing to prune"); }
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> log_files(std::string_view) const { return {}; }

 private:
  [[nodiscard]] std::string path(std::string_view component, std::string_view suffix) const {
    return harmony::base::join_path(root_, std::string(component) + std::string(suffix));
  }
  [[nodiscard]] std::string manifest(std::string_view component) const { return path(component, ".yaml"); }
  std::string root_;
};

}  // namespace sdktest
