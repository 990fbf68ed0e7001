// The wire contract's codec, against the JSON shapes of docs/agent-protocol.md.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <harmony/agent/protocol.hpp>

using namespace harmony::agent;
using nlohmann::json;

namespace {

ErrorKind refusal(std::string_view verb, std::string_view payload) {
  auto r = decode_request(verb, payload);
  REQUIRE_FALSE(r);
  return r.error().kind;
}

}  // namespace

TEST_CASE("subjects follow device-commands.<id>.<verb> and heartbeat.<id>") {
  CHECK(command_subject("edge-7", Verb::exec) == "device-commands.edge-7.exec");
  CHECK(command_subscription("edge-7") == "device-commands.edge-7.>");
  CHECK(heartbeat_subject("edge-7") == "heartbeat.edge-7");
  CHECK(status_key("edge-7") == "edge-7");
  CHECK(verb_token("device-commands.edge-7.ping", "edge-7") == "ping");
  CHECK(verb_token("device-commands.edge-7.a.b", "edge-7") == "a.b");
  CHECK_FALSE(verb_token("device-commands.edge-70.ping", "edge-7"));
  CHECK_FALSE(verb_token("device-commands.edge-7.", "edge-7"));
}

TEST_CASE("device ids are RFC 1123 labels") {
  CHECK(valid_device_id("edge-7"));
  CHECK(valid_device_id("a"));
  CHECK(valid_device_id(std::string(63, 'a')));
  CHECK_FALSE(valid_device_id(std::string(64, 'a')));
  CHECK_FALSE(valid_device_id("Edge"));
  CHECK_FALSE(valid_device_id("-edge"));
  CHECK_FALSE(valid_device_id("edge-"));
  CHECK_FALSE(valid_device_id("edge.7"));  // a dot would split the NATS subject
  CHECK_FALSE(valid_device_id("edge*"));
  CHECK_FALSE(valid_device_id(""));
  auto refused = validate_device_id("Edge_7");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("device id") != std::string::npos);
}

TEST_CASE("a TLS client checks the server's certificate against the URL's host name, not an address") {
  CHECK(verifiable_host("tls://nats.fleet-system.svc:4222") == "nats.fleet-system.svc");
  CHECK(verifiable_host("nats://user:pw@nats:4222") == "nats");
  CHECK(verifiable_host("tls://10.0.0.1:30423").empty());
  CHECK(verifiable_host("tls://[::1]:4222").empty());
  CHECK(verifiable_host("nats.example").empty() == false);
}

TEST_CASE("an empty body is a valid ping, status and logs request") {
  for (auto verb : {"ping", "status", "logs"}) {
    INFO(verb);
    auto r = decode_request(verb, "");
    REQUIRE(r);
    CHECK(verb_name(r->verb) == verb);
  }
  auto blank = decode_request("ping", " \r\n");
  REQUIRE(blank);
  CHECK(blank->verb == Verb::ping);
  CHECK(decode_request("ping", "{}"));
  CHECK(decode_request("ping", R"({"future_field": [1, 2]})"));  // unknown fields are ignored
}

TEST_CASE("exec requests carry argv and an optional deadline") {
  auto r = decode_request("exec", R"({"argv": ["/bin/echo", "hi there"], "timeout_ms": 1500})");
  REQUIRE(r);
  const auto& exec = std::get<ExecRequest>(r->body);
  CHECK(exec.argv == std::vector<std::string>{"/bin/echo", "hi there"});
  REQUIRE(exec.timeout);
  CHECK(exec.timeout->count() == 1500);

  auto round = decode_request("exec", encode_request(exec));
  REQUIRE(round);
  CHECK(std::get<ExecRequest>(round->body).argv == exec.argv);
  CHECK(json::parse(encode_request(ExecRequest{{"/bin/true"}, std::nullopt})) == json{{"argv", {"/bin/true"}}});
}

TEST_CASE("each malformed request is refused as malformed_request") {
  CHECK(refusal("exec", "{") == ErrorKind::malformed_request);
  CHECK(refusal("ping", "[1]") == ErrorKind::malformed_request);
  CHECK(refusal("ping", "\"ping\"") == ErrorKind::malformed_request);
  CHECK(refusal("exec", "{}") == ErrorKind::malformed_request);
  CHECK(refusal("exec", R"({"argv": []})") == ErrorKind::malformed_request);
  CHECK(refusal("exec", R"({"argv": "/bin/ls"})") == ErrorKind::malformed_request);
  CHECK(refusal("exec", R"({"argv": ["/bin/ls", 3]})") == ErrorKind::malformed_request);
  CHECK(refusal("exec", R"({"argv": ["/bin/ls"], "timeout_ms": "5s"})") == ErrorKind::malformed_request);
  CHECK(refusal("exec", R"({"argv": ["/bin/ls"], "timeout_ms": 0})") == ErrorKind::malformed_request);
  CHECK(refusal("exec", R"({"argv": ["/bin/ls"], "timeout_ms": 1.5})") == ErrorKind::malformed_request);
  CHECK(refusal("exec", R"({"argv": ["/bin/ls\u0000 -la"]})") == ErrorKind::malformed_request);
  CHECK(refusal("logs", R"({"lines": -1})") == ErrorKind::malformed_request);
  CHECK(refusal("logs", "{\"lines\": 5") == ErrorKind::malformed_request);
  CHECK(refusal("ping", std::string("{\"a\": \"\xff\xfe\"}")) == ErrorKind::malformed_request);
}

