#include <harmony/fleet/stack.hpp>

#include <algorithm>
#include <filesystem>

#include <harmony/agent/client.hpp>
#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/process.hpp>
#include <harmony/base/secrets.hpp>
#include <harmony/callout/nkeys.hpp>
#include <harmony/base/text.hpp>
#include <harmony/kube/transport.hpp>
#include <harmony/checks.hpp>
#include <harmony/errors.hpp>
#include <harmony/fleet/config.hpp>

#include "internal.hpp"

namespace harmony::fleet {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Readiness is polled often: a cold deploy is a few hundred milliseconds.
constexpr auto poll = 5ms;

using detail::failed;

using detail::ensure_buckets;
using detail::for_component;

}  // namespace

base::expected<std::vector<std::string>> detail::ensure_buckets(agent::Client& client) {
  std::vector<std::string> created;
  for (const auto& bucket : fleet_buckets()) {
    auto made = client.ensure_bucket(bucket.name, bucket.description);
    if (!made) return base::fail(made.error());
    if (*made) created.emplace_back(bucket.name);
  }
  return created;
}

// nats.auth=callout needs nats-server 2.10: Debian 12's 2.9 has no auth
// callout and would refuse the configuration, after harmony stopped NATS.
base::expected<void> detail::supports_callout(const std::string& program) {
  base::ProcessSpec spec;
  spec.argv = {program, "--version"};
  spec.timeout = 10s;
  auto r = base::run_process(spec);
  const auto lines = r ? base::split_lines(r->out + r->err) : std::vector<std::string>{};
  const std::string said = lines.empty() ? std::string() : lines.front();
  int major = 0, minor = 0;
  if (const auto v = said.find(" v"); v != std::string::npos) std::sscanf(said.c_str() + v + 2, "%d.%d", &major, &minor);
  if (major > 2 || (major == 2 && minor >= 10)) return {};
  return base::fail(failed(base::exit_status::invalid_settings, "nats.auth=callout needs nats-server 2.10 or later",
                           program + " says '" + base::printable(said.substr(0, 80)) +
                               "' (Debian 12's 2.9 has no auth callout)",
                           "set nats.program to a nats-server 2.10+ (go install github.com/nats-io/nats-server/v2@latest), "
                           "or keep nats.auth=user_password"));
}

base::expected<detail::CalloutKeys> detail::callout_keys(const EnsureSecret& ensure) {
  auto password = ensure(callout_password_file, generate_password);
  if (!password) return base::fail(password.error());
  auto issuer_seed = ensure(callout_issuer_seed_file, [] { return callout::KeyPair::generate(callout::KeyKind::account).seed(); });
  if (!issuer_seed) return base::fail(issuer_seed.error());
  auto xkey_seed = ensure(callout_xkey_seed_file, [] { return callout::XKey::generate().seed(); });
  if (!xkey_seed) return base::fail(xkey_seed.error());
  auto issuer = callout::KeyPair::from_seed(*issuer_seed);
  auto xkey = callout::XKey::from_seed(*xkey_seed);
  if (!issuer || !xkey)
    return base::fail(failed(base::exit_status::deploy_failed, "the auth callout's keys cannot be read",
                             std::string(callout_issuer_seed_file) + " or " + std::string(callout_xkey_seed_file) +
                                 " among NATS's credentials holds no seed",
                             "remove both (agents keep their tokens; the callout gets new keys at the next deploy of nats)"));
  return CalloutKeys{issuer->public_key(), xkey->public_key(), *password};
}

namespace {

base::expected<std::string> read_password(const std::string& path, std::string_view whose) {
  auto password = base::read_secret_file(path, "the NATS password file");
  if (!password)
    return base::fail(failed(base::exit_status::deploy_failed, "cannot read the NATS password of " + std::string(whose),
                             password.error().message + ": " + password.error().reason,
                             password.error().insecure ? password.error().hint
                                                       : "deploy the fleet's NATS again: harmony deploy fleet nats"));
  return *password;
}

std::string nats_credential(FileStore& files, std::string_view name) {
  return files.credential_path(nats_component, name);
}

// The devices that have a NATS user: their password files.
std::vector<std::string> devices_with_users(FileStore& files) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base::parent_dir(nats_credential(files, operator_password_file)), ec))
    if (auto id = device_of_password_file(entry.path().filename().string())) out.push_back(*id);
  std::sort(out.begin(), out.end());
  return out;
}

