#include <harmony/agent/protocol.hpp>

#include <arpa/inet.h>

#include <set>

#include <nlohmann/json.hpp>

#include <harmony/base/names.hpp>

namespace harmony::agent {
namespace {

using nlohmann::json;

template <class T>
using Result = base::expected<T, Failure>;

base::unexpected<Failure> failed(ErrorKind kind, std::string message) {
  return base::unexpected<Failure>(Failure{kind, std::move(message)});
}

// Bytes that are not UTF-8 (a program's output) are replaced, not refused.
std::string dump(const json& doc) { return doc.dump(-1, ' ', false, json::error_handler_t::replace); }

// Parses JSON like json::parse, and also names the first key that an object
// repeats (nlohmann would keep the last silently). Invalid JSON: discarded.
json parse_checked(std::string_view text, std::string& repeated) {
  std::vector<std::set<std::string>> open;  // the keys seen in each object being read
  json::parser_callback_t watch = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      open.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      open.pop_back();
    } else if (event == json::parse_event_t::key && !open.empty()) {
      auto key = parsed.get<std::string>();
      if (!open.back().insert(key).second && repeated.empty()) repeated = std::move(key);
    }
    return true;
  };
  return json::parse(text, watch, false);
}

std::string repeated_key(std::string_view what, const std::string& key) {
  return std::string(what) + " repeats the key '" + base::printable(std::string_view(key).substr(0, 64)) + "'";
}

json labels_json(const Labels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

// Typed field access on a parsed object; a wrong type is a Failure.
class Fields {
 public:
  Fields(const json& doc, ErrorKind kind) : doc_(doc), kind_(kind) {}

  Result<std::string> string(const char* key, bool required) const {
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) {
      if (required) return failed(kind_, std::string("the field '") + key + "' is missing");
      return std::string();
    }
    if (!it->is_string()) return failed(kind_, std::string("the field '") + key + "' must be a string");
    return it->get<std::string>();
  }
  Result<std::int64_t> integer(const char* key, std::int64_t fallback) const {
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) return failed(kind_, std::string("the field '") + key + "' must be a whole number");
    return it->get<std::int64_t>();
  }
  Result<std::optional<std::int64_t>> optional_integer(const char* key) const {
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) return std::optional<std::int64_t>();
    if (!it->is_number_integer()) return failed(kind_, std::string("the field '") + key + "' must be a whole number");
    return std::optional<std::int64_t>(it->get<std::int64_t>());
  }
  Result<bool> boolean(const char* key) const {
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) return false;
    if (!it->is_boolean()) return failed(kind_, std::string("the field '") + key + "' must be true or false");
    return it->get<bool>();
  }
  Result<std::vector<std::string>> strings(const char* key) const {
    std::vector<std::string> out;
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) return out;
    if (!it->is_array()) return failed(kind_, std::string("the field '") + key + "' must be a list of strings");
    for (const auto& item : *it) {
      if (!item.is_string()) return failed(kind_, std::string("the field '") + key + "' must be a list of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  Result<AllowedArguments> argument_rules(const char* key) const {
    AllowedArguments out;
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) return out;
    const auto wrong = failed(kind_, std::string("the field '") + key + "' must map programs to lists of argument lists");
    if (!it->is_object()) return wrong;
    for (const auto& [program, vectors] : it->items()) {
      if (!vectors.is_array()) return wrong;
      auto& rules = out[program];
      for (const auto& vector : vectors) {
        if (!vector.is_array()) return wrong;
        auto& args = rules.emplace_back();
        for (const auto& arg : vector) {
          if (!arg.is_string()) return wrong;
          args.push_back(arg.get<std::string>());
        }
      }
    }
    return out;
  }
  Result<Labels> labels(const char* key) const {
    Labels out;
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) return out;
    if (!it->is_object()) return failed(kind_, std::string("the field '") + key + "' must be an object of strings");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return failed(kind_, std::string("the field '") + key + "' must be an object of strings");
      out[k] = v.get<std::string>();
    }
    return out;
  }

 private:
  const json& doc_;
  ErrorKind kind_;
};

