#pragma once
// How the operator side finds NATS: flags, then HARMONY_NATS_* variables,
// then the local stack's connection file (docs/agent-protocol.md, "The
// connection file"), which `harmony deploy fleet --topology local` writes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony::agent {

struct ConnectionFlags {
  std::vector<std::string> servers;
  std::string user;
  std::string password_file;
  std::string token_file;  // an identity provider's token, for the fleet's auth callout
  std::string connection_file;
  std::string ca_file;  // TLS: the CA that signed the server's certificate
  std::string server_name;  // TLS: the name the certificate must be for (default: the URL's host)
};

struct Connection {
  std::vector<std::string> servers;
  std::string user;
  std::string password;  // never printed
  std::string source;    // where it came from, for error messages
  // TLS: the CA (PEM file) that signed the server's certificate; set, the
  // connection is encrypted and the server verified (its name too, when the
  // URL names a host rather than an address).
  std::string ca_file{};
  std::string ca_pem{};  // the same, in memory (a program that holds the CA itself)
  // The name the server's certificate must be for, when the URL is an
  // address the certificate does not name (a NodePort on a node's IP).
  std::string server_name{};
  // Reach NATS through a port-forward to its pod instead of `servers`
  // (connection file format 2): the kubeconfig files (':'-separated) and
  // context to authenticate with, and the pod's namespace, name and port.
  struct Tunnel {
    std::string kubeconfig;
    std::string context;
    std::string namespace_;
    std::string pod;
    std::uint16_t port = 0;
  };
  std::optional<Tunnel> tunnel{};
  // An identity provider's access token instead of user and password (the
  // fleet's auth callout); never printed.
  std::string token{};
  // The name the connection gives NATS (its logs, the callout's); empty:
  // "harmony agent".
  std::string client_name{};
};

// The connection file of the fleet's local stack:
// $XDG_STATE_HOME/harmony/fleet/local/connection.json.
std::optional<std::string> default_connection_file();

// The content of a connection file (docs/agent-protocol.md).
std::string connection_file_text(const std::vector<std::string>& servers, const std::string& user,
                                 const std::string& password_file, const std::string& ca_file = {},
                                 const std::string& server_name = {});

// Writes a connection file (mode 0600).
base::expected<void> write_connection_file(const std::string& path, const std::vector<std::string>& servers,
                                           const std::string& user, const std::string& password_file,
                                           const std::string& ca_file = {}, const std::string& server_name = {},
                                           const std::optional<Connection::Tunnel>& tunnel = std::nullopt);

base::expected<Connection> resolve_connection(const ConnectionFlags& flags);

}  // namespace harmony::agent
