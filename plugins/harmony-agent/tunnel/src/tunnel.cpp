#include <harmony/agent/tunnel.hpp>

#include <arpa/inet.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/text.hpp>
#include <harmony/kube/credentials.hpp>

namespace harmony::agent {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

base::Error tunnel_error(std::string message, std::string reason, std::string hint = {}) {
  base::Error e = base::make_error(std::move(message), std::move(reason), std::move(hint));
  e.status = base::exit_status::unreachable;
  return e;
}

// https://host:port/prefix, as a kubeconfig's server says it.
struct Server {
  std::string host;  // without brackets
  std::string port = "443";
  std::string prefix;
  bool is_ip = false;
};

base::expected<Server> parse_server(const std::string& url) {
  std::string rest = url;
  if (!rest.starts_with("https://"))
    return base::fail(tunnel_error("cannot open a tunnel to " + url, "the API server is not https://",
                                   "port-forwarding needs the API server's TLS endpoint"));
  rest = rest.substr(8);
  Server s;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    s.prefix = rest.substr(slash);
    rest = rest.substr(0, slash);
    while (!s.prefix.empty() && s.prefix.back() == '/') s.prefix.pop_back();
  }
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string::npos) return base::fail(tunnel_error("cannot open a tunnel to " + url, "the address is malformed"));
    s.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') s.port = rest.substr(close + 2);
    s.is_ip = true;
  } else {
    const auto colon = rest.rfind(':');
    s.host = colon == std::string::npos ? rest : rest.substr(0, colon);
    if (colon != std::string::npos) s.port = rest.substr(colon + 1);
    unsigned char buffer[16];
    s.is_ip = ::inet_pton(AF_INET, s.host.c_str(), buffer) == 1;
  }
  return s;
}

using Socket = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// One accepted connection and its WebSocket: each direction is a chain of
// one read then one write, so that neither side is ever written to twice at
// once and a slow reader slows its writer.
struct Session : std::enable_shared_from_this<Session> {
  tcp::socket local;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  std::unique_ptr<Socket> ws;
  beast::flat_buffer from_ws;
  std::array<char, 16 * 1024> from_local{};
  std::string to_ws;
  std::string to_local;
  bool port_read[2] = {false, false};
  bool closed = false;
  std::function<void(const std::string&)> on_error;
  std::unique_ptr<tcp::resolver> resolver;
  websocket::response_type response;

  explicit Session(tcp::socket s) : local(std::move(s)) {}

  void fail(const std::string& why) {
    if (closed) return;
    closed = true;
    if (on_error && !why.empty()) on_error(why);
    beast::error_code ignored;
    local.shutdown(tcp::socket::shutdown_both, ignored);
    local.close(ignored);
    if (ws) beast::get_lowest_layer(*ws).close();
  }

  void read_local() {
    local.async_read_some(asio::buffer(from_local), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->fail("");  // the client went away: the WebSocket goes too
      self->to_ws.assign(1, '\0');  // channel 0: data
      self->to_ws.append(self->from_local.data(), n);
      self->ws->async_write(asio::buffer(self->to_ws), [self](beast::error_code wec, std::size_t) {
        if (wec) return self->fail("the tunnel's WebSocket failed: " + wec.message());
        self->read_local();
      });
    });
  }

  void read_ws() {
    ws->async_read(from_ws, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->fail(ec == websocket::error::closed ? "" : "the tunnel's WebSocket failed: " + ec.message());
      std::string message = beast::buffers_to_string(self->from_ws.data());
      self->from_ws.consume(self->from_ws.size());
      if (message.empty()) return self->read_ws();
      const auto channel = static_cast<unsigned char>(message[0]);
      std::string payload = message.substr(1);
      // The first frame on each channel is the port number (2 bytes).
      if (channel < 2 && !self->port_read[channel]) {
        self->port_read[channel] = true;
        payload = payload.size() >= 2 ? payload.substr(2) : std::string();
      }
      if (channel == 1) {
        if (!payload.empty()) return self->fail("the pod's port refused the connection: " + base::printable(payload));
        return self->read_ws();
      }
      if (channel != 0 || payload.empty()) return self->read_ws();
      self->to_local = std::move(payload);
      asio::async_write(self->local, asio::buffer(self->to_local), [self](beast::error_code wec, std::size_t) {
        if (wec) return self->fail("");
        self->read_ws();
      });
    });
  }
};

}  // namespace