// Rewrites the accounts file from the operator's and the agents' password
// files: true when it changed. `nats_ctx` is a context of the nats component.
// Under the callout, agents are not in it: the callout admits them.
base::expected<bool> write_accounts(FileStore& files, RunContext& nats_ctx, NatsAuth auth) {
  std::optional<std::string> callout_password;
  if (auth == NatsAuth::callout) {
    auto password = files.ensure_secret(nats_ctx, callout_password_file, generate_password);
    if (!password) return base::fail(password.error());
    callout_password = *password;
  }
  auto operator_password = files.ensure_secret(nats_ctx, operator_password_file, generate_password);
  if (!operator_password) return base::fail(operator_password.error());
  auto controller_password = files.ensure_secret(nats_ctx, controller_password_file, generate_password);
  if (!controller_password) return base::fail(controller_password.error());
  std::vector<NatsUser> users{{std::string(operator_user), *operator_password, ""},
                              {std::string(controller_user), *controller_password, "", true}};
  if (callout_password) users.push_back({std::string(callout_user), *callout_password, "", false, true});
  for (const auto& id : auth == NatsAuth::callout ? std::vector<std::string>{} : devices_with_users(files)) {
    auto password = read_password(nats_credential(files, agent_password_file(id)), "agent " + id);
    if (!password) return base::fail(password.error());
    users.push_back({agent_user(id), *password, id});
  }
  auto written = files.ensure_file(nats_ctx, {std::string(accounts_file), render_accounts(users), 0600, FileKind::credential});
  if (!written) return base::fail(written.error());
  return written->changed;
}

agent::Connection login(const NatsSettings& nats, std::string user, std::string password) {
  return agent::Connection{{client_url(nats)}, std::move(user), std::move(password), "the fleet's local state"};
}

base::expected<agent::Connection> operator_login(const NatsSettings& nats, FileStore& files) {
  auto password = read_password(nats_credential(files, operator_password_file), "the operator");
  if (!password) return base::fail(password.error());
  return login(nats, std::string(operator_user), *password);
}

// Gives up waiting when the processes of the component (or of one it
// needs) are gone, with their log.
checks::WaitOptions watching(ProcessSupervisor& processes, std::vector<std::string> components) {
  checks::WaitOptions options;
  options.interval = poll;
  options.gave_up = [&processes, components]() -> std::optional<std::string> {
    for (const auto& component : components)
      if (!processes.processes_running(component))
        return "a process of " + component + " is not running; the end of its log:\n" + processes.log_tail(component, 12);
    return std::nullopt;
  };
  return options;
}

// The agents are reached through NATS: with nats-server down they may well
// run, and only their smoke test fails. Saying they stopped would send the
// user to the wrong log.
base::Error nats_unreachable(ProcessSupervisor& processes) {
  return failed(base::exit_status::smoke_test_failed, "NATS is unreachable, so no agent can be pinged",
                "a process of nats is not running; the end of its log:\n" + processes.log_tail(nats_component, 12),
                "deploy it again: harmony deploy fleet nats");
}

base::expected<void> nats_answers(const NatsSettings& s, const agent::Connection& operator_connection) {
  const std::string health = "http://127.0.0.1:" + std::to_string(s.monitor_port.value) + "/healthz";
  if (auto ok = checks::http_get(health, {200, 299, "ok"}, 1s); !ok) return ok;
  auto client = agent::Client::connect(operator_connection, 1s);
  if (!client) return base::fail(client.error());
  return {};
}

Outcome merged(std::vector<Outcome> parts, std::string changed_message, std::string unchanged_message) {
  bool changed = false;
  for (const auto& o : parts) changed = changed || o.changed();
  return changed ? Outcome::success(std::move(changed_message)) : Outcome::no_change(std::move(unchanged_message));
}

}  // namespace

base::expected<NatsSettings> deployed_nats(const std::optional<ComponentRecord>& record) {
  if (!record)
    return base::fail(failed(base::exit_status::deploy_failed, "the fleet's NATS is not deployed",
                             "the agents and the callout connect to it", "deploy it first: harmony deploy fleet nats"));
  auto node = settings::Node::from_json(record->settings_json);
  NatsSettings s;
  if (!node || !settings::load(*node, nats_component, s).empty())
    return base::fail(failed(base::exit_status::deploy_failed, "the fleet's NATS deployment record cannot be read",
                             "it was written by another version of harmony-fleet", "deploy it again: harmony deploy fleet nats"));
  return s;
}