// Parses a reply: an error object becomes the agent's Failure; anything that
// is not a JSON object is a bad reply.
Result<json> parse_reply(std::string_view payload) {
  std::string repeated;
  json doc = parse_checked(payload, repeated);
  if (doc.is_discarded() || !doc.is_object()) return failed(ErrorKind::bad_reply, "the reply is not a JSON object");
  if (!repeated.empty()) return failed(ErrorKind::bad_reply, repeated_key("the reply", repeated));
  if (auto it = doc.find("error"); it != doc.end()) {
    if (!it->is_object()) return failed(ErrorKind::bad_reply, "the reply's error is not an object");
    Fields f(*it, ErrorKind::bad_reply);
    auto kind_name = f.string("kind", true);
    if (!kind_name) return base::unexpected<Failure>(kind_name.error());
    auto message = f.string("message", false);
    if (!message) return base::unexpected<Failure>(message.error());
    auto kind = parse_error_kind(*kind_name);
    // bad_reply is the reader's own verdict, never an agent's to claim: an
    // agent sending it is reporting an internal error.
    if (kind == ErrorKind::bad_reply) kind = ErrorKind::internal;
    return failed(kind.value_or(ErrorKind::internal), *message);
  }
  return doc;
}

// Reads a reply's fields into a struct, keeping the first problem: decoders
// list their fields once, in the order of the specification. A field that
// is absent or null keeps the struct's default.
class Reader {
 public:
  explicit Reader(const json& doc) : doc_(&doc) {}

  Reader& text(const char* key, std::string& out, bool required = false) {
    return take(fields().string(key, required), out);
  }
  template <class Int>
  Reader& number(const char* key, Int& out) {
    std::optional<std::int64_t> value;
    take(fields().optional_integer(key), value);
    if (value) out = static_cast<Int>(*value);
    return *this;
  }
  Reader& optional_number(const char* key, std::optional<int>& out) {
    std::optional<std::int64_t> value;
    take(fields().optional_integer(key), value);
    if (value) out = static_cast<int>(*value);
    return *this;
  }
  Reader& flag(const char* key, bool& out) { return take(fields().boolean(key), out); }
  Reader& strings(const char* key, std::vector<std::string>& out) { return take(fields().strings(key), out); }
  Reader& labels(const char* key, Labels& out) { return take(fields().labels(key), out); }
  Reader& argument_rules(const char* key, AllowedArguments& out) { return take(fields().argument_rules(key), out); }
  // A nested object: the reads that follow are inside it (absent: empty).
  Reader& object(const char* key) {
    auto it = root_().find(key);
    doc_ = it != root_().end() && it->is_object() ? &*it : &empty();
    return *this;
  }

  [[nodiscard]] bool ok() const { return !failure_; }
  template <class T>
  base::expected<T, Failure> result(T value) const {
    if (failure_) return base::unexpected<Failure>(*failure_);
    return value;
  }

 private:
  Fields fields() const { return Fields(*doc_, ErrorKind::bad_reply); }
  template <class T, class Out>
  Reader& take(Result<T> value, Out& out) {
    if (failure_) return *this;
    if (!value) {
      failure_ = value.error();
    } else {
      out = std::move(*value);
    }
    return *this;
  }
  const json& root_() const { return *root_doc_; }
  static const json& empty() {
    static const json value = json::object();
    return value;
  }

  const json* doc_;
  const json* root_doc_ = doc_;
  std::optional<Failure> failure_;
};

#define HARMONY_TRY(var, expr)                                  \
  auto var = (expr);                                            \
  if (!var) return base::unexpected<Failure>(var.error())

}  // namespace

std::string_view verb_name(Verb verb) {
  switch (verb) {
    case Verb::ping: return "ping";
    case Verb::status: return "status";
    case Verb::exec: return "exec";
    case Verb::logs: return "logs";
  }
  return "ping";
}