struct Tunnel::Impl {
  kube::ClientConfig config;
  kube::CredentialSource credentials;
  TunnelTarget target;
  Server server;
  std::function<void(const std::string&)> on_error;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::uint16_t port = 0;
  std::atomic<int> served{0};

  Impl(kube::ClientConfig c, TunnelTarget t, Server s, std::function<void(const std::string&)> e)
      : config(c), credentials(std::move(c)), target(std::move(t)), server(std::move(s)), on_error(std::move(e)) {}

  void report(const std::string& why) const {
    if (on_error) on_error(why);
  }

  // TLS as the kube client does it: the kubeconfig's CA (or the system's),
  // the server's name (or tls-server-name) or address checked, and its
  // client certificate.
  base::expected<void> set_up_tls(Session& s, const kube::Credentials& creds) {
    try {
      auto& ctx = s.tls;
      const auto& cluster = config.cluster;
      if (cluster.insecure_skip_tls_verify) {
        ctx.set_verify_mode(asio::ssl::verify_none);
      } else {
        ctx.set_verify_mode(asio::ssl::verify_peer);
        if (!cluster.certificate_authority_data.empty())
          ctx.add_certificate_authority(asio::buffer(cluster.certificate_authority_data));
        else if (!cluster.certificate_authority.empty())
          ctx.load_verify_file(cluster.certificate_authority);
        else
          ctx.set_default_verify_paths();
      }
      if (!creds.client_certificate_pem.empty()) {
        ctx.use_certificate_chain(asio::buffer(creds.client_certificate_pem));
        ctx.use_private_key(asio::buffer(creds.client_key_pem), asio::ssl::context::pem);
      } else if (!creds.client_certificate_file.empty()) {
        ctx.use_certificate_chain_file(creds.client_certificate_file);
        ctx.use_private_key_file(creds.client_key_file, asio::ssl::context::pem);
      }
    } catch (const boost::system::system_error& e) {
      return base::fail(tunnel_error("cannot set up TLS to the API server", e.what(), "check the kubeconfig's certificates"));
    }
    return {};
  }

  // The last thing that went wrong with a connection, for the caller's
  // error message (the connection itself only sees its socket closed).
  std::mutex error_mutex;
  std::string last_error;

  void session_failed(Session& s, const std::string& why) {
    {
      std::lock_guard lock(error_mutex);
      last_error = why;
    }
    s.fail(why);
  }

