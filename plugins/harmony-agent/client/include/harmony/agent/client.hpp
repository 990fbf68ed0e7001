#pragma once
// The operator side of the agent protocol over NATS: connect, ask an agent,
// read heartbeats. Shared by the harmony-agent plugin and the fleet's smoke
// test. Failures are Errors with the statuses of docs/exit-codes.md: an
// offline agent is `unreachable`, no answer in time is `timed_out`, an error
// reply is `remote_error`.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/agent/connection.hpp>
#include <harmony/agent/protocol.hpp>
#include <harmony/base/expected.hpp>

namespace harmony::agent {

class Client {
 public:
  static base::expected<Client> connect(const Connection& connection, std::chrono::milliseconds timeout);
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // Sends a request to device `id` and returns the raw reply.
  base::expected<std::string> request(std::string_view id, Verb verb, const std::string& body,
                                      std::chrono::milliseconds timeout);

  // A request on any subject (a server's $SYS requests, for a system user).
  base::expected<std::string> request_subject(const std::string& subject, const std::string& body,
                                              std::chrono::milliseconds timeout);
  // Typed requests: an error reply becomes a remote_error.
  base::expected<PingReply> ping(std::string_view id, std::chrono::milliseconds timeout);
  base::expected<StatusReply> status(std::string_view id, std::chrono::milliseconds timeout);
  base::expected<ExecReply> exec(std::string_view id, const ExecRequest& request, std::chrono::milliseconds timeout);
  base::expected<LogsReply> logs(std::string_view id, const LogsRequest& request, std::chrono::milliseconds timeout);

  // The latest heartbeat of every agent: from the KV bucket when it exists,
  // else whatever arrives on heartbeat.* within `wait`.
  base::expected<std::vector<Heartbeat>> heartbeats(std::chrono::milliseconds wait);

  // Creates the agent-status KV bucket if it does not exist (the fleet's
  // deploy does this, with the operator's user): true when it created it.
  // Needs JetStream.
  base::expected<bool> ensure_status_bucket();
  // The same for any bucket (history 1: the latest value of each key).
  base::expected<bool> ensure_bucket(std::string_view name, std::string_view description);

  [[nodiscard]] std::string server() const;
  // Connected now (not closed, not reconnecting).
  [[nodiscard]] bool connected() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The Error for a Failure an agent sent back.
base::Error remote_failure(std::string_view id, const Failure& failure);

}  // namespace harmony::agent