std::optional<Verb> parse_verb(std::string_view token) {
  for (Verb v : {Verb::ping, Verb::status, Verb::exec, Verb::logs})
    if (verb_name(v) == token) return v;
  return std::nullopt;
}

bool valid_device_id(std::string_view id) { return base::is_dns_label(id); }

base::expected<void> validate_device_id(std::string_view id) { return base::validate_dns_label(id, "device id"); }

std::string verifiable_host(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  if (auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  if (url.starts_with('[')) return {};  // an IPv6 address
  std::string host(url.substr(0, url.find_first_of(":/")));
  unsigned char buffer[16];
  if (host.empty() || ::inet_pton(AF_INET, host.c_str(), buffer) == 1) return {};
  return host;
}

std::string command_subject(std::string_view id, Verb verb) {
  return std::string(command_prefix) + "." + std::string(id) + "." + std::string(verb_name(verb));
}
std::string command_subscription(std::string_view id) { return std::string(command_prefix) + "." + std::string(id) + ".>"; }
std::string heartbeat_subject(std::string_view id) { return std::string(heartbeat_prefix) + "." + std::string(id); }
std::string status_key(std::string_view id) { return std::string(id); }

std::optional<std::string> verb_token(std::string_view subject, std::string_view id) {
  const std::string prefix = std::string(command_prefix) + "." + std::string(id) + ".";
  if (!subject.starts_with(prefix)) return std::nullopt;
  std::string_view rest = subject.substr(prefix.size());
  if (rest.empty()) return std::nullopt;
  return std::string(rest);
}

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::malformed_request: return "malformed_request";
    case ErrorKind::unknown_verb: return "unknown_verb";
    case ErrorKind::payload_too_large: return "payload_too_large";
    case ErrorKind::not_allowed: return "not_allowed";
    case ErrorKind::timed_out: return "timed_out";
    case ErrorKind::exec_failed: return "exec_failed";
    case ErrorKind::busy: return "busy";
    case ErrorKind::internal: return "internal";
    case ErrorKind::bad_reply: return "bad_reply";
  }
  return "internal";
}

std::optional<ErrorKind> parse_error_kind(std::string_view name) {
  for (ErrorKind k : {ErrorKind::malformed_request, ErrorKind::unknown_verb, ErrorKind::payload_too_large,
                      ErrorKind::not_allowed, ErrorKind::timed_out, ErrorKind::exec_failed, ErrorKind::busy,
                      ErrorKind::internal, ErrorKind::bad_reply})
    if (error_kind_name(k) == name) return k;
  return std::nullopt;
}

