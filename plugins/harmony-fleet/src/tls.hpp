#pragma once
// The certificates of the fleet's NATS on Kubernetes: a CA made once per
// fleet and kept in the cluster, and a server certificate it signs for the
// names agents and harmony connect to. Made with the openssl program.

#include <string>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony::fleet {

struct KeyPair {
  std::string cert;  // PEM
  std::string key;   // PEM, never printed
  [[nodiscard]] std::string to_json() const;
  static base::expected<KeyPair> from_json(const std::string& text);
};

base::expected<KeyPair> make_ca(const std::string& name);
// `names`: DNS names and IPv4 addresses; the first is the subject's CN.
base::expected<KeyPair> issue_server_certificate(const KeyPair& ca, const std::vector<std::string>& names);

}  // namespace harmony::fleet
