#include <fcntl.h>
#include <unistd.h>
#include <harmony/kube/transport.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <sys/utsname.h>
#include <thread>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/text.hpp>
#include <harmony/version.hpp>

#include "curl.hpp"

namespace harmony::kube {
namespace {

using base::expected;
using base::fail;
using Clock = std::chrono::steady_clock;
using detail::Curl;

// What libcurl hands the callbacks of one transfer.
struct Transfer {
  Response response;
  const std::function<bool(std::string_view)>* on_line = nullptr;
  const std::atomic<bool>* stop = nullptr;
  CURL* easy = nullptr;
  std::string partial;          // a streamed line not yet complete
  bool stopped_by_us = false;
  bool status_known = false;
  bool streaming = false;       // status < 400: lines go to on_line
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "retry-after") t->response.retry_after = std::string(value);
    if (name == "content-type") t->response.content_type = std::string(value);
    if (name == "warning") {
      if (!t->response.warnings.empty()) t->response.warnings += "\n";
      t->response.warnings += std::string(value);
    }
  }
  return n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->on_line == nullptr) {
    t->response.body.append(data, n);
    return n;
  }
  if (!t->status_known) {
    long status = 0;
    Curl::get().getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    t->status_known = true;
    t->streaming = status < 400;
  }
  if (!t->streaming) {
    // An error answer comes back whole, for the caller's typed error.
    if (t->response.body.size() < 1024 * 1024) t->response.body.append(data, n);
    return n;
  }
  t->partial.append(data, n);
  std::size_t start = 0;
  for (auto nl = t->partial.find('\n'); nl != std::string::npos; nl = t->partial.find('\n', start)) {
    const std::string_view line(t->partial.data() + start, nl - start);
    start = nl + 1;
    if (!(*t->on_line)(line)) {
      t->stopped_by_us = true;
      return 0;  // aborts the transfer
    }
  }
  t->partial.erase(0, start);
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->stop != nullptr && t->stop->load()) {
    t->stopped_by_us = true;
    return 1;
  }
  return 0;
}

// Failures where the request cannot have reached the server: safe to retry
// whatever the method.
bool before_sending(CURLcode rc) {
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY;
}

bool tls_failure(CURLcode rc) {
  return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
         rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_ISSUER_ERROR;
}

bool retryable_status(const Response& r) {
  if (r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504) return true;
  return r.status >= 500 && !r.retry_after.empty();
}

std::string host_and_port(const std::string& server) {
  auto start = server.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  const auto end = server.find('/', start);
  return server.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

std::string user_agent() {
  static const std::string agent = [] {
    struct utsname u {};
    std::string arch = ::uname(&u) == 0 ? u.machine : "unknown";
    if (arch == "x86_64") arch = "amd64";
    if (arch == "aarch64") arch = "arm64";
    return std::string("harmony/") + harmony::version + " (linux/" + arch + ")";
  }();
  return agent;
}

struct Transport::Handle {
  CURL* easy = nullptr;
  ~Handle() {
    if (easy != nullptr) Curl::get().cleanup(easy);
  }
};

struct Transport::Pool {
  std::mutex mutex;
  std::vector<std::unique_ptr<Handle>> idle;

  std::unique_ptr<Handle> take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        auto h = std::move(idle.back());
        idle.pop_back();
        return h;
      }
    }
    auto h = std::make_unique<Handle>();
    h->easy = Curl::get().easy_init();
    return h;
  }
  void give_back(std::unique_ptr<Handle> h) {
    std::lock_guard lock(mutex);
    if (idle.size() < 8) idle.push_back(std::move(h));
  }
};

Transport::Transport(ClientConfig config, TransportOptions options)
    : config_(std::move(config)), options_(options), credentials_(config_), pool_(std::make_unique<Pool>()) {
  if (const char* trace = std::getenv("HARMONY_KUBE_TRACE"); trace != nullptr && trace[0] == '/') trace_file_ = trace;
}

Transport::~Transport() = default;