TEST_CASE("a request or reply that repeats a key is refused, whichever copy would win") {
  auto twice = decode_request("exec", R"({"argv": ["/bin/echo", "safe"], "argv": ["/bin/rm", "-rf", "/"]})");
  REQUIRE_FALSE(twice);
  CHECK(twice.error().kind == ErrorKind::malformed_request);
  CHECK_THAT(twice.error().message, Catch::Contains("repeats the key 'argv'"));
  CHECK(refusal("logs", R"({"lines": 1, "x": {"a": 1, "a": 2}})") == ErrorKind::malformed_request);  // nested too
  CHECK(decode_request("ping", R"({"a": {"k": 1}, "b": {"k": 2}})"));  // the same key in two objects is fine
  // The key named in the message is made printable.
  auto escape = decode_request("ping", R"({"\u001b]0;x\u0007": 1, "\u001b]0;x\u0007": 2})");
  REQUIRE_FALSE(escape);
  CHECK_THAT(escape.error().message, Catch::Contains("repeats the key '?]0;x?'"));

  auto reply = decode_ping_reply(R"({"id": "edge-7", "id": "edge-8"})");
  REQUIRE_FALSE(reply);
  CHECK(reply.error().kind == ErrorKind::bad_reply);
  CHECK_FALSE(decode_heartbeat(R"({"id": "a", "time": "2026-11-26T10:00:00Z", "labels": {"x": "1", "x": "2"}})"));
}

TEST_CASE("unknown verbs and oversized payloads have their own kinds") {
  CHECK(refusal("reboot", "") == ErrorKind::unknown_verb);
  CHECK(refusal("", "") == ErrorKind::unknown_verb);
  CHECK(refusal("PING", "") == ErrorKind::unknown_verb);
  auto r = decode_request(std::string(5000, 'x') + "\x01", "");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.size() < 200);  // the token is cut and made printable
  CHECK(r.error().message.find('\x01') == std::string::npos);

  const std::string big(max_request_size + 1, ' ');
  CHECK(refusal("ping", big) == ErrorKind::payload_too_large);
  CHECK(decode_request("ping", std::string(max_request_size, ' ')));
}

TEST_CASE("error replies have the shape {error: {kind, message}}") {
  auto doc = json::parse(encode(Failure{ErrorKind::not_allowed, "no"}));
  CHECK(doc == json{{"error", {{"kind", "not_allowed"}, {"message", "no"}}}});
  for (auto kind : {ErrorKind::malformed_request, ErrorKind::unknown_verb, ErrorKind::payload_too_large,
                    ErrorKind::not_allowed, ErrorKind::timed_out, ErrorKind::exec_failed, ErrorKind::busy,
                    ErrorKind::internal}) {
    auto decoded = decode_ping_reply(encode(Failure{kind, "why"}));
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().kind == kind);
    CHECK(decoded.error().message == "why");
    CHECK(parse_error_kind(error_kind_name(kind)) == kind);
  }
  // A kind from a newer agent is still an error, not a success.
  auto newer = decode_exec_reply(R"({"error": {"kind": "quota_exceeded", "message": "later"}})");
  REQUIRE_FALSE(newer);
  CHECK(newer.error().kind == ErrorKind::internal);
  CHECK(newer.error().message == "later");
}

