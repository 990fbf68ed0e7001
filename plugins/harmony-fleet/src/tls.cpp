#include "tls.hpp"

#include <arpa/inet.h>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/base/text.hpp>

#include "internal.hpp"

namespace harmony::fleet {

namespace {

using namespace std::chrono_literals;

// A private scratch directory for key files, removed whatever happens.
struct Scratch {
  std::string path;
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    path = std::string(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp") + "/harmony-tls-XXXXXX";
    if (::mkdtemp(path.data()) == nullptr) path.clear();  // mode 0700
  }
  ~Scratch() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

base::expected<void> openssl(const std::vector<std::string>& args, const std::string& cwd) {
  base::ProcessSpec spec;
  spec.argv = {"openssl"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.cwd = cwd;
  spec.timeout = 30s;
  auto r = base::run_process(spec);
  if (!r)
    return base::fail(detail::failed(base::exit_status::deploy_failed, "cannot make the NATS TLS certificates",
                                     "openssl cannot run: " + r.error().message, "install it: apt-get install openssl"));
  if (!r->ok())
    return base::fail(detail::failed(base::exit_status::deploy_failed, "cannot make the NATS TLS certificates",
                                     "openssl " + args.front() + " failed: " + base::printable(r->err)));
  return {};
}

base::expected<KeyPair> read_pair(const std::string& dir, const std::string& name) {
  auto cert = base::read_file(dir + "/" + name + ".crt");
  if (!cert) return base::fail(cert.error());
  auto key = base::read_file(dir + "/" + name + ".key");
  if (!key) return base::fail(key.error());
  return KeyPair{*cert, *key};
}

// P-256 keys: small, fast, and what nats-server and OpenSSL both take.
const std::vector<std::string> new_key{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};

}  // namespace

std::string KeyPair::to_json() const { return nlohmann::json{{"cert", cert}, {"key", key}}.dump(); }

base::expected<KeyPair> KeyPair::from_json(const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc["cert"].is_string() || !doc["key"].is_string())
    return base::fail(detail::failed(base::exit_status::deploy_failed, "the fleet's NATS certificates cannot be read",
                                     "the credentials Secret holds something else", "destroy the fleet with --purge and deploy again"));
  return KeyPair{doc["cert"], doc["key"]};
}

base::expected<KeyPair> make_ca(const std::string& name) {
  Scratch dir;
  if (dir.path.empty()) return base::fail(base::make_error("cannot make a scratch directory for the NATS certificates"));
  std::vector<std::string> args{"req", "-x509"};
  args.insert(args.end(), new_key.begin(), new_key.end());
  args.insert(args.end(), {"-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", "/CN=" + name, "-addext",
                           "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  if (auto made = openssl(args, dir.path); !made) return base::fail(made.error());
  return read_pair(dir.path, "ca");
}

base::expected<KeyPair> issue_server_certificate(const KeyPair& ca, const std::vector<std::string>& names) {
  Scratch dir;
  if (dir.path.empty()) return base::fail(base::make_error("cannot make a scratch directory for the NATS certificates"));
  if (auto w = base::write_file_atomically(dir.path + "/ca.crt", ca.cert, 0600); !w) return base::fail(w.error());
  if (auto w = base::write_file_atomically(dir.path + "/ca.key", ca.key, 0600); !w) return base::fail(w.error());
  std::vector<std::string> alt;
  unsigned char buffer[16];
  for (const auto& n : names) alt.push_back((::inet_pton(AF_INET, n.c_str(), buffer) == 1 ? "IP:" : "DNS:") + n);
  std::vector<std::string> args{"req", "-x509"};
  args.insert(args.end(), new_key.begin(), new_key.end());
  args.insert(args.end(), {"-keyout", "server.key", "-out", "server.crt", "-days", "825", "-subj", "/CN=" + names.front(),
                           "-CA", "ca.crt", "-CAkey", "ca.key", "-addext", "subjectAltName=" + base::join(alt, ","), "-addext",
                           "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth", "-addext",
                           "keyUsage=critical,digitalSignature,keyEncipherment"});
  if (auto made = openssl(args, dir.path); !made) return base::fail(made.error());
  return read_pair(dir.path, "server");
}

}  // namespace harmony::fleet