Outcome deploy_nats(const NatsSettings& s, ProcessSupervisor& processes, FileStore& files, RunContext& ctx) {
  if (!is_loopback(s.listen))
    ctx.warn("NATS listens on " + s.listen + ":" + std::to_string(s.client_port.value) +
             ": other machines can reach it, and its traffic is unencrypted until TLS exists");
  auto program = find_program(s.program, "nats.program", "install it (apt-get install nats-server)");
  if (!program) return Outcome::failure(program.error());

  std::optional<CalloutServer> callout;
  if (s.auth == NatsAuth::callout) {
    if (auto ok = detail::supports_callout(*program); !ok) return Outcome::failure(ok.error());
    auto keys = detail::callout_keys([&](std::string_view name, const std::function<std::string()>& make) {
      return files.ensure_secret(ctx, name, make);
    });
    if (!keys) return Outcome::failure(keys.error());
    callout = CalloutServer{keys->issuer, keys->xkey};
  }
  auto accounts_changed = write_accounts(files, ctx, s.auth);
  if (!accounts_changed) return Outcome::failure(accounts_changed.error());
  auto store = files.data_dir(ctx, "jetstream");
  if (!store) return Outcome::failure(store.error());
  // nats-server resolves an include relative to the including file.
  const std::string config_path = files.file_path(nats_component, "nats.conf");
  const std::string include =
      fs::path(nats_credential(files, accounts_file)).lexically_relative(fs::path(config_path).parent_path()).string();
  auto config = files.ensure_file(ctx, {"nats.conf", render_nats_config(s, *store, include, callout ? &*callout : nullptr), 0600,
                                         FileKind::config});
  if (!config) return Outcome::failure(config.error());

  ProcessDefinition server;
  server.name = std::string(nats_process);
  server.argv = {*program, "-c", config->path};
  server.ports = {{"client", s.client_port.value, s.listen}, {"monitor", s.monitor_port.value, "127.0.0.1"}};
  server.inputs = {config->path};
  Outcome process = processes.ensure_process(ctx, server);
  if (process.failed()) return process;
  std::vector<Outcome> parts{process};
  if (!process.changed() && *accounts_changed) parts.push_back(processes.reload_process(ctx, nats_component, nats_process));

  // The KV bucket needs a running server.
  auto operator_connection = operator_login(s, files);
  if (!operator_connection) return Outcome::failure(operator_connection.error());
  if (auto up = checks::wait_until(ctx, "nats-server answers", [&] { return nats_answers(s, *operator_connection); },
                                   watching(processes, {std::string(nats_component)}));
      !up)
    return Outcome::failure(up.error());
  auto client = agent::Client::connect(*operator_connection, 2s);
  if (!client) return Outcome::failure(client.error());
  auto created = ensure_buckets(*client);
  if (!created) return Outcome::failure(created.error());
  if (!created->empty()) {
    ctx.note("created the KV buckets " + base::join(*created, ", "));
    parts.push_back(Outcome::success("created the KV buckets"));
  }

  auto published = files.ensure_file(
      ctx, {std::string(connection_file),
            agent::connection_file_text({client_url(s)}, std::string(operator_user), nats_credential(files, operator_password_file)),
            0600, FileKind::published});
  if (!published) return Outcome::failure(published.error());
  if (published->changed || config->changed || *accounts_changed) parts.push_back(Outcome::success("configuration written"));

  Outcome out = merged(parts, process.changed() ? process.message : "nats-server's accounts or files changed", process.message);
  out.detail("summary", "nats-server on " + client_url(s) + ", monitor http://127.0.0.1:" + std::to_string(s.monitor_port.value) +
                            ", JetStream on");
  out.detail("next", "harmony fleet connect-info");
  for (const auto& [k, v] : process.details) out.detail(k, v);
  return out;
}

base::expected<void> check_nats(const NatsSettings& s, ProcessSupervisor& processes, FileStore& files, RunContext& ctx) {
  auto operator_connection = operator_login(s, files);
  if (!operator_connection) return base::fail(operator_connection.error());
  return checks::wait_until(ctx, "nats-server's health endpoint and an operator login",
                            [&] { return nats_answers(s, *operator_connection); }, watching(processes, {ctx.component}));
}

