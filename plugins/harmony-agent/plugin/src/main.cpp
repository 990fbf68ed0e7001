// harmony-agent: the operator's side of the fleet agents, over NATS.
//
//   harmony agent list                 agents seen by heartbeat, with age
//   harmony agent ping <id>
//   harmony agent status <id>
//   harmony agent exec <id> -- <argv>  the remote exit status becomes ours
//   harmony agent logs <id> [--lines N]
//
// It is a plugin on the SDK with commands only (no Scores): the agents are
// deployed by harmony-fleet.

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include <harmony/agent/client.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>
#include <harmony/plugin.hpp>
#include <harmony/version.hpp>

namespace harmony::agent::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Options {
  ConnectionFlags connection;
  std::string timeout = "5s";
  std::string wait = "6s";
  std::string id;
  std::vector<std::string> argv;
  int lines = 100;
};

std::chrono::milliseconds duration_of(const std::string& text, const char* flag) {
  auto d = base::parse_duration(text);
  if (!d || d->count() <= 0) throw base::usage_error(std::string(flag) + ": '" + base::printable(text) + "' is not a duration such as 5s");
  return *d;
}

Client connect(const Options& o) {
  auto connection = resolve_connection(o.connection);
  if (!connection) throw connection.error();
  auto client = Client::connect(*connection, duration_of(o.timeout, "--timeout"));
  if (!client) throw client.error();
  return std::move(*client);
}

template <class T>
T must(base::expected<T> value) {
  if (!value) throw value.error();
  return std::move(*value);
}

std::string dump(const json& doc) { return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n"; }

json labels_json(const Labels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

// Every string an agent sends goes through this before it reaches the
// terminal in text output: a device must not be able to send escape
// sequences to the operator's screen. JSON output escapes them already.
std::string shown(std::string_view agent_text) { return base::printable(agent_text); }

std::string labels_text(const Labels& labels) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels) parts.push_back(shown(k) + "=" + shown(v));
  return parts.empty() ? "-" : base::join(parts, ",");
}

// "/bin/df, /bin/systemctl (status nginx | restart *)"
std::string allowed_text(const StatusReply& r) {
  if (r.exec_allowed.empty()) return "nothing";
  std::vector<std::string> programs;
  for (const auto& program : r.exec_allowed) {
    std::string text = shown(program);
    if (auto rules = r.exec_allowed_args.find(program); rules != r.exec_allowed_args.end()) {
      std::vector<std::string> vectors;
      for (const auto& args : rules->second) vectors.push_back(args.empty() ? "no arguments" : shown(base::join(args, " ")));
      text += " (" + (vectors.empty() ? std::string("no arguments") : base::join(vectors, " | ")) + ")";
    }
    programs.push_back(std::move(text));
  }
  return base::join(programs, ", ");
}

std::string human(std::int64_t ms) {
  if (ms < 0) return "-";
  auto s = ms / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  if (s < 86400) return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
  return std::to_string(s / 86400) + "d" + std::to_string(s % 86400 / 3600) + "h";
}

// Adds the NATS connection flags to a command.
Command with_connection(Command c, Options& o) {
  c.option("--server", o.connection.servers, "NATS URL (repeatable; default: $HARMONY_NATS_URL, else the local fleet)")
      .option("--user", o.connection.user, "NATS user (default: $HARMONY_NATS_USER, else the local fleet's)")
      .option("--password-file", o.connection.password_file, "file holding the NATS password (default: $HARMONY_NATS_PASSWORD_FILE)")
      .option("--token-file", o.connection.token_file,
              "file holding an identity provider's token, for a fleet behind its auth callout (default: $HARMONY_NATS_TOKEN_FILE)")
      .option("--ca", o.connection.ca_file, "TLS: the CA certificate of the server (default: $HARMONY_NATS_CA_FILE, else the connection file's)")
      .option("--server-name", o.connection.server_name,
              "TLS: the name the server's certificate is for, when --server is an address (default: the connection file's)")
      .option("--connection", o.connection.connection_file, "a connection file (default: the last fleet deployed)")
      .option("--timeout", o.timeout, "how long to wait for NATS and the agent (default 5s)");
  return c;
}