base::Error Transport::unreachable(const std::string& why) const {
  base::Error e = base::make_error("cannot reach the Kubernetes cluster at " + config_.cluster.server, base::printable(why));
  e.status = base::exit_status::unreachable;
  e.hint = config_.in_cluster
               ? "check the pod's network and the kubernetes Service"
               : "is the cluster running, and is '" + config_.context + "' the context you meant? Check with 'kubectl --context " +
                     config_.context + " cluster-info' (kubeconfig: " + base::join(config_.files, ", ") + ")";
  return e;
}

expected<Response> Transport::send(const Request& request) { return perform(request, nullptr, nullptr); }

expected<Response> Transport::stream(const Request& request, const std::function<bool(std::string_view)>& on_line,
                                     const std::atomic<bool>* stop) {
  return perform(request, &on_line, stop);
}

expected<Response> Transport::perform(const Request& request, const std::function<bool(std::string_view)>* on_line,
                                      const std::atomic<bool>* stop) {
  const Curl& curl = Curl::get();
  if (!curl.loaded()) {
    return fail(base::make_error("cannot talk to the Kubernetes API", "libcurl is not available: " + curl.error,
                                 "install libcurl (Debian: libcurl4)"));
  }
  const auto deadline = Clock::now() + request.timeout;
  auto backoff = options_.first_backoff;
  bool refreshed_credentials = false;
  std::string last_failure;

  for (int attempt = 1;; ++attempt) {
    auto credentials = credentials_.get();
    if (!credentials) return fail(credentials.error());

    auto handle = pool_->take();
    if (handle->easy == nullptr) return fail(base::make_error("cannot start an HTTP request", "libcurl failed to initialise"));
    CURL* easy = handle->easy;
    curl.reset(easy);  // keeps the live connection

    // tls-server-name: connect to the server's address but speak TLS to, and
    // verify, the given name.
    std::string server = config_.cluster.server;
    std::string connect_to_entry;
    curl_slist* connect_to = nullptr;
    if (!config_.cluster.tls_server_name.empty()) {
      const std::string real = host_and_port(server);
      const auto colon = real.rfind(':');
      const std::string port = colon == std::string::npos ? "443" : real.substr(colon + 1);
      connect_to_entry = config_.cluster.tls_server_name + ":" + port + ":" + real.substr(0, colon) + ":" + port;
      connect_to = curl.slist_append(nullptr, connect_to_entry.c_str());
      server = "https://" + config_.cluster.tls_server_name + ":" + port;
    }
    const std::string url = server + request.path;

    curl_slist* headers = nullptr;
    headers = curl.slist_append(headers, ("Accept: " + request.accept).c_str());
    if (!request.content_type.empty()) headers = curl.slist_append(headers, ("Content-Type: " + request.content_type).c_str());
    std::string authorization;
    if (!credentials->token.empty()) {
      authorization = "Authorization: Bearer " + credentials->token;
      headers = curl.slist_append(headers, authorization.c_str());
    }
    headers = curl.slist_append(headers, "Expect:");
    for (const auto& header : request.headers) headers = curl.slist_append(headers, header.c_str());

    Transfer transfer;
    transfer.on_line = on_line;
    transfer.stop = stop;
    transfer.easy = easy;
    char error_buffer[CURL_ERROR_SIZE] = {};
    const std::string agent = user_agent();
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) {
      curl.slist_free_all(headers);
      curl.slist_free_all(connect_to);
      base::Error e = base::make_error("the API server at " + config_.cluster.server + " did not answer in time",
                                       last_failure.empty() ? "the request's time ran out" : last_failure,
                                       "the cluster is busy or unwell; try again, or raise --timeout");
      e.status = base::exit_status::timed_out;
      return fail(std::move(e));
    }

    curl.setopt(easy, CURLOPT_URL, url.c_str());
    curl.setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl.setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl.setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl.setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(options_.connect_timeout, remaining).count()));
    curl.setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
    curl.setopt(easy, CURLOPT_USERAGENT, agent.c_str());
    curl.setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl.setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
    if (connect_to != nullptr) curl.setopt(easy, CURLOPT_CONNECT_TO, connect_to);
    if (!options_.use_proxy_from_environment) curl.setopt(easy, CURLOPT_NOPROXY, "*");
    if (request.method != "GET") curl.setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty() || request.method == "POST" || request.method == "PATCH" || request.method == "PUT") {
      curl.setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
      curl.setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }

    // TLS: what the kubeconfig says, nothing more.
    const ClusterConfig& cluster = config_.cluster;
    curl_blob ca_blob{const_cast<char*>(cluster.certificate_authority_data.data()), cluster.certificate_authority_data.size(),
                      CURL_BLOB_NOCOPY};
    if (cluster.insecure_skip_tls_verify) {
      curl.setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl.setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (!cluster.certificate_authority_data.empty()) {
      curl.setopt(easy, CURLOPT_CAINFO_BLOB, &ca_blob);
    } else if (!cluster.certificate_authority.empty()) {
      curl.setopt(easy, CURLOPT_CAINFO, cluster.certificate_authority.c_str());
    }
    curl_blob cert_blob{const_cast<char*>(credentials->client_certificate_pem.data()),
                        credentials->client_certificate_pem.size(), CURL_BLOB_NOCOPY};
    curl_blob key_blob{const_cast<char*>(credentials->client_key_pem.data()), credentials->client_key_pem.size(),
                       CURL_BLOB_NOCOPY};
    if (!credentials->client_certificate_pem.empty()) {
      curl.setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
      curl.setopt(easy, CURLOPT_SSLCERT_BLOB, &cert_blob);
      curl.setopt(easy, CURLOPT_SSLKEY_BLOB, &key_blob);
    } else if (!credentials->client_certificate_file.empty()) {
      curl.setopt(easy, CURLOPT_SSLCERT, credentials->client_certificate_file.c_str());
      curl.setopt(easy, CURLOPT_SSLKEY, credentials->client_key_file.c_str());
    }
    if (!credentials->username.empty()) {
      curl.setopt(easy, CURLOPT_USERNAME, credentials->username.c_str());
      curl.setopt(easy, CURLOPT_PASSWORD, credentials->password.c_str());
    }

    curl_write_callback header_cb = on_header;
    curl_write_callback body_cb = on_body;
    curl_xferinfo_callback progress_cb = on_progress;
    curl.setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
    curl.setopt(easy, CURLOPT_HEADERDATA, &transfer);
    curl.setopt(easy, CURLOPT_WRITEFUNCTION, body_cb);
    curl.setopt(easy, CURLOPT_WRITEDATA, &transfer);
    if (stop != nullptr) {
      curl.setopt(easy, CURLOPT_XFERINFOFUNCTION, progress_cb);
      curl.setopt(easy, CURLOPT_XFERINFODATA, &transfer);
      curl.setopt(easy, CURLOPT_NOPROGRESS, 0L);
    }

    ++stats_.requests;
    const auto started = Clock::now();
    const CURLcode rc = curl.perform(easy);
    long status = 0;
    long connects = 0;
    curl_off_t connected_after = 0;
    curl.getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl.getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected_after);
    curl.getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    stats_.connections += static_cast<int>(connects);
    if (!trace_file_.empty()) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
      const std::string line = request.method + " " + request.path + " " + std::to_string(status) + " " + std::to_string(ms) + "ms\n";
      if (int fd = ::open(trace_file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600); fd >= 0) {
        (void)!::write(fd, line.data(), line.size());
        ::close(fd);
      }
    }
    curl.slist_free_all(headers);
    curl.slist_free_all(connect_to);
    // The handle no longer points at this frame's buffers after the next reset.
    pool_->give_back(std::move(handle));

    transfer.response.status = static_cast<int>(status);
    const bool stream_ended_normally =
        on_line != nullptr && status > 0 && status < 400 &&
        (transfer.stopped_by_us || rc == CURLE_OK || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_PARTIAL_FILE ||
         rc == CURLE_RECV_ERROR || rc == CURLE_HTTP2_STREAM);
    if (rc != CURLE_OK && !stream_ended_normally && !transfer.stopped_by_us) {
      const std::string why = error_buffer[0] != '\0' ? error_buffer : curl.strerror(rc);
      if (tls_failure(rc)) {
        base::Error e = base::make_error("cannot talk securely to the Kubernetes cluster at " + config_.cluster.server, why);
        e.status = base::exit_status::unreachable;
        e.hint = "check the cluster's certificate-authority in the kubeconfig (" + base::join(config_.files, ", ") +
                 "), and the client certificate if there is one";
        return fail(std::move(e));
      }
      // Connected but not answered in time: the server is there and slow.
      if (rc == CURLE_OPERATION_TIMEDOUT && (status > 0 || connected_after > 0)) {
        base::Error e = base::make_error("the API server at " + config_.cluster.server + " did not finish answering in time", why,
                                         "the cluster is busy or unwell; try again, or raise --timeout");
        e.status = base::exit_status::timed_out;
        return fail(std::move(e));
      }
      const bool may_retry = request.retry && attempt < options_.max_attempts &&
                             (before_sending(rc) || request.method == "GET") && Clock::now() + backoff < deadline;
      if (!may_retry) return fail(unreachable(why));
      last_failure = why;
      ++stats_.retries;
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    if (on_line != nullptr && !transfer.partial.empty() && transfer.streaming && !transfer.stopped_by_us) {
      (*on_line)(transfer.partial);  // a last line without a newline
    }

    Response& r = transfer.response;
    if (r.status == 401 && !refreshed_credentials && credentials_.invalidate()) {
      refreshed_credentials = true;
      ++stats_.retries;
      continue;
    }
    if (request.retry && retryable_status(r) && attempt < options_.max_attempts) {
      auto wait = backoff;
      int seconds = -1;
      std::from_chars(r.retry_after.data(), r.retry_after.data() + r.retry_after.size(), seconds);
      if (seconds >= 0) {
        wait = std::max(wait, std::chrono::milliseconds(seconds * 1000));
      }
      if (Clock::now() + wait < deadline) {
        last_failure = "HTTP " + std::to_string(r.status);
        ++stats_.retries;
        std::this_thread::sleep_for(wait);
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
    }
    return std::move(r);
  }
}