  // Everything asynchronous and under a deadline, so that an API server
  // that does not answer holds up neither other connections nor ~Tunnel.
  void connect(const std::shared_ptr<Session>& s) {
    auto creds = credentials.get();
    if (!creds) return session_failed(*s, creds.error().message + (creds.error().reason.empty() ? "" : ": " + creds.error().reason));
    if (auto ok = set_up_tls(*s, *creds); !ok) return session_failed(*s, ok.error().message + ": " + ok.error().reason);
    s->ws = std::make_unique<Socket>(io, s->tls);
    const std::string name = config.cluster.tls_server_name.empty() ? server.host : config.cluster.tls_server_name;
    SSL* ssl = s->ws->next_layer().native_handle();
    unsigned char buffer[16];
    const bool name_is_ip = ::inet_pton(AF_INET, name.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, name.c_str(), buffer) == 1;
    // SSL_set_tlsext_host_name, without its C cast.
    if (!name_is_ip)
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(name.c_str()));
    if (!config.cluster.insecure_skip_tls_verify) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (name_is_ip)
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      else
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    }
    const std::string token = creds->token;
    const std::string basic = creds->username.empty() ? std::string() : base::base64_encode(creds->username + ":" + creds->password);
    s->ws->set_option(websocket::stream_base::decorator([token, basic](websocket::request_type& request) {
      request.set(http::field::sec_websocket_protocol, "v4.channel.k8s.io");
      request.set(http::field::user_agent, "harmony");
      if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
      else if (!basic.empty()) request.set(http::field::authorization, "Basic " + basic);
    }));
    s->ws->binary(true);
    const std::string unreachable = "cannot reach the API server at " + config.cluster.server + ": ";
    s->resolver = std::make_unique<tcp::resolver>(io);
    s->resolver->async_resolve(server.host, server.port, [this, s, unreachable](beast::error_code ec, tcp::resolver::results_type found) {
      if (ec) return session_failed(*s, unreachable + ec.message());
      auto& lowest = beast::get_lowest_layer(*s->ws);
      lowest.expires_after(10s);
      lowest.async_connect(found, [this, s, unreachable](beast::error_code cec, const tcp::endpoint&) {
        if (cec) return session_failed(*s, unreachable + cec.message());
        beast::get_lowest_layer(*s->ws).expires_after(10s);
        s->ws->next_layer().async_handshake(asio::ssl::stream_base::client, [this, s, unreachable](beast::error_code hec) {
          if (hec) return session_failed(*s, unreachable + "TLS: " + hec.message());
          beast::get_lowest_layer(*s->ws).expires_never();
          s->ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
          const std::string path = server.prefix + "/api/v1/namespaces/" + target.namespace_ + "/pods/" + target.pod +
                                   "/portforward?ports=" + std::to_string(target.port);
          const std::string host = server.host.find(':') != std::string::npos ? "[" + server.host + "]" : server.host;
          s->ws->async_handshake(s->response, host + ":" + server.port, path, [this, s, unreachable](beast::error_code wec) {
            if (wec == websocket::error::upgrade_declined)
              return session_failed(*s, "the API server refused the port-forward to pod " + target.namespace_ + "/" +
                                            target.pod + " (HTTP " + std::to_string(s->response.result_int()) +
                                            "): is the pod there, and may you create pods/portforward? (kubectl auth can-i "
                                            "create pods/portforward -n " + target.namespace_ + ")");
            if (wec) return session_failed(*s, unreachable + wec.message());
            s->read_ws();
            s->read_local();
          });
        });
      });
    });
  }

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;  // the tunnel is going away
      if (ec) {
        // Out of descriptors, say: tell, and try again shortly.
        report("the tunnel cannot accept a connection: " + ec.message());
        auto wait = std::make_shared<asio::steady_timer>(io, 200ms);
        wait->async_wait([this, wait](beast::error_code) { accept(); });
        return;
      }
      auto session = std::make_shared<Session>(std::move(socket));
      session->on_error = on_error;
      ++served;
      connect(session);
      accept();
    });
  }
};

base::expected<std::unique_ptr<Tunnel>> Tunnel::open(const kube::ClientConfig& config, TunnelTarget target,
                                                     std::uint16_t local_port,
                                                     std::function<void(const std::string&)> on_error) {
  auto server = parse_server(config.cluster.server);
  if (!server) return base::fail(server.error());
  auto impl = std::make_unique<Impl>(config, std::move(target), std::move(*server), std::move(on_error));
  try {
    const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), local_port);
    impl->acceptor.open(at.protocol());
    impl->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl->acceptor.bind(at);
    impl->acceptor.listen();
    impl->port = impl->acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    base::Error err = base::make_error("cannot listen on 127.0.0.1:" + std::to_string(local_port), e.what(),
                                       "choose another port, or 0 for any");
    err.status = base::exit_status::failure;
    return base::fail(std::move(err));
  }
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    // A handler that throws loses its connection, never the process.
    while (true) {
      try {
        raw->io.run();
        return;
      } catch (const std::exception& e) {
        raw->report(std::string("the tunnel: ") + e.what());
      }
    }
  });
  return std::unique_ptr<Tunnel>(new Tunnel(std::move(impl)));
}

Tunnel::Tunnel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Tunnel::~Tunnel() {
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t Tunnel::local_port() const { return impl_->port; }
int Tunnel::connections() const { return impl_->served.load(); }

std::string Tunnel::last_error() const {
  std::lock_guard lock(impl_->error_mutex);
  return impl_->last_error;
}

}  // namespace harmony::agent