int list(const CommandContext& ctx, const Options& o) {
  Client client = connect(o);
  auto beats = must(client.heartbeats(duration_of(o.wait, "--wait")));
  const auto now = std::chrono::system_clock::now();
  json out = json::array();
  std::vector<std::vector<std::string>> rows{{"ID", "LAST SEEN", "AGE", "STATUS", "VERSION", "LABELS"}};
  for (const auto& h : beats) {
    std::int64_t age = -1;
    if (auto seen = base::parse_rfc3339(h.time))
      age = std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(now - *seen).count());
    // Three missed heartbeats: probably gone.
    const bool stale = age < 0 || (h.interval_ms > 0 && age > 3 * h.interval_ms + 1000);
    const std::string status = stale ? "stale" : h.status;
    out.push_back({{"id", h.id},
                   {"last_seen", h.time},
                   {"age_s", age < 0 ? json(nullptr) : json(age / 1000)},
                   {"status", status},
                   {"version", h.version},
                   {"labels", labels_json(h.labels)}});
    rows.push_back({shown(h.id), shown(h.time), human(age), shown(status), shown(h.version), labels_text(h.labels)});
  }
  if (ctx.json)
    ctx.print(dump(out));
  else if (beats.empty())
    ctx.print("no agent has sent a heartbeat (" + client.server() + ")\n");
  else
    ctx.print(base::format_table(rows));
  return 0;
}

int ping(const CommandContext& ctx, const Options& o) {
  Client client = connect(o);
  const auto sent = std::chrono::steady_clock::now();
  auto reply = must(client.ping(o.id, duration_of(o.timeout, "--timeout")));
  const double rtt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count();
  if (ctx.json) {
    // The wire reply as the agent sent it, plus what only we know.
    json doc = json::parse(encode(reply));
    doc["rtt_ms"] = rtt;
    ctx.print(dump(doc));
  } else {
    char line[512];
    std::snprintf(line, sizeof line, "agent %s answered in %.1f ms: version %s, up %s, labels %s\n", shown(reply.id).c_str(), rtt,
                  shown(reply.version).c_str(), human(reply.uptime_ms).c_str(), labels_text(reply.labels).c_str());
    ctx.print(line);
  }
  return 0;
}

// What the fleet's desired state runs there: "shop/web Running (revision
// 23142be665032574, 0 restarts); ...".
std::string workloads_text(const StatusReply& r) {
  if (r.workloads.empty()) return "none";
  std::string out;
  for (const auto& w : r.workloads) {
    if (!out.empty()) out += "; ";
    out += shown(w.namespace_) + "/" + shown(w.name) + " " + shown(w.phase) + " (revision " + shown(w.revision) + ", " +
           std::to_string(w.restarts) + (w.restarts == 1 ? " restart" : " restarts") +
           (w.message.empty() ? "" : ": " + shown(w.message)) + ")";
  }
  return out;
}

int status(const CommandContext& ctx, const Options& o) {
  Client client = connect(o);
  auto r = must(client.status(o.id, duration_of(o.timeout, "--timeout")));
  if (ctx.json) {
    ctx.print(dump(json::parse(encode(r))));
    return 0;
  }
  ctx.print(base::format_table({{"id:", shown(r.id)},
                                {"version:", shown(r.version) + " (protocol " + std::to_string(r.protocol) + ")"},
                                {"up:", human(r.uptime_ms) + " (since " + shown(r.started_at) + ")"},
                                {"labels:", labels_text(r.labels)},
                                {"nats:", shown(r.nats_server) + ", " + std::to_string(r.reconnects) + " reconnects"},
                                {"heartbeat:", shown(r.heartbeat_mode) + ", every " + human(r.heartbeat_interval_ms) + ", last " +
                                                   (r.last_heartbeat.empty() ? "never" : shown(r.last_heartbeat))},
                                {"exec:", std::to_string(r.exec_running) + " running; allowed: " + allowed_text(r)},
                                {"workloads:", workloads_text(r)}}));
  return 0;
}

