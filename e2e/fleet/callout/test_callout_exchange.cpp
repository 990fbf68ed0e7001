// The auth callout exchange against a real nats-server >= 2.10 (the test
// cluster's build, 2.12): nats-server sends its authorization requests to a
// callout built on harmony_callout, which admits a user with exactly the
// permissions it grants, refuses others, and answers sealed requests sealed.
// What is checked is what nats-server itself accepts: the nkeys, the JWTs,
// the xkey boxes.

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <unistd.h>

#include <nats/nats.h>

#include <harmony/callout/authorization.hpp>
#include <harmony/callout/nkeys.hpp>
#include <harmony/testing.hpp>

#include "eventually.hpp"
#include "callout_server.hpp"
#include "nats.hpp"
#include "skip.hpp"

using namespace harmony;
using namespace harmony::callout;
using namespace std::chrono_literals;

namespace {


// The callout under test: admits edge-1 with the right password into FLEET,
// allowed only `allowed.>`; refuses everyone else.
class Callout {
 public:
  Callout(const std::string& url, const KeyPair& issuer, const XKey* xkey) : issuer_(issuer), xkey_(xkey) {
    connection_ = e2e::nats_connect(url, "callout", "callout-secret");
    REQUIRE(connection_ != nullptr);
    REQUIRE(natsConnection_Subscribe(&subscription_, connection_, "$SYS.REQ.USER.AUTH", &Callout::on_request, this) == NATS_OK);
    REQUIRE(natsConnection_Flush(connection_) == NATS_OK);
  }
  ~Callout() {
    natsSubscription_Destroy(subscription_);
    natsConnection_Destroy(connection_);
  }
  [[nodiscard]] int requests() const { return requests_; }
  [[nodiscard]] int sealed() const { return sealed_; }
  [[nodiscard]] std::string last_problem() const {
    std::lock_guard lock(mutex_);
    return problem_;
  }

 private:
  static void on_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<Callout*>(closure);
    ++self->requests_;
    const char* server_xkey = nullptr;
    if (natsMsgHeader_Get(msg, std::string(server_xkey_header).c_str(), &server_xkey) != NATS_OK) server_xkey = nullptr;
    if (server_xkey != nullptr) ++self->sealed_;
    const std::string payload(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    auto request = read_request(payload, server_xkey != nullptr ? server_xkey : "", self->xkey_);
    if (!request) {
      std::lock_guard lock(self->mutex_);
      self->problem_ = request.error().reason;
      natsMsg_Destroy(msg);
      return;  // no answer: the server times out and refuses
    }
    base::expected<std::string> response = base::fail(base::make_error("unset"));
    if (request->user == "edge-1" && request->password == "right") {
      Grant grant{.name = "device edge-1", .account = "FLEET", .permissions = {}, .lifetime = 600s};
      grant.permissions.publish_allow = {"allowed.>"};
      grant.permissions.subscribe_allow = {"allowed.>", "_INBOX.>"};
      response = admit(*request, grant, self->issuer_, self->xkey_);
    } else {
      response = refuse(*request, "unknown user or wrong password", self->issuer_, self->xkey_);
    }
    if (response)
      natsConnection_Publish(nc, natsMsg_GetReply(msg), response->data(), static_cast<int>(response->size()));
    natsMsg_Destroy(msg);
  }

  const KeyPair& issuer_;
  const XKey* xkey_;
  natsConnection* connection_ = nullptr;
  natsSubscription* subscription_ = nullptr;
  std::atomic<int> requests_{0};
  std::atomic<int> sealed_{0};
  mutable std::mutex mutex_;
  std::string problem_;
};

std::string callout_config(const KeyPair& issuer, const XKey* xkey) {
  return "accounts {\n"
         "  AUTH { users: [ { user: callout, password: callout-secret } ] }\n"
         "  FLEET { }\n"
         "  SYS { }\n"
         "}\n"
         "system_account: SYS\n"
         "authorization {\n"
         "  auth_callout {\n"
         "    issuer: " + issuer.public_key() + "\n"
         "    users: [ callout ]\n"
         "    account: AUTH\n" +
         (xkey != nullptr ? "    xkey: " + xkey->public_key() + "\n" : std::string()) +
         "  }\n"
         "}\n";
}

void exchange(bool seal) {
  auto server_program = callout_capable_server();
  if (!server_program)
    HARMONY_SKIP("no nats-server >= 2.10 here (built by e2e/cluster/build-components into " +
                 std::string(HARMONY_E2E_CALLOUT_NATS_SERVER) + "; Debian's 2.9 has no auth callout)");
  testing::Sandbox box("callout");
  const KeyPair issuer = KeyPair::generate(KeyKind::account);
  const XKey xkey = XKey::generate();
  const XKey* sealing = seal ? &xkey : nullptr;
  e2e::NatsServer server(box, {.jetstream = false, .users = {}, .extra = callout_config(issuer, sealing), .program = *server_program});
  server.start();
  Callout callout(server.url(), issuer, sealing);

  // Admitted, with the granted permissions and no others.
  natsConnection* device = e2e::nats_connect(server.url(), "edge-1", "right");
  INFO(callout.last_problem());
  INFO(server.log());
  REQUIRE(device != nullptr);
  CHECK(callout.requests() >= 1);
  CHECK(callout.sealed() == (seal ? callout.requests() : 0));
  natsSubscription* sub = nullptr;
  REQUIRE(natsConnection_SubscribeSync(&sub, device, "allowed.>") == NATS_OK);
  REQUIRE(natsConnection_PublishString(device, "allowed.one", "hello") == NATS_OK);
  natsMsg* got = nullptr;
  REQUIRE(natsSubscription_NextMsg(&got, sub, 5000) == NATS_OK);
  CHECK(std::string(natsMsg_GetData(got)) == "hello");
  natsMsg_Destroy(got);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(device);

  // The server enforces what the user JWT says: publishing elsewhere is a
  // permissions violation it reports to the client.
  AsyncErrors errors;
  natsOptions* options = nullptr;
  REQUIRE(natsOptions_Create(&options) == NATS_OK);
  natsOptions_SetURL(options, server.url().c_str());
  natsOptions_SetUserInfo(options, "edge-1", "right");
  natsOptions_SetAllowReconnect(options, false);
  natsOptions_SetErrorHandler(options, AsyncErrors::handler, &errors);
  natsConnection* limited = nullptr;
  REQUIRE(natsConnection_Connect(&limited, options) == NATS_OK);
  natsOptions_Destroy(options);
  natsConnection_PublishString(limited, "denied.one", "nope");
  natsConnection_Flush(limited);
  CHECK(testing::eventually([&] { return errors.last().find("Permissions Violation") != std::string::npos; }));
  natsConnection_Destroy(limited);

  // Refused: a wrong password, and a user the callout does not know.
  CHECK(e2e::nats_connect(server.url(), "edge-1", "wrong") == nullptr);
  CHECK(e2e::nats_connect(server.url(), "edge-2", "right") == nullptr);
  CHECK(testing::eventually([&] { return server.log().find("unknown user or wrong password") != std::string::npos; }));
  CHECK(callout.last_problem().empty());
}

}  // namespace

TEST_CASE("nats-server admits through harmony's callout only whom it grants, with exactly the granted permissions") {
  exchange(false);
}

TEST_CASE("with an xkey, nats-server seals its requests and accepts the callout's sealed answers") { exchange(true); }