TEST_CASE("replies round-trip through their codec") {
  PingReply ping{"edge-7", "0.1.0", protocol_version, 1234, {{"site", "lyon"}}, "2026-11-26T10:00:00Z"};
  auto p = decode_ping_reply(encode(ping));
  REQUIRE(p);
  CHECK(p->id == "edge-7");
  CHECK(p->uptime_ms == 1234);
  CHECK(p->labels == Labels{{"site", "lyon"}});
  CHECK(p->time == "2026-11-26T10:00:00Z");

  ExecReply exec;
  exec.signal = 9;
  exec.signal_name = "SIGKILL";
  exec.stdout_text = "out";
  exec.stderr_truncated = true;
  exec.output_incomplete = true;
  auto doc = json::parse(encode(exec));
  CHECK(doc["exit_code"].is_null());
  CHECK(doc["signal"] == 9);
  CHECK(doc["signal_name"] == "SIGKILL");
  auto e = decode_exec_reply(encode(exec));
  REQUIRE(e);
  CHECK_FALSE(e->exit_code);
  CHECK(e->signal == 9);
  CHECK(e->stderr_truncated);
  CHECK(e->output_incomplete);
  CHECK(e->stdout_text == "out");

  StatusReply status;
  status.id = "edge-7";
  status.nats_server = "nats://127.0.0.1:4222";
  status.heartbeat_mode = "kv";
  status.exec_allowed = {"/bin/systemctl", "/usr/bin/uptime"};
  status.exec_allowed_args = {{"/bin/systemctl", {{"status", "nginx"}, {"restart", "nginx"}, {}}}};
  auto s = decode_status_reply(encode(status));
  REQUIRE(s);
  CHECK(s->nats_server == status.nats_server);
  CHECK(s->heartbeat_mode == "kv");
  CHECK(s->exec_allowed == status.exec_allowed);
  CHECK(s->exec_allowed_args == status.exec_allowed_args);
  CHECK(json::parse(encode(status))["exec"]["allowed_args"]["/bin/systemctl"][0] == json{"status", "nginx"});

  LogsReply logs{{"one", "two"}, true};
  auto l = decode_logs_reply(encode(logs));
  REQUIRE(l);
  CHECK(l->lines == logs.lines);
  CHECK(l->truncated);

  Heartbeat beat;
  beat.id = "edge-7";
  beat.time = "2026-11-26T10:00:00Z";
  beat.interval_ms = 5000;
  auto h = decode_heartbeat(encode(beat));
  REQUIRE(h);
  CHECK(h->id == "edge-7");
  CHECK(h->status == "ok");
  CHECK(h->interval_ms == 5000);
}

TEST_CASE("output that is not UTF-8 is replaced, not refused") {
  ExecReply exec;
  exec.exit_code = 0;
  exec.stdout_text = "caf\xe9\n";
  auto e = decode_exec_reply(encode(exec));
  REQUIRE(e);
  CHECK(e->stdout_text.starts_with("caf"));
  CHECK(e->stdout_text.ends_with("\n"));
}

TEST_CASE("an agent cannot claim the reader's own bad_reply verdict: it is an internal error") {
  auto claimed = decode_ping_reply(R"({"error": {"kind": "bad_reply", "message": "\u001b]0;pwned\u0007"}})");
  REQUIRE_FALSE(claimed);
  CHECK(claimed.error().kind == ErrorKind::internal);
}

TEST_CASE("replies that cannot be read are bad_reply") {
  CHECK(decode_ping_reply("").error().kind == ErrorKind::bad_reply);
  CHECK(decode_ping_reply("null").error().kind == ErrorKind::bad_reply);
  CHECK(decode_ping_reply("{}").error().kind == ErrorKind::bad_reply);  // no id
  CHECK(decode_ping_reply(R"({"id": 7})").error().kind == ErrorKind::bad_reply);
  CHECK(decode_ping_reply(R"({"error": "no"})").error().kind == ErrorKind::bad_reply);
  CHECK(decode_exec_reply(R"({"stdout": ""})").error().kind == ErrorKind::bad_reply);  // neither exit code nor signal
  CHECK(decode_logs_reply(R"({"lines": [1]})").error().kind == ErrorKind::bad_reply);
  CHECK(decode_heartbeat(R"({"id": "a"})").error().kind == ErrorKind::bad_reply);  // no time
}

TEST_CASE("status carries the fleet's workloads, and an older agent's status without them still reads") {
  StatusReply status;
  status.id = "edge-1";
  status.workloads = {{"shop", "web", "23142be665032574", "Running", "", 2},
                      {"shop", "job", "0000000000000001", "Failed", "exited with status 3", 0}};
  auto back = decode_status_reply(encode(status));
  REQUIRE(back);
  REQUIRE(back->workloads.size() == 2);
  CHECK(back->workloads[0].name == "web");
  CHECK(back->workloads[0].restarts == 2);
  CHECK(back->workloads[1].message == "exited with status 3");
  auto older = decode_status_reply(R"({"id":"edge-1","exec":{"allowed":[],"running":0}})");
  REQUIRE(older);
  CHECK(older->workloads.empty());
  auto broken = decode_status_reply(R"({"id":"edge-1","workloads":{"web":1}})");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().kind == ErrorKind::bad_reply);
  auto wrong = decode_status_reply(R"({"id":"edge-1","workloads":[{"name":3}]})");
  REQUIRE_FALSE(wrong);
}