base::expected<Request, Failure> decode_request(std::string_view verb_token, std::string_view payload) {
  if (payload.size() > max_request_size)
    return failed(ErrorKind::payload_too_large, "the request is " + std::to_string(payload.size()) +
                                                    " bytes; the limit is " + std::to_string(max_request_size));
  auto verb = parse_verb(verb_token);
  if (!verb) {
    std::string shown = base::printable(verb_token.substr(0, 64));
    return failed(ErrorKind::unknown_verb, "'" + shown + "' is not a verb; the verbs are ping, status, exec and logs");
  }
  Request request;
  request.verb = *verb;
  json doc = json::object();
  std::size_t start = payload.find_first_not_of(" \t\r\n");
  if (start != std::string_view::npos) {
    std::string repeated;
    doc = parse_checked(payload, repeated);
    if (doc.is_discarded()) return failed(ErrorKind::malformed_request, "the request is not valid JSON");
    if (!doc.is_object()) return failed(ErrorKind::malformed_request, "the request must be a JSON object");
    if (!repeated.empty()) return failed(ErrorKind::malformed_request, repeated_key("the request", repeated));
  }
  Fields f(doc, ErrorKind::malformed_request);
  switch (*verb) {
    case Verb::ping:
    case Verb::status: break;
    case Verb::exec: {
      ExecRequest exec;
      HARMONY_TRY(argv, f.strings("argv"));
      if (argv->empty()) return failed(ErrorKind::malformed_request, "the field 'argv' is missing or empty");
      // execve would cut an argument at a NUL and run something else than asked.
      for (const auto& arg : *argv)
        if (arg.find('\0') != std::string::npos)
          return failed(ErrorKind::malformed_request, "the field 'argv' must not hold NUL characters");
      exec.argv = std::move(*argv);
      HARMONY_TRY(timeout, f.optional_integer("timeout_ms"));
      if (*timeout) {
        if (**timeout <= 0) return failed(ErrorKind::malformed_request, "the field 'timeout_ms' must be positive");
        exec.timeout = std::chrono::milliseconds(**timeout);
      }
      request.body = std::move(exec);
      break;
    }
    case Verb::logs: {
      LogsRequest logs;
      HARMONY_TRY(lines, f.optional_integer("lines"));
      if (*lines) {
        if (**lines < 0) return failed(ErrorKind::malformed_request, "the field 'lines' must not be negative");
        logs.lines = static_cast<std::size_t>(**lines);
      }
      request.body = logs;
      break;
    }
  }
  return request;
}

std::string encode_request(const ExecRequest& request) {
  json doc = {{"argv", request.argv}};
  if (request.timeout) doc["timeout_ms"] = request.timeout->count();
  return dump(doc);
}

std::string encode_request(const LogsRequest& request) {
  json doc = json::object();
  if (request.lines) doc["lines"] = *request.lines;
  return dump(doc);
}

std::string encode(const PingReply& r) {
  return dump({{"id", r.id},
               {"version", r.version},
               {"protocol", r.protocol},
               {"uptime_ms", r.uptime_ms},
               {"labels", labels_json(r.labels)},
               {"time", r.time}});
}

std::string encode(const StatusReply& r) {
  json workloads = json::array();
  for (const auto& w : r.workloads)
    workloads.push_back({{"namespace", w.namespace_}, {"name", w.name}, {"revision", w.revision}, {"phase", w.phase},
                         {"message", w.message}, {"restarts", w.restarts}});
  return dump({{"id", r.id},
               {"version", r.version},
               {"protocol", r.protocol},
               {"started_at", r.started_at},
               {"uptime_ms", r.uptime_ms},
               {"labels", labels_json(r.labels)},
               {"nats", {{"server", r.nats_server}, {"reconnects", r.reconnects}}},
               {"heartbeat", {{"mode", r.heartbeat_mode}, {"last", r.last_heartbeat}, {"interval_ms", r.heartbeat_interval_ms}}},
               {"exec", {{"allowed", r.exec_allowed}, {"allowed_args", r.exec_allowed_args}, {"running", r.exec_running}}},
               {"workloads", workloads},
               {"time", r.time}});
}

std::string encode(const ExecReply& r) {
  json doc = {{"exit_code", r.exit_code ? json(*r.exit_code) : json(nullptr)},
              {"signal", r.signal ? json(*r.signal) : json(nullptr)},
              {"stdout", r.stdout_text},
              {"stderr", r.stderr_text},
              {"stdout_truncated", r.stdout_truncated},
              {"stderr_truncated", r.stderr_truncated},
              {"output_incomplete", r.output_incomplete},
              {"duration_ms", r.duration_ms}};
  if (r.signal) doc["signal_name"] = r.signal_name;
  return dump(doc);
}

std::string encode(const LogsReply& r) { return dump({{"lines", r.lines}, {"truncated", r.truncated}}); }

std::string encode(const Heartbeat& h) {
  return dump({{"id", h.id},
               {"version", h.version},
               {"protocol", h.protocol},
               {"labels", labels_json(h.labels)},
               {"status", h.status},
               {"time", h.time},
               {"started_at", h.started_at},
               {"interval_ms", h.interval_ms}});
}

