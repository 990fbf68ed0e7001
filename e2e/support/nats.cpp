#include "nats.hpp"

#include <thread>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

#include <nats/nats.h>

#include <harmony/base/files.hpp>

#include "eventually.hpp"

namespace harmony::e2e {

std::optional<std::string> NatsServer::program() {
  if (const char* named = std::getenv("HARMONY_E2E_NATS_SERVER"); named != nullptr && *named != '\0') {
    if (::access(named, X_OK) != 0) return std::nullopt;
    return std::string(named);
  }
  return base::find_program("nats-server", "/usr/bin:/usr/sbin:/usr/local/bin:/bin");
}

NatsServer::NatsServer(testing::Sandbox& box, Options options) : box_(box), options_(std::move(options)) {
  box_.make_dir("nats", 0700);
  write_config();
}

void NatsServer::reconfigure(Options options) {
  options_ = std::move(options);
  write_config();
}

void NatsServer::write_config() {
  // -1: nats-server picks a free port; later starts keep the one it picked.
  std::string conf = "listen: 127.0.0.1:" + (port_ == 0 ? std::string("-1") : std::to_string(port_)) + "\n";
  if (options_.jetstream) conf += "jetstream { store_dir: \"" + box_.path("nats/js") + "\" }\n";
  if (!options_.users.empty()) {
    conf += "authorization {\n  users = [\n";
    for (const auto& u : options_.users) {
      conf += "    { user: \"" + u.name + "\", password: \"" + u.password + "\" }\n";
      box_.write("nats", u.name + ".password", u.password + "\n", 0600);
    }
    conf += "  ]\n}\n";
  }
  conf += options_.extra;
  config_ = box_.write("nats", "nats.conf", conf, 0600);
}

NatsServer::~NatsServer() {
  if (process_) (void)base::terminate_process(*process_, std::chrono::seconds(2));
}

std::uint16_t NatsServer::port() const {
  // Not a Catch assertion: tests call this from their own threads too.
  if (port_ == 0) throw std::logic_error("nats-server's port is known once it has started");
  return port_;
}

std::string NatsServer::url() const { return "nats://127.0.0.1:" + std::to_string(port()); }

std::string NatsServer::password_file(const std::string& user) const { return box_.path("nats/" + user + ".password"); }

std::string NatsServer::log() const { return base::read_file(box_.path("nats/nats.log"), 1 << 22).value_or(""); }

void NatsServer::start() {
  // Started again on its port after an outage, it may find the port taken
  // for a moment: another test's connection can get it as its own local
  // port meanwhile. Such a start is tried again, for a few seconds.
  for (int attempt = 1;; ++attempt) {
    if (start_once() || attempt == 10) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

bool NatsServer::start_once() {
  auto server = options_.program.empty() ? program() : std::optional<std::string>(options_.program);
  REQUIRE(server);
  REQUIRE_FALSE(process_);
  const std::size_t before = log().size();
  base::DetachedSpec spec;
  spec.argv = {*server, "-c", config_};
  spec.log_path = box_.path("nats/nats.log");
  auto started = base::spawn_detached(spec, [](const base::ProcessIdentity&) { return base::expected<void>{}; });
  REQUIRE(started);
  process_ = *started;
  // A loaded machine can take seconds; the log says when it is up, or why not.
  const bool ready = testing::eventually(
      [&] {
        return log().find("Server is ready", before) != std::string::npos ||
               base::check_process(*process_) != base::Liveness::running;
      },
      std::chrono::seconds(20));
  const std::string said = log().substr(before);
  if (port_ != 0 && said.find("address already in use") != std::string::npos &&
      base::check_process(*process_) != base::Liveness::running) {
    process_.reset();
    return false;
  }
  if (!ready || said.find("Server is ready") == std::string::npos)
    FAIL("nats-server did not start" << (port_ != 0 ? " on port " + std::to_string(port_) : std::string()) << ":\n" << said);
  if (port_ == 0) {
    constexpr std::string_view listening = "Listening for client connections on 127.0.0.1:";
    const auto at = said.find(listening);
    REQUIRE(at != std::string::npos);
    port_ = static_cast<std::uint16_t>(std::stoi(said.substr(at + listening.size())));
    write_config();
  }
  return true;
}

void NatsServer::kill() {
  REQUIRE(process_);
  ::kill(process_->pid, SIGKILL);
  REQUIRE(testing::eventually([&] { return base::check_process(*process_) != base::Liveness::running; }));
  process_.reset();
}

natsConnection* nats_connect(const std::string& url, const std::string& user, const std::string& password,
                             const std::string& inbox) {
  natsOptions* options = nullptr;
  if (natsOptions_Create(&options) != NATS_OK) return nullptr;
  if (!inbox.empty()) natsOptions_SetCustomInboxPrefix(options, inbox.c_str());
  natsOptions_SetURL(options, url.c_str());
  natsOptions_SetUserInfo(options, user.c_str(), password.c_str());
  natsOptions_SetAllowReconnect(options, false);
  natsConnection* connection = nullptr;
  if (natsConnection_Connect(&connection, options) != NATS_OK) connection = nullptr;
  natsOptions_Destroy(options);
  return connection;
}

}  // namespace harmony::e2e
