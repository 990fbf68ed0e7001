// harmony-myapp: a third-party harmony plugin, made from the SDK's template
// (`harmony plugin new myapp`). It deploys myapp-server with a config file,
// and blocks until it answers:
//
//   harmony deploy myapp --set myapp.port=8081 --set myapp.greeting=hi
//   harmony myapp status
//   harmony destroy myapp
//
// Its component is a MyAppScore composed of the SDK's core Scores.

#include <harmony/plugin.hpp>
#include <harmony/scores/config_file.hpp>
#include <harmony/scores/local_process.hpp>
#include <harmony/scores/readiness.hpp>
#include <harmony/topologies/local.hpp>

namespace myapp {

using namespace harmony;

class MyAppScore {
 public:
  struct Settings {
    Port port{8080};
    std::string greeting = "hello from myapp";

    template <class V>
    void describe(V& v) {
      v("port", port, "the HTTP port myapp-server listens on (127.0.0.1)");
      v("greeting", greeting, "what GET / answers");
    }
  };
  // What a topology must offer; the compiler checks it against the constraint below.
  using capabilities = needs<capability::ProcessSupervision, capability::FileStorage, capability::EndpointReach>;

  explicit MyAppScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "myapp"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && ReachesEndpoints<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return parts<T>().interpret();
  }
  // Deploy blocks on this: the server answers /health, then the greeting.
  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && ReachesEndpoints<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return parts<T>().smoke_test();
  }

 private:
  template <class T>
  Composition<T> parts() const {
    const Settings& s = settings_;
    Composition<T> c;
    c.add("greeting", scores::ConfigFile({"greeting.txt", s.greeting + "\n", 0644, false}));
    c.add("server",
          scores::LocalProcess({"myapp-server",
                                "myapp-server",
                                {"--port", std::to_string(s.port.value), "--greeting-file", "{file:greeting.txt}"},
                                {},
                                {{"http", std::to_string(s.port.value)}},
                                {"{file:greeting.txt}"}}),
          {"greeting"});
    c.add("health", scores::HttpReady({s.port, "/health", "ok"}), {"server"});
    c.add("greets", scores::HttpReady({s.port, "/", s.greeting}), {"health"});
    return c;
  }
  Settings settings_;
};

}  // namespace myapp

int main(int argc, char** argv) {
  harmony::Plugin<harmony::topologies::Local> plugin({"myapp", "0.1.0", "Deploys myapp-server (made from the harmony plugin template)"});
  plugin.component<myapp::MyAppScore>("myapp", "myapp-server, its greeting file and its readiness checks");
  return plugin.run(argc, argv);
}