base::expected<std::string> detail::agent_token_dir(const AgentSettings& s, const std::optional<ComponentRecord>& callout_record) {
  if (!s.token_dir.empty()) {
    const std::string dir = fs::absolute(s.token_dir).lexically_normal().string();
    for (const auto& id : s.device_ids()) {
      const std::string file = base::join_path(dir, id + ".token");
      if (auto token = base::read_secret_file(file, "agent " + id + "'s token file"); !token)
        return base::fail(failed(base::exit_status::deploy_failed, "agent " + id + " has no token to log in with",
                                 token.error().message + ": " + token.error().reason,
                                 token.error().insecure ? token.error().hint
                                                        : "put the token your identity provider issued for device-" + id +
                                                              " in " + file + " (mode 0600), and keep it fresh"));
    }
    return dir;
  }
  CalloutSettings callout;
  bool read = false;
  if (callout_record)
    if (auto node = settings::Node::from_json(callout_record->settings_json))
      read = settings::load(*node, callout_component, callout).empty();
  if (!read || !callout.admit_passwords)
    return base::fail(failed(base::exit_status::invalid_settings, "the agents have no way to log in",
                             std::string("nats.auth is callout, agent.token_dir is not set, and ") +
                                 (callout_record ? "the callout does not admit passwords" : "the callout is not deployed"),
                             "give each agent a token: --set agent.token_dir=DIR (DIR/<id>.token); while migrating, "
                             "deploy the callout with --set callout.admit_passwords=true (docs/fleet-callout.md)"));
  return std::string();
}

Outcome deploy_agents(const AgentSettings& s, const std::optional<ComponentRecord>& nats_record,
                      const std::optional<ComponentRecord>& callout_record, ProcessSupervisor& processes, FileStore& files,
                      RunContext& ctx) {
  auto nats = deployed_nats(nats_record);
  if (!nats) return Outcome::failure(nats.error());
  std::string token_dir;
  if (nats->auth == NatsAuth::callout) {
    auto dir = detail::agent_token_dir(s, callout_record);
    if (!dir) return Outcome::failure(dir.error());
    token_dir = *dir;
  }
  auto program = find_program(s.program, "agent.program", "build harmony (scripts/build) or install its agent package");
  if (!program) return Outcome::failure(program.error());
  const std::vector<std::string> ids = s.device_ids();

  // A NATS user per agent: new ones get a password, removed ones lose theirs.
  RunContext nats_ctx = for_component(ctx, nats_component);
  std::vector<std::string> added;
  for (const auto& id : ids) {
    const bool had = fs::exists(nats_credential(files, agent_password_file(id)));
    auto password = files.ensure_secret(nats_ctx, agent_password_file(id), generate_password);
    if (!password) return Outcome::failure(password.error());
    if (!had) added.push_back(id);
  }
  for (const auto& id : devices_with_users(files)) {
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) continue;
    std::error_code ec;
    fs::remove(nats_credential(files, agent_password_file(id)), ec);
    ctx.note("removed the NATS user of " + id);
  }
  auto accounts_changed = write_accounts(files, nats_ctx, nats->auth);
  if (!accounts_changed) return Outcome::failure(accounts_changed.error());
  std::vector<Outcome> parts;
  if (*accounts_changed) {
    Outcome reload = processes.reload_process(ctx, nats_component, nats_process);
    if (reload.failed()) return reload;
    parts.push_back(reload);
    // The reload is asynchronous: wait until a new agent's user can log in,
    // so that agents connect at their first attempt.
    if (reload.changed() && !added.empty()) {
      auto password = read_password(nats_credential(files, agent_password_file(added.back())), "agent " + added.back());
      if (!password) return Outcome::failure(password.error());
      const auto connection = login(*nats, agent_user(added.back()), *password);
      RunContext bounded = ctx;
      bounded.deadline = std::min(ctx.deadline, Clock::now() + 5s);
      auto reloaded = checks::wait_until(
          bounded, "NATS knows the new agents' users",
          [&]() -> base::expected<void> {
            auto c = agent::Client::connect(connection, 1s);
            if (!c) return base::fail(c.error());
            return {};
          },
          {poll, {}});
      if (!reloaded) ctx.warn("NATS did not accept the new agents' users yet; they will keep trying");
    }
  }

  std::size_t started = 0;
  for (const auto& id : ids) {
    const std::string password_file = nats_credential(files, agent_password_file(id));
    AgentLogin credentials{password_file, {}};
    if (!token_dir.empty()) credentials = {{}, base::join_path(token_dir, id + ".token")};
    auto config = files.ensure_file(
        ctx, {id + ".yaml", render_agent_config(s, id, client_url(*nats), credentials, {},
                                                     files.work_dir(agent_component) + "/" + id),
                0600, FileKind::config});
    if (!config) return Outcome::failure(config.error());
    ProcessDefinition agent;
    agent.name = id;
    agent.argv = {*program, "--config", config->path};
    agent.inputs = {config->path};
    Outcome o = processes.ensure_process(ctx, agent);
    if (o.failed()) return o;
    if (o.changed()) ++started;
    parts.push_back(std::move(o));
  }
  const std::string n = std::to_string(ids.size()) + (ids.size() == 1 ? " agent" : " agents");
  Outcome out = merged(parts, started > 0 ? "started or restarted " + std::to_string(started) + " of " + n : n + "; accounts updated",
                       n + " running, unchanged");
  out.detail("summary", n + " (" + base::join(ids, ", ") + ") on " + client_url(*nats));
  out.detail("next", "harmony agent list");
  out.detail("next", "harmony agent ping " + ids.front());
  if (!s.exec_allow.empty()) out.detail("next", "harmony agent exec " + ids.front() + " -- " + s.exec_allow.front());
  return out;
}

