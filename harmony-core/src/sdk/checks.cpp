#include <harmony/checks.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>


#include "../kube/curl.hpp"

#include <harmony/base/interrupt.hpp>
#include <harmony/errors.hpp>

namespace harmony::checks {
namespace {

std::string seconds(std::chrono::milliseconds ms) {
  auto tenths = ms.count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "s";
}

}  // namespace

base::expected<void> tcp_connect(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return base::fail(base::make_error("cannot resolve " + endpoint.host, ::gai_strerror(rc)));
  std::string last = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (ready == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        if (ready == 0) errno = ETIMEDOUT;
        rc = -1;
      }
    }
    const int err = errno;
    ::close(fd);
    if (rc == 0) {
      ::freeaddrinfo(found);
      return {};
    }
    last = std::strerror(err);
  }
  ::freeaddrinfo(found);
  return base::fail(base::make_error("cannot connect to " + endpoint.str(), last));
}

namespace {

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t n = size * count;
  if (body->size() < 64 * 1024) body->append(data, std::min(n, 64 * 1024 - body->size()));
  return n;
}

}  // namespace

base::expected<void> http_get(const std::string& url, const HttpExpectation& expect, std::chrono::milliseconds timeout) {
  // The Kubernetes client's loader: libcurl opens on first use (ADR 0007).
  const auto& curl_api = kube::detail::Curl::get();
  if (!curl_api.loaded())
    return base::fail(base::make_error("cannot make HTTP requests", "libcurl is not available: " + curl_api.error,
                                       "install libcurl (Debian: libcurl4)"));
  CURL* curl = curl_api.easy_init();
  if (curl == nullptr) return base::fail(base::make_error("cannot start an HTTP request", "libcurl failed to initialise"));
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
  curl_api.setopt(curl, CURLOPT_URL, url.c_str());
  curl_api.setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_api.setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_write_callback writer = collect;
  curl_api.setopt(curl, CURLOPT_WRITEFUNCTION, writer);
  curl_api.setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_api.setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_api.setopt(curl, CURLOPT_NOPROXY, "*");  // a readiness check talks to the component, not a proxy
  CURLcode rc = curl_api.perform(curl);
  long status = 0;
  curl_api.getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_api.cleanup(curl);
  if (rc != CURLE_OK)
    return base::fail(base::make_error("GET " + url + " failed", error[0] ? error : curl_api.strerror(rc)));
  if (status < expect.status_min || status > expect.status_max)
    return base::fail(base::make_error("GET " + url + " answered " + std::to_string(status),
                                       "expected " + std::to_string(expect.status_min) + "-" + std::to_string(expect.status_max)));
  if (!expect.body_contains.empty() && body.find(expect.body_contains) == std::string::npos)
    return base::fail(base::make_error("GET " + url + " answered without '" + expect.body_contains + "'",
                                       "the body was: " + base::printable(body.substr(0, 200))));
  return {};
}

base::expected<void> wait_until(RunContext& ctx, std::string_view what,
                                const std::function<base::expected<void>()>& attempt, const WaitOptions& options) {
  const auto started = Clock::now();
  int attempts = 0;
  base::Error last = base::make_error("not checked yet");
  while (true) {
    ++attempts;
    auto result = attempt();
    if (result) {
      ctx.note(std::string(what) + ": passed after " + std::to_string(attempts) + " attempt" + (attempts == 1 ? "" : "s"));
      return {};
    }
    last = result.error();
    if (options.gave_up)
      if (auto reason = options.gave_up()) {
        base::Error e = base::make_error("'" + ctx.component + "' stopped before it was ready", *reason,
                                         "look at its log: harmony " + ctx.plugin + " logs " + ctx.component);
        e.status = base::exit_status::smoke_test_failed;
        return base::fail(std::move(e));
      }
    if (ctx.interrupted()) return base::fail(interrupted_error());
    const auto left = ctx.remaining();
    if (left <= std::chrono::milliseconds(0)) break;
    if (!base::sleep_unless_interrupted(std::min(options.interval, left))) return base::fail(interrupted_error());
  }
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  base::Error e = base::make_error(
      "'" + ctx.component + "' did not become ready within " + seconds(waited),
      std::string(what) + ": " + last.message + (last.reason.empty() ? "" : ": " + last.reason) + " (" +
          std::to_string(attempts) + " attempts)",
      "look at its log: harmony " + ctx.plugin + " logs " + ctx.component + "; or allow more time with --timeout");
  e.status = base::exit_status::not_ready;
  return base::fail(std::move(e));
}

}  // namespace harmony::checks
