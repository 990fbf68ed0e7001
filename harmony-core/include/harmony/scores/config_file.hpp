#pragma once
// A file a component needs: written before the component's processes start
// (and part of their configuration when they list it as an input). Secret
// files are credentials: mode 0600, never printed, kept by destroy unless
// --purge.

#include <memory>
#include <string>

#include <harmony/capabilities.hpp>
#include <harmony/score.hpp>
#include <harmony/settings.hpp>

namespace harmony::scores {

class ConfigFile {
 public:
  struct Settings {
    std::string name;     // "nats.conf"
    std::string content;
    unsigned mode = 0644;
    bool secret = false;

    template <class V>
    void describe(V& v) {
      v("name", name, "the file's name");
      v("content", content, "what it holds");
      v("mode", mode, "its permission bits (decimal)", range(0, 07777));
      v("secret", secret, "whether it holds credentials (mode 0600, kept by destroy)");
    }
  };
  using capabilities = needs<capability::FileStorage>;

  explicit ConfigFile(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "file " + settings_.name; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires StoresFiles<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return std::make_unique<Write<T>>(settings_);
  }

 private:
  template <class T>
  struct Write final : Interpret<T> {
    explicit Write(Settings s) : settings(std::move(s)) {}
    Outcome execute(T& topology, const Inventory&, RunContext& ctx) override {
      FileDefinition file{settings.name, settings.content, settings.secret ? 0600u : settings.mode,
                          settings.secret ? FileKind::credential : FileKind::config};
      auto written = topology.files().ensure_file(ctx, file);
      if (!written) return Outcome::failure(written.error());
      return written->changed ? Outcome::success("wrote " + settings.name) : Outcome::no_change(settings.name + " unchanged");
    }
    Settings settings;
  };

  Settings settings_;
};

}  // namespace harmony::scores