base::expected<void> check_agents(const AgentSettings& s, const std::optional<ComponentRecord>& nats_record,
                                  ProcessSupervisor& processes, FileStore& files, RunContext& ctx) {
  auto nats = deployed_nats(nats_record);
  if (!nats) return base::fail(nats.error());
  if (!processes.processes_running(nats_component)) return base::fail(nats_unreachable(processes));
  auto operator_connection = operator_login(*nats, files);
  if (!operator_connection) return base::fail(operator_connection.error());
  std::optional<agent::Client> client;
  for (const auto& id : s.device_ids()) {
    auto answered = checks::wait_until(
        ctx, "agent " + id + " answers a ping",
        [&]() -> base::expected<void> {
          if (!client) {
            auto c = agent::Client::connect(*operator_connection, 1s);
            if (!c) return base::fail(c.error());
            client.emplace(std::move(*c));
          }
          auto pong = client->ping(id, 1s);
          if (!pong) {
            if (pong.error().status == base::exit_status::unreachable && pong.error().message.find("offline") == std::string::npos)
              client.reset();  // the connection itself is gone: make a new one
            return base::fail(pong.error());
          }
          return {};
        },
        watching(processes, {ctx.component, std::string(nats_component)}));
    if (!answered && !processes.processes_running(nats_component)) return base::fail(nats_unreachable(processes));
    if (!answered) return answered;
  }
  return {};
}

std::optional<Outcome> detail::callout_not_deployed(const CalloutSettings& s, const NatsSettings& nats) {
  if (nats.auth != NatsAuth::callout) {
    Outcome out = Outcome::no_change("not needed: the fleet's NATS uses nats.auth=user_password");
    out.detail("next", "harmony deploy fleet nats callout agent --set nats.auth=callout --set callout.issuer_url=... "
                       "(docs/fleet-callout.md, \"Moving a fleet to the callout\")");
    return out;
  }
  if (s.issuer_url.empty())
    return Outcome::failure(failed(base::exit_status::invalid_settings, "callout.issuer_url is not set",
                                   "the callout checks tokens against an identity provider, and none is named or deployed here",
                                   "name yours: --set callout.issuer_url=https://... --set callout.audience=PROJECT_ID, or on "
                                   "Kubernetes deploy Zitadel first: harmony deploy fleet zitadel callout"));
  return std::nullopt;
}

void detail::describe_callout(Outcome& out, const CalloutSettings& s) {
  out.detail("summary", "fleet-callout answers NATS's logins with tokens of " + s.issuer_url +
                            (s.admit_passwords ? "; agents' passwords admitted too (migrating)" : ""));
  out.detail("next", "harmony deploy fleet agent --set agent.token_dir=DIR");
}

