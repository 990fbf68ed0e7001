#pragma once
// The agent's wire contract: subjects, messages and error kinds, and their
// one codec, used by the daemon, the harmony-agent plugin and the fleet's
// smoke test alike. docs/agent-protocol.md is the specification; this header
// needs only the base library (the codec uses a JSON library inside).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony::agent {

inline constexpr int protocol_version = 1;
inline constexpr std::size_t max_request_size = 64 * 1024;
inline constexpr std::size_t max_logs_lines = 1000;

// ---- subjects and keys -----------------------------------------------------

inline constexpr std::string_view command_prefix = "device-commands";
inline constexpr std::string_view heartbeat_prefix = "heartbeat";
inline constexpr std::string_view status_bucket = "agent-status";
// An agent's own requests (JetStream) take their replies under _INBOX.<id>.
inline constexpr std::string_view inbox_prefix = "_INBOX.";

enum class Verb { ping, status, exec, logs };
std::string_view verb_name(Verb verb);
std::optional<Verb> parse_verb(std::string_view token);

// Device ids are RFC 1123 labels: they become NATS tokens and Kubernetes names.
bool valid_device_id(std::string_view id);
base::expected<void> validate_device_id(std::string_view id);

// The host name a TLS client checks the server's certificate against: the
// host of a nats:// or tls:// URL, or "" when it is an IP address (then the
// certificate is verified against the CA alone).
std::string verifiable_host(std::string_view url);

std::string command_subject(std::string_view id, Verb verb);  // device-commands.<id>.<verb>
std::string command_subscription(std::string_view id);        // device-commands.<id>.>
std::string heartbeat_subject(std::string_view id);           // heartbeat.<id>
std::string status_key(std::string_view id);                  // <id>, in the agent-status bucket

// The last token of a command subject (the verb as sent), or nullopt when
// the subject is not device-commands.<id>.<token>.
std::optional<std::string> verb_token(std::string_view subject, std::string_view id);

// ---- errors --------------------------------------------------------------------

enum class ErrorKind {
  malformed_request,  // not JSON, not an object, or a field of the wrong type
  unknown_verb,       // the subject's last token is not a verb this agent serves
  payload_too_large,  // the request is larger than max_request_size
  not_allowed,        // exec of a program that is not on the allowlist
  timed_out,          // exec ran past its deadline and was killed
  exec_failed,        // exec could not start the program
  busy,               // too many execs already running
  internal,           // anything else on the agent's side
  bad_reply,          // never sent: a client's verdict on a reply it cannot read
};
std::string_view error_kind_name(ErrorKind kind);
std::optional<ErrorKind> parse_error_kind(std::string_view name);

struct Failure {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
};

// ---- requests --------------------------------------------------------------------

struct ExecRequest {
  std::vector<std::string> argv;                        // argv[0]: an absolute path on the allowlist
  std::optional<std::chrono::milliseconds> timeout{};   // clamped by the agent's limit
};

struct LogsRequest {
  std::optional<std::size_t> lines{};  // clamped to what the agent keeps, at most max_logs_lines
};

struct Request {
  Verb verb = Verb::ping;
  std::variant<std::monostate, ExecRequest, LogsRequest> body{};
};

// The agent's side: the verb from the subject's last token, the body from the
// payload. An empty payload is a valid ping (and status, and logs).
base::expected<Request, Failure> decode_request(std::string_view verb_token, std::string_view payload);

// The client's side.
std::string encode_request(const ExecRequest& request);
std::string encode_request(const LogsRequest& request);

// ---- replies ---------------------------------------------------------------------

using Labels = std::map<std::string, std::string>;
// Per program, the argument vectors (after the program) it may run with; a
// program that is allowed but has no entry here runs with any arguments.
using AllowedArguments = std::map<std::string, std::vector<std::vector<std::string>>>;

struct PingReply {
  std::string id;
  std::string version;
  int protocol = protocol_version;
  std::int64_t uptime_ms = 0;
  Labels labels;
  std::string time;  // RFC 3339 UTC
};

// A workload the fleet's desired state asks the agent to run
// (docs/fleet-operator.md), as status reports it.
struct WorkloadStatus {
  std::string namespace_;
  std::string name;
  std::string revision;
  std::string phase;  // Pending, Running, Completed, Failed
  std::string message;
  std::int64_t restarts = 0;
};

struct StatusReply {
  std::string id;
  std::string version;
  int protocol = protocol_version;
  std::string started_at;
  std::int64_t uptime_ms = 0;
  Labels labels;
  std::string nats_server;      // the server it is connected to
  std::int64_t reconnects = 0;
  std::string heartbeat_mode;   // "kv" or "subject"
  std::string last_heartbeat;   // RFC 3339, empty before the first
  std::int64_t heartbeat_interval_ms = 0;
  std::vector<std::string> exec_allowed;   // every program that may run
  AllowedArguments exec_allowed_args;      // those restricted to some argument vectors
  int exec_running = 0;
  std::vector<WorkloadStatus> workloads;   // absent from older agents: none
  std::string time;
};

struct ExecReply {
  std::optional<int> exit_code;  // set when the program exited
  std::optional<int> signal;     // set when a signal killed it
  std::string signal_name;       // "SIGSEGV"
  std::string stdout_text;
  std::string stderr_text;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  // The program exited, but something it started still held its output open
  // when the agent stopped reading: what came after is not in the reply.
  bool output_incomplete = false;
  std::int64_t duration_ms = 0;
};

struct LogsReply {
  std::vector<std::string> lines;
  bool truncated = false;  // more lines were kept than sent
};

struct Heartbeat {
  std::string id;
  std::string version;
  int protocol = protocol_version;
  Labels labels;
  std::string status = "ok";
  std::string time;        // RFC 3339 UTC
  std::string started_at;
  std::int64_t interval_ms = 0;
};

std::string encode(const PingReply& reply);
std::string encode(const StatusReply& reply);
std::string encode(const ExecReply& reply);
std::string encode(const LogsReply& reply);
std::string encode(const Heartbeat& heartbeat);
std::string encode(const Failure& failure);  // {"error": {"kind": ..., "message": ...}}

// A reply is the verb's object, or an error object. Decoders return the
// agent's Failure for an error reply, and bad_reply for anything unreadable.
// Requests and replies alike are refused when an object repeats a key: JSON
// readers disagree on which one wins, so a repeat could mean one thing to a
// gateway and another to the agent.
base::expected<PingReply, Failure> decode_ping_reply(std::string_view payload);
base::expected<StatusReply, Failure> decode_status_reply(std::string_view payload);
base::expected<ExecReply, Failure> decode_exec_reply(std::string_view payload);
base::expected<LogsReply, Failure> decode_logs_reply(std::string_view payload);
base::expected<Heartbeat, Failure> decode_heartbeat(std::string_view payload);

}  // namespace harmony::agent