bool is_loopback_http_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) return false;
  std::string_view authority = url.substr(scheme.size());
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return false;
  std::string_view host = authority, port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(0, close + 1);
    port = authority.substr(close + 1);
  } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon);
  }
  if (!port.empty() && (port.size() == 1 || port.front() != ':' ||
                        !std::all_of(port.begin() + 1, port.end(), [](char c) { return c >= '0' && c <= '9'; })))
    return false;
  if (host == "localhost" || host == "[::1]") return true;
  const auto parts = base::split_list(host, '.');
  if (parts.size() != 4 || parts.front() != "127") return false;
  return std::all_of(parts.begin(), parts.end(), [](const std::string& part) {
    return !part.empty() && part.size() <= 3 && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
           std::stoi(part) <= 255;
  });
}

bool is_cluster_service_http_url(std::string_view url) {
  if (!url.starts_with("http://")) return false;
  url.remove_prefix(7);
  std::string_view host = url.substr(0, url.find('/'));
  if (host.find('@') != std::string_view::npos) return false;
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    const auto port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
    host = host.substr(0, colon);
  }
  if (host.ends_with(".cluster.local")) host.remove_suffix(14);
  if (!host.ends_with(".svc")) return false;
  host.remove_suffix(4);
  const auto dot = host.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= host.size() || host.find('.', dot + 1) != std::string_view::npos)
    return false;
  return host.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") == std::string_view::npos;
}

base::expected<Response> send_to_url(const std::string& url, Request request, const std::string& ca_pem, bool plain_http_allowed) {
  const auto scheme = url.find("://");
  const std::string origin = scheme == std::string::npos ? url : url.substr(0, url.find('/', scheme + 3));
  if (!url.starts_with("https://") && !is_loopback_http_url(url) && !(plain_http_allowed && url.starts_with("http://")))
    return base::fail(base::make_error("cannot reach '" + base::printable(url) + "'",
                                       url.starts_with("http://") ? "plain http is only for loopback; use https"
                                                                  : "not an http(s) URL"));
  ClientConfig config;
  config.cluster.server = origin;
  config.cluster.certificate_authority_data = ca_pem;
  TransportOptions options;
  options.max_attempts = 2;
  Transport transport(config, options);
  request.path = url.size() > origin.size() ? url.substr(origin.size()) : "/";
  return transport.send(request);
}

}  // namespace harmony::kube