std::string encode(const Failure& f) {
  return dump({{"error", {{"kind", error_kind_name(f.kind)}, {"message", f.message}}}});
}

base::expected<PingReply, Failure> decode_ping_reply(std::string_view payload) {
  HARMONY_TRY(doc, parse_reply(payload));
  PingReply r;
  Reader in(*doc);
  in.text("id", r.id, true).text("version", r.version).number("protocol", r.protocol).number("uptime_ms", r.uptime_ms);
  in.labels("labels", r.labels).text("time", r.time);
  return in.result(std::move(r));
}

base::expected<StatusReply, Failure> decode_status_reply(std::string_view payload) {
  HARMONY_TRY(doc, parse_reply(payload));
  StatusReply r;
  Reader in(*doc);
  in.text("id", r.id, true).text("version", r.version).number("protocol", r.protocol).text("started_at", r.started_at);
  in.number("uptime_ms", r.uptime_ms).labels("labels", r.labels).text("time", r.time);
  in.object("nats").text("server", r.nats_server).number("reconnects", r.reconnects);
  in.object("heartbeat").text("mode", r.heartbeat_mode).text("last", r.last_heartbeat).number("interval_ms", r.heartbeat_interval_ms);
  in.object("exec").strings("allowed", r.exec_allowed).argument_rules("allowed_args", r.exec_allowed_args);
  in.number("running", r.exec_running);
  // Added in 0.2: an older agent has no workloads member.
  if (auto it = doc->find("workloads"); it != doc->end() && !it->is_null()) {
    if (!it->is_array()) return failed(ErrorKind::bad_reply, "the field 'workloads' must be a list");
    for (const auto& item : *it) {
      if (!item.is_object()) return failed(ErrorKind::bad_reply, "the field 'workloads' must be a list of objects");
      WorkloadStatus w;
      Reader each(item);
      each.text("namespace", w.namespace_).text("name", w.name).text("revision", w.revision).text("phase", w.phase);
      each.text("message", w.message).number("restarts", w.restarts);
      if (!each.ok()) return each.result(StatusReply{});
      r.workloads.push_back(std::move(w));
    }
  }
  return in.result(std::move(r));
}

base::expected<ExecReply, Failure> decode_exec_reply(std::string_view payload) {
  HARMONY_TRY(doc, parse_reply(payload));
  ExecReply r;
  Reader in(*doc);
  in.optional_number("exit_code", r.exit_code).optional_number("signal", r.signal).text("signal_name", r.signal_name);
  in.text("stdout", r.stdout_text).text("stderr", r.stderr_text);
  in.flag("stdout_truncated", r.stdout_truncated).flag("stderr_truncated", r.stderr_truncated);
  in.flag("output_incomplete", r.output_incomplete);  // absent (older agents): false
  in.number("duration_ms", r.duration_ms);
  if (in.ok() && !r.exit_code && !r.signal) return failed(ErrorKind::bad_reply, "the reply has neither 'exit_code' nor 'signal'");
  return in.result(std::move(r));
}

base::expected<LogsReply, Failure> decode_logs_reply(std::string_view payload) {
  HARMONY_TRY(doc, parse_reply(payload));
  LogsReply r;
  Reader in(*doc);
  in.strings("lines", r.lines).flag("truncated", r.truncated);
  return in.result(std::move(r));
}

base::expected<Heartbeat, Failure> decode_heartbeat(std::string_view payload) {
  HARMONY_TRY(doc, parse_reply(payload));
  Heartbeat h;
  Reader in(*doc);
  in.text("id", h.id, true).text("version", h.version).number("protocol", h.protocol).labels("labels", h.labels);
  in.text("status", h.status).text("time", h.time, true).text("started_at", h.started_at).number("interval_ms", h.interval_ms);
  if (h.status.empty()) h.status = "ok";
  return in.result(std::move(h));
}

}  // namespace harmony::agent