Outcome deploy_callout(const CalloutSettings& s, const std::optional<ComponentRecord>& nats_record,
                       ProcessSupervisor& processes, FileStore& files, RunContext& ctx) {
  auto nats = deployed_nats(nats_record);
  if (!nats) return Outcome::failure(nats.error());
  if (auto stop = detail::callout_not_deployed(s, *nats)) return *stop;
  // fleet-callout would refuse it at its start: outside a pod the name of a
  // Service means whatever the resolver makes of it.
  if (kube::is_cluster_service_http_url(s.issuer_fetch_url))
    return Outcome::failure(failed(base::exit_status::invalid_settings,
                                   "callout.issuer_fetch_url names a Service of a cluster, and the callout runs on this machine",
                                   "plain http to a Service is for a callout in a pod of that cluster",
                                   "give the provider's https URL, or deploy the callout on Kubernetes"));
  auto program = find_program(s.program, "callout.program", "build harmony (scripts/build) or install its fleet package");
  if (!program) return Outcome::failure(program.error());
  for (auto name : {callout_password_file, callout_issuer_seed_file, callout_xkey_seed_file})
    if (!fs::exists(nats_credential(files, name)))
      return Outcome::failure(failed(base::exit_status::deploy_failed, "the auth callout's keys are missing",
                                     nats_credential(files, name) + " does not exist; the deploy of nats makes them",
                                     "deploy it again: harmony deploy fleet nats callout"));
  ProcessDefinition callout;
  callout.name = "fleet-callout";
  callout.argv = {*program};
  for (auto& arg : callout_arguments(s, client_url(*nats),
                                     {nats_credential(files, callout_password_file), nats_credential(files, callout_issuer_seed_file),
                                      nats_credential(files, callout_xkey_seed_file),
                                      s.ca_file.empty() ? std::string() : fs::absolute(s.ca_file).string(),
                                      base::parent_dir(nats_credential(files, operator_password_file))}))
    callout.argv.push_back(std::move(arg));
  Outcome out = processes.ensure_process(ctx, callout);
  if (!out.failed()) detail::describe_callout(out, s);
  return out;
}

base::expected<void> check_callout(const CalloutSettings& s, const std::optional<ComponentRecord>& nats_record,
                                   ProcessSupervisor& processes, FileStore& files, RunContext& ctx) {
  auto nats = deployed_nats(nats_record);
  if (!nats) return base::fail(nats.error());
  if (nats->auth != NatsAuth::callout) return {};
  // Asked before it listens, NATS would wait out its callout timeout.
  auto listening = checks::wait_until(
      ctx, "fleet-callout listens",
      [&]() -> base::expected<void> {
        const std::string log = processes.log_tail(ctx.component, 40);
        const auto started = log.rfind("--- harmony: starting");
        if (log.find("answering authorization requests", started == std::string::npos ? 0 : started) == std::string::npos)
          return base::fail(failed(base::exit_status::smoke_test_failed, "fleet-callout does not listen to NATS",
                                   "its log does not say it answers authorization requests", "harmony fleet logs callout"));
        return {};
      },
      watching(processes, {ctx.component}));
  if (!listening) return listening;
  // A login with a made-up token: NATS must ask the callout, which refuses
  // it and says so in its log, naming this connection.
  const std::string probe = "harmony smoke test " + generate_password().substr(0, 12);
  agent::Connection made_up = login(*nats, "", "");
  made_up.token = "not-a-token";
  made_up.client_name = probe;
  auto asked = checks::wait_until(
      ctx, "the callout answers NATS's question about a login",
      [&]() -> base::expected<void> {
        if (agent::Client::connect(made_up, 2s))
          return base::fail(failed(base::exit_status::smoke_test_failed, "NATS admitted a made-up token",
                                   "its auth_callout block is not in force", "deploy nats again: harmony deploy fleet nats"));
        if (processes.log_tail(ctx.component, 40).find("refused '" + probe + "'") == std::string::npos)
          return base::fail(failed(base::exit_status::smoke_test_failed, "the callout did not answer",
                                   "NATS refused the login, but the callout's log does not show the question"));
        return {};
      },
      watching(processes, {ctx.component, std::string(nats_component)}));
  if (!asked) return asked;
  if (!s.admit_passwords) return {};
  // While migrating: an agent's password still admits it.
  auto ids = devices_with_users(files);
  if (ids.empty()) return {};
  auto password = read_password(nats_credential(files, agent_password_file(ids.front())), "agent " + ids.front());
  if (!password) return base::fail(password.error());
  auto as_agent = agent::Client::connect(login(*nats, agent_user(ids.front()), *password), 2s);
  if (!as_agent)
    return base::fail(failed(base::exit_status::smoke_test_failed, "agent " + ids.front() + "'s password is refused",
                             as_agent.error().message + (as_agent.error().reason.empty() ? "" : ": " + as_agent.error().reason),
                             "harmony fleet logs callout"));
  return {};
}

}  // namespace harmony::fleet