int exec(const CommandContext& ctx, const Options& o) {
  if (o.argv.empty())
    throw base::usage_error("'harmony agent exec' needs a command", {}, "harmony agent exec <id> -- /usr/bin/uptime");
  Client client = connect(o);
  ExecRequest request{o.argv, std::nullopt};
  // The agent applies its own deadline; leave room for it to answer.
  auto r = must(client.exec(o.id, request, duration_of(o.timeout, "--timeout") + 30s));
  if (ctx.json) {
    ctx.print(dump(json::parse(encode(r))));
  } else {
    ctx.print(r.stdout_text);
    std::fwrite(r.stderr_text.data(), 1, r.stderr_text.size(), stderr);
    if (r.stdout_truncated || r.stderr_truncated)
      std::fprintf(stderr, "harmony agent: the agent cut the %s at its output limit\n",
                   r.stdout_truncated && r.stderr_truncated ? "output and error output"
                   : r.stdout_truncated                     ? "output"
                                                            : "error output");
    if (r.output_incomplete)
      std::fprintf(stderr, "harmony agent: the command exited while something it started still held its output; "
                           "what that wrote later is not shown\n");
    if (r.signal) std::fprintf(stderr, "harmony agent: the command was killed by %s on %s\n", shown(r.signal_name).c_str(),
                           o.id.c_str());
  }
  // As kubectl exec: the remote status is ours; a signal death is 128+N.
  if (r.signal) return base::exit_status::signal_base + *r.signal;
  return r.exit_code.value_or(0);
}

int logs(const CommandContext& ctx, const Options& o) {
  if (o.lines < 0) throw base::usage_error("--lines must not be negative");
  Client client = connect(o);
  auto r = must(client.logs(o.id, LogsRequest{static_cast<std::size_t>(o.lines)}, duration_of(o.timeout, "--timeout")));
  if (ctx.json) {
    ctx.print(dump(json::parse(encode(r))));
    return 0;
  }
  std::string text;
  for (const auto& line : r.lines) text += shown(line) + "\n";
  ctx.print(text);
  return 0;
}

}  // namespace
}  // namespace harmony::agent::cli

int main(int argc, char** argv) {
  using namespace harmony::agent::cli;
  harmony::Plugin<> plugin(
      {"agent", harmony::version, "Talks to the fleet's device agents: list, ping, status, exec, logs"});
  Options o;
  with_connection(plugin.command("list", "the agents seen by heartbeat, with their age"), o)
      .option("--wait", o.wait, "without a KV bucket, how long to listen for heartbeats (default 6s)")
      .action([&](const harmony::CommandContext& ctx) { return list(ctx, o); });
  with_connection(plugin.command("ping", "ask an agent whether it is there"), o)
      .positional("id", o.id, "the device id")
      .action([&](const harmony::CommandContext& ctx) { return ping(ctx, o); });
  with_connection(plugin.command("status", "an agent's state: uptime, connection, heartbeats, exec"), o)
      .positional("id", o.id, "the device id")
      .action([&](const harmony::CommandContext& ctx) { return status(ctx, o); });
  with_connection(plugin.command("exec", "run an allowlisted program on a device: exec <id> -- <program> [args]"), o)
      .positional("id", o.id, "the device id")
      .rest("command", o.argv, "the program (an absolute path on the agent's allowlist) and its arguments, after --")
      .action([&](const harmony::CommandContext& ctx) { return exec(ctx, o); });
  with_connection(plugin.command("logs", "an agent's recent log lines"), o)
      .positional("id", o.id, "the device id")
      .option("--lines", o.lines, "how many (the agent keeps at most 1000; default 100)")
      .action([&](const harmony::CommandContext& ctx) { return logs(ctx, o); });
  return plugin.run(argc, argv);
}
