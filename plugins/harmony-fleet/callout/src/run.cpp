// fleet-callout: NATS's auth callout for the fleet. Connects to NATS as the
// callout's user (in the auth account), answers $SYS.REQ.USER.AUTH in a
// queue group (replicas share the load), and fetches the identity
// provider's keys over HTTPS. docs/fleet-callout.md.

#include "run.hpp"

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <pthread.h>

#include <nats/nats.h>

#include <harmony/base/daemon_options.hpp>
#include <harmony/base/error.hpp>
#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/secrets.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>
#include <harmony/callout/service.hpp>
#include <harmony/kube/transport.hpp>
#include <harmony/version.hpp>

namespace harmony::callout {
namespace {

constexpr const char* usage =
    "usage: fleet-callout [options]\n"
    "\n"
    "NATS's auth callout for the harmony fleet: admits a device whose identity\n"
    "provider token names machine user device-<id> with that agent's permissions,\n"
    "a fleet-ops member with the operator's, and refuses anyone else.\n"
    "See docs/fleet-callout.md. Every option also reads FLEET_CALLOUT_<NAME>\n"
    "(--oidc-issuer: FLEET_CALLOUT_OIDC_ISSUER).\n"
    "\n"
    "  --nats-urls URL[,URL]      default nats://127.0.0.1:4222\n"
    "  --nats-user NAME           the callout's user in the auth account (default callout)\n"
    "  --nats-password-file FILE  0600: its password\n"
    "  --nats-ca-file FILE        TLS: the CA of NATS's certificate\n"
    "  --issuer-seed-file FILE    0600: the auth account's nkey seed (SA...), the server's auth_callout issuer\n"
    "  --xkey-seed-file FILE      0600: the callout's xkey seed (SX...), when the server's auth_callout has an xkey\n"
    "  --oidc-issuer URL          the identity provider (https; http only on loopback)\n"
    "  --oidc-audience ID         what tokens must be for (Zitadel: the project id)\n"
    "  --oidc-ca-file FILE        the CA of the identity provider's certificate (default: the system's)\n"
    "  --oidc-fetch-url URL       fetch the provider's documents here instead of at the issuer's address, with\n"
    "                             the issuer's host as Host (a provider in the same cluster: https, or http to\n"
    "                             loopback or to a Service, NAME.NAMESPACE.svc[.cluster.local][:PORT])\n"
    "  --account NAME             where admitted users go (default FLEET)\n"
    "  --device-claim NAME        the claim naming a machine user (default client_id)\n"
    "  --device-prefix TEXT       a device's machine user's prefix (default device-)\n"
    "  --roles-claim NAME         the claim holding roles (default urn:zitadel:iam:org:project:roles)\n"
    "  --ops-role NAME            the role of the fleet's operators (default fleet-ops)\n"
    "  --user-lifetime DURATION   an admitted user's JWT at most (default 1h; never past its token)\n"
    "  --keys-max-age DURATION    fetch the provider's keys again when older (default 10m): a removed key stops verifying\n"
    "  --keys-refetch-interval DURATION\n"
    "                             the fewest time between two fetches of the provider's keys (default 30s)\n"
    "  --agent-passwords-dir DIR  migrating from user_password: agent-<id> may still log in with the password\n"
    "                             in DIR/agent-<id>.password (0600), read at each login\n"
    "  --version, --help\n";

int report(base::Error e) {
  std::fputs(base::render_error(e, "fleet-callout", false).c_str(), stderr);
  return e.status;
}

base::Error settings_error(std::string message, std::string reason = {}, std::string hint = {}) {
  base::Error e = base::make_error(std::move(message), std::move(reason), std::move(hint));
  e.status = base::exit_status::invalid_settings;
  return e;
}

base::expected<std::string> secret(const std::string& flag, const std::string& file, std::string_view what) {
  if (file.empty()) return base::fail(settings_error(flag + " is required", std::string(what) + " has no default"));
  auto text = base::read_secret_file(file, what);
  if (!text) return base::fail(settings_error(text.error().message, text.error().reason, text.error().hint));
  return *text;
}

// "https://id.example.org:8443/x" -> "https://id.example.org:8443"
std::string origin_of(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  return url.substr(0, url.find('/', scheme + 3));
}

// Where documents at the issuer's origin are really fetched from.
struct FetchVia {
  std::string issuer_origin;  // https://id.example.org
  std::string origin;         // http://zitadel.fleet.svc:8080
  std::string host;           // id.example.org: the Host those requests carry
  bool plain_http = false;    // a Service of the cluster, over http
};

// GET over HTTPS (plain HTTP to loopback only: a test issuer), with the
// system's CAs or `ca_pem`.
Fetch https_fetch(std::string ca_pem, std::optional<FetchVia> via) {
  return [ca_pem = std::move(ca_pem), via = std::move(via)](const std::string& url) -> base::expected<std::string> {
    kube::Request request;
    // A login waiting for new keys waits this long at most per document;
    // nats-server gives up on an unanswered login sooner anyway.
    request.timeout = std::chrono::seconds(5);
    std::string target = url;
    bool plain_http = false;
    if (via && origin_of(url) == via->issuer_origin) {
      target = via->origin + url.substr(via->issuer_origin.size());
      request.headers.push_back("Host: " + via->host);
      plain_http = via->plain_http;
    }
    auto response = kube::send_to_url(target, request, ca_pem, plain_http);
    if (!response) return base::fail(base::make_error("cannot fetch " + base::printable(url), response.error().reason));
    if (response->status != 200)
      return base::fail(base::make_error("cannot fetch " + base::printable(url), "HTTP status " + std::to_string(response->status)));
    return response->body;
  };
}

void on_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
  auto* service = static_cast<Service*>(closure);
  const char* header_xkey = nullptr;
  if (natsMsgHeader_Get(msg, std::string(server_xkey_header).c_str(), &header_xkey) != NATS_OK) header_xkey = nullptr;
  const std::string payload(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  try {
    auto answer = service->handle(payload, header_xkey != nullptr ? header_xkey : "");
    base::log_line(answer.admitted ? "info" : "warn", answer.log);
    if (answer.response && natsMsg_GetReply(msg) != nullptr)
      natsConnection_Publish(nc, natsMsg_GetReply(msg), answer.response->data(), static_cast<int>(answer.response->size()));
  } catch (const std::exception& e) {
    // A defect, not a verdict: that login goes unanswered (nats-server
    // refuses it at its timeout) and the callout keeps serving the others.
    base::log_line("error", std::string("cannot handle an authorization request: ") + e.what());
  }
  natsMsg_Destroy(msg);
}

void on_disconnected(natsConnection*, void*) { base::log_line("warn", "disconnected from NATS; reconnecting"); }
void on_reconnected(natsConnection*, void*) { base::log_line("info", "reconnected to NATS"); }

}  // namespace

int run(int argc, char** argv) {
  static constexpr std::string_view flags[] = {
      "--nats-urls",     "--nats-user",     "--nats-password-file", "--nats-ca-file", "--issuer-seed-file",
      "--xkey-seed-file", "--oidc-issuer",  "--oidc-audience",      "--oidc-ca-file", "--account",
      "--device-claim",  "--device-prefix", "--roles-claim",        "--ops-role",     "--user-lifetime",
      "--keys-refetch-interval", "--keys-max-age", "--agent-passwords-dir", "--oidc-fetch-url"};
  auto given = base::parse_daemon_options(argc, argv, flags, "FLEET_CALLOUT_", "fleet-callout");
  if (!given) return report(given.error());
  if (given->version) {
    std::printf("fleet-callout %s\n", harmony::version);
    return 0;
  }
  if (given->help) {
    std::fputs(usage, stdout);
    return 0;
  }
  auto get = [&](const std::string& flag, std::string fallback = {}) { return given->get(flag, std::move(fallback)); };

  auto issuer_seed = secret("--issuer-seed-file", get("--issuer-seed-file"), "the auth account's seed file");
  if (!issuer_seed) return report(issuer_seed.error());
  auto issuer = KeyPair::from_seed(*issuer_seed);
  if (!issuer || issuer->kind() != KeyKind::account)
    return report(settings_error("--issuer-seed-file holds no account seed (SA...)", issuer ? "another kind of key" : issuer.error().reason));
  std::optional<XKey> xkey;
  if (auto file = get("--xkey-seed-file"); !file.empty()) {
    auto seed = secret("--xkey-seed-file", file, "the callout's xkey seed file");
    if (!seed) return report(seed.error());
    auto parsed = XKey::from_seed(*seed);
    if (!parsed) return report(settings_error("--xkey-seed-file holds no xkey seed (SX...)", parsed.error().reason));
    xkey = std::move(*parsed);
  }
  ServiceConfig config{.issuer = *issuer,
                       .xkey = xkey,
                       .token = {.issuer = get("--oidc-issuer"), .audience = get("--oidc-audience")},
                       .identity = {},
                       .account = get("--account", "FLEET"),
                       .user_lifetime = std::chrono::seconds(3600),
                       .refetch_interval = std::chrono::seconds(30),
                       .agent_passwords_dir = {}};
  while (config.token.issuer.ends_with('/')) config.token.issuer.pop_back();
  if (config.token.issuer.empty() || config.token.audience.empty())
    return report(settings_error("--oidc-issuer and --oidc-audience are required",
                                 "tokens are checked against an issuer and an audience", "see fleet-callout --help"));
  config.agent_passwords_dir = get("--agent-passwords-dir");
  config.identity.device_claim = get("--device-claim", config.identity.device_claim);
  config.identity.device_prefix = get("--device-prefix", config.identity.device_prefix);
  config.identity.roles_claim = get("--roles-claim", config.identity.roles_claim);
  config.identity.ops_role = get("--ops-role", config.identity.ops_role);
  if (auto text = get("--user-lifetime"); !text.empty()) {
    auto d = base::parse_duration(text);
    if (!d || d->count() < 1000)
      return report(base::usage_error("--user-lifetime: '" + base::printable(text) + "' is not a duration of a second or more"));
    config.user_lifetime = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  if (auto text = get("--keys-refetch-interval"); !text.empty()) {
    auto d = base::parse_duration(text);
    if (!d) return report(base::usage_error("--keys-refetch-interval: '" + base::printable(text) + "' is not a duration"));
    config.refetch_interval = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  if (auto text = get("--keys-max-age"); !text.empty()) {
    auto d = base::parse_duration(text);
    if (!d) return report(base::usage_error("--keys-max-age: '" + base::printable(text) + "' is not a duration"));
    config.keys_max_age = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  std::string ca_pem;
  if (auto file = get("--oidc-ca-file"); !file.empty()) {
    auto read = base::read_file(file, 1 << 20);
    if (!read) return report(settings_error("cannot read --oidc-ca-file", read.error().reason));
    ca_pem = *read;
  }
  std::string password;
  if (auto file = get("--nats-password-file"); !file.empty()) {
    auto read = secret("--nats-password-file", file, "the NATS password file");
    if (!read) return report(read.error());
    password = *read;
  }

  std::optional<FetchVia> via;
  if (auto url = get("--oidc-fetch-url"); !url.empty()) {
    const bool plain = url.starts_with("http://");
    // A Service's name means that Service only inside a cluster; elsewhere
    // the resolver's search domains would send it anywhere.
    const bool in_pod = std::getenv("KUBERNETES_SERVICE_HOST") != nullptr;
    if (!url.starts_with("https://") && !kube::is_loopback_http_url(url) && !(in_pod && kube::is_cluster_service_http_url(url)))
      return report(settings_error("--oidc-fetch-url '" + base::printable(url) + "' is refused",
                                   plain ? "plain http is only for loopback, or from a pod for a Service of its cluster (NAME.NAMESPACE.svc)"
                                         : "not an http(s) URL",
                                   "give https://..., or the provider's Service: http://NAME.NAMESPACE.svc:PORT"));
    const std::string issuer_origin = origin_of(config.token.issuer);
    const auto host_at = issuer_origin.find("://");
    const bool web = config.token.issuer.starts_with("https://") || config.token.issuer.starts_with("http://");
    if (!web || host_at == std::string::npos || host_at + 3 >= issuer_origin.size() ||
        issuer_origin.find_first_of(" \t\r\n@") != std::string::npos)
      return report(settings_error("--oidc-issuer '" + base::printable(config.token.issuer) + "' is not a URL",
                                   "--oidc-fetch-url fetches in the issuer's stead, and sends its host", "give https://HOST[:PORT]"));
    via = FetchVia{issuer_origin, origin_of(url), issuer_origin.substr(host_at + 3), plain};
  }
  Service service(std::move(config), https_fetch(ca_pem, std::move(via)));
  // Keys now, so the first login does not wait for them; a provider that is
  // down is not fatal: they are fetched again on the first token.
  if (auto keys = service.refresh_keys(); !keys)
    base::log_line("warn", "the identity provider's keys: " + keys.error().message + ": " + keys.error().reason);

  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  natsOptions* options = nullptr;
  natsOptions_Create(&options);
  std::vector<std::string> urls = base::split_list(get("--nats-urls", "nats://127.0.0.1:4222"), ',');
  std::vector<const char*> servers;
  for (const auto& u : urls) servers.push_back(u.c_str());
  natsOptions_SetServers(options, servers.data(), static_cast<int>(servers.size()));
  natsOptions_SetUserInfo(options, get("--nats-user", "callout").c_str(), password.c_str());
  if (auto ca = get("--nats-ca-file"); !ca.empty()) {
    natsOptions_SetSecure(options, true);
    natsOptions_LoadCATrustedCertificates(options, ca.c_str());
  }
  natsOptions_SetName(options, "fleet-callout");
  // Every answer goes out at once: libnats otherwise hands publishes to a
  // flusher that waits a millisecond to batch them, and each login would
  // wait that long for its answer.
  natsOptions_SetSendAsap(options, true);
  natsOptions_SetMaxReconnect(options, -1);
  natsOptions_SetReconnectWait(options, 500);
  natsOptions_SetRetryOnFailedConnect(options, true, nullptr, nullptr);
  natsOptions_SetDisconnectedCB(options, on_disconnected, nullptr);
  natsOptions_SetReconnectedCB(options, on_reconnected, nullptr);
  natsConnection* connection = nullptr;
  natsSubscription* subscription = nullptr;
  natsStatus s = natsConnection_Connect(&connection, options);
  if (s == NATS_OK || s == NATS_NOT_YET_CONNECTED)
    s = natsConnection_QueueSubscribe(&subscription, connection, "$SYS.REQ.USER.AUTH", "fleet-callout", on_request, &service);
  int status = 0;
  if (s != NATS_OK) {
    status = report(base::make_error("cannot serve NATS's authorization requests", natsStatus_GetText(s),
                                     "check --nats-urls, --nats-user and its password"));
  } else {
    base::log_line("info", "answering authorization requests on " + base::join(urls, ","));
    int received = 0;
    sigwait(&signals, &received);
    base::log_line("info", std::string(received == SIGTERM ? "SIGTERM" : "SIGINT") + ": stopping");
  }
  natsSubscription_Destroy(subscription);
  natsConnection_Destroy(connection);
  natsOptions_Destroy(options);
  nats_Close();
  return status;
}

}  // namespace harmony::callout
