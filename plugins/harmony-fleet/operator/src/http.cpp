#include "http.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace harmony::fleet::op {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::atomic<bool> stopping{false};
};

HttpServer::HttpServer(Endpoints endpoints) : impl_(std::make_unique<Impl>()), endpoints_(std::move(endpoints)) {}

HttpServer::~HttpServer() { stop(); }

base::expected<void> HttpServer::start(const std::string& address, std::uint16_t port) {
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return base::fail(base::make_error("cannot listen on " + address, "not an IP address"));
  tcp::endpoint endpoint(ip, port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(16, ec);
  if (ec)
    return base::fail(base::make_error("cannot listen on " + address + ":" + std::to_string(port), ec.message(),
                                       "choose another address with --listen"));
  port_ = impl_->acceptor.local_endpoint().port();
  thread_ = std::thread([this] {
    while (true) {
      beast::error_code error;
      tcp::socket socket(impl_->io);
      impl_->acceptor.accept(socket, error);
      if (impl_->stopping) return;
      if (error) continue;
      beast::tcp_stream stream(std::move(socket));
      stream.expires_after(std::chrono::seconds(5));
      beast::flat_buffer buffer;
      http::request<http::string_body> request;
      http::read(stream, buffer, request, error);
      if (error) continue;
      http::response<http::string_body> response{http::status::ok, request.version()};
      response.set(http::field::server, "fleet-operator");
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      const std::string target(request.target());
      const std::string path = target.substr(0, target.find('?'));
      if (request.method() != http::verb::get && request.method() != http::verb::head) {
        response.result(http::status::method_not_allowed);
        response.body() = "GET only\n";
      } else if (path == "/healthz" || path == "/livez") {
        response.body() = "ok\n";
      } else if (path == "/readyz") {
        const bool ready = endpoints_.ready();
        response.result(ready ? http::status::ok : http::status::service_unavailable);
        response.body() = ready ? "ok\n" : endpoints_.why_not() + "\n";
      } else if (path == "/metrics") {
        response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        response.body() = endpoints_.metrics();
      } else {
        response.result(http::status::not_found);
        response.body() = "not found: /healthz, /readyz and /metrics are served\n";
      }
      response.keep_alive(false);
      response.prepare_payload();
      http::write(stream, response, error);
      stream.socket().shutdown(tcp::socket::shutdown_both, error);
    }
  });
  return {};
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  // A blocking accept() is only safely ended from outside by a connection:
  // make one (a request in progress ends at its deadline first).
  impl_->stopping = true;
  beast::error_code ec;
  auto local = impl_->acceptor.local_endpoint(ec);
  if (local.address().is_unspecified())
    local.address(local.address().is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                                          : asio::ip::address(asio::ip::address_v4::loopback()));
  tcp::socket wake(impl_->io);
  wake.connect(local, ec);
  thread_.join();
  impl_->acceptor.close(ec);
}

}  // namespace harmony::fleet::op
