#pragma once
// How the operator side finds NATS: flags, then HARMONY_NATS_* variables,
// then the local stack's connection file (docs/agent-protocol.md, "The
// connection file"), which `harmony deploy fleet --topology local` writes.

#include <optional>
#include <string>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony::agent {

struct ConnectionFlags {
  std::vector<std::string> servers;
  std::string user;
  std::string password_file;
  std::string connection_file;
};

struct Connection {
  std::vector<std::string> servers;
  std::string user;
  std::string password;  // never printed
  std::string source;    // where it came from, for error messages
};

// The connection file of the fleet's local stack:
// $XDG_STATE_HOME/harmony/fleet/local/connection.json.
std::optional<std::string> default_connection_file();

// The content of a connection file (docs/agent-protocol.md).
std::string connection_file_text(const std::vector<std::string>& servers, const std::string& user,
                                 const std::string& password_file);

// Writes a connection file (mode 0600).
base::expected<void> write_connection_file(const std::string& path, const std::vector<std::string>& servers,
                                           const std::string& user, const std::string& password_file);

base::expected<Connection> resolve_connection(const ConnectionFlags& flags);

}  // namespace harmony::agent
