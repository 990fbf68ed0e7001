// ZitadelScore's chart values and management API calls, against the shapes
// Zitadel documents (chart 9.34.0's values.yaml; the management API v1's
// AddProject, AddProjectRole, AddAPIApp, AddMachineUser, AddMachineKey and
// their _search lists). Zitadel itself is not exercised: it cannot be built
// or run on these machines. The fake below answers as the documentation
// says, and refuses what the documentation does not allow (a missing
// required field, an unknown field, a value outside an enum) the way
// Zitadel does: HTTP 400.

#include <catch2/catch.hpp>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/text.hpp>
#include <harmony/fleet/zitadel.hpp>

using namespace harmony;
using namespace harmony::fleet;
using nlohmann::json;

namespace {

class FakeZitadel {
 public:
  std::string token_seen;
  bool expired = false;
  std::string failing_user;  // its keys cannot be made
  std::vector<std::string> calls;

  ZitadelSend send() {
    return [this](const std::string& method, const std::string& path, const std::string& body) -> base::expected<ZitadelResponse> {
      calls.push_back(method + " " + path);
      if (expired) return ZitadelResponse{401, R"x({"code":16,"message":"Errors.Token.Invalid (AUTH-7fs1e)"})x"};
      auto doc = json::parse(body, nullptr, false);
      if (!doc.is_object()) return bad("the body is not a JSON object");
      return handle(method, path, doc);
    };
  }

  std::map<std::string, json> projects, users;  // by id
  std::map<std::string, std::vector<std::string>> roles, keys;  // project -> keys, user -> key ids
  std::map<std::string, std::vector<json>> apps;                // project -> apps

 private:
  int next_ = 100000;
  std::string id() { return std::to_string(++next_) + "000000000"; }

  static ZitadelResponse bad(const std::string& why) { return {400, json{{"code", 3}, {"message", why}}.dump()}; }
  static ZitadelResponse ok(json doc) {
    doc["details"] = {{"sequence", "1"}, {"creationDate", "2026-12-01T00:00:00Z"}, {"resourceOwner", "9000"}};
    return {200, doc.dump()};
  }
  // The documented fields of a request; the rest are refused.
  static std::optional<ZitadelResponse> only(const json& doc, std::set<std::string> allowed, std::set<std::string> required) {
    for (auto& [k, v] : doc.items())
      if (!allowed.count(k)) return bad("unknown field " + k);
    for (const auto& r : required)
      if (!doc.contains(r) || !doc[r].is_string() || doc[r].get<std::string>().empty()) return bad(r + " is required");
    return std::nullopt;
  }
  // A _search with one TEXT_QUERY_METHOD_EQUALS query on `query`.`field`.
  static std::optional<std::string> equals(const json& doc, const std::string& query, const std::string& field) {
    if (!doc.contains("queries") || !doc["queries"].is_array() || doc["queries"].size() != 1) return std::nullopt;
    const auto& q = doc["queries"][0];
    if (!q.contains(query) || q[query].value("method", "") != "TEXT_QUERY_METHOD_EQUALS") return std::nullopt;
    return q[query].value(field, "");
  }
  static ZitadelResponse list(std::vector<json> result) { return {200, json{{"details", {{"totalResult", std::to_string(result.size())}}}, {"result", result}}.dump()}; }

  ZitadelResponse handle(const std::string& method, const std::string& path, const json& doc) {
    const auto parts = base::split_list(path, '/');  // management, v1, ...
    if (parts.size() < 3 || parts[0] != "management" || parts[1] != "v1" || method != "POST") return {404, R"({"code":5,"message":"Not Found"})"};
    if (parts[2] == "projects" && parts.size() == 4 && parts[3] == "_search") {
      auto name = equals(doc, "nameQuery", "name");
      if (!name) return bad("a nameQuery with TEXT_QUERY_METHOD_EQUALS was expected");
      std::vector<json> found;
      for (const auto& [pid, p] : projects)
        if (p["name"] == *name) found.push_back(p);
      return list(found);
    }
    if (parts[2] == "projects" && parts.size() == 3) {
      if (auto refused = only(doc, {"name", "projectRoleAssertion", "projectRoleCheck", "hasProjectCheck", "privateLabelingSetting"}, {"name"}))
        return *refused;
      const std::string pid = id();
      projects[pid] = {{"id", pid}, {"name", doc["name"]}, {"projectRoleAssertion", doc.value("projectRoleAssertion", false)}};
      return ok({{"id", pid}});
    }
    if (parts[2] == "projects" && parts.size() >= 5 && projects.count(parts[3])) {
      const std::string pid = parts[3];
      if (parts[4] == "roles" && parts.size() == 6 && parts[5] == "_search") {
        auto key = equals(doc, "keyQuery", "key");
        if (!key) return bad("a keyQuery was expected");
        std::vector<json> found;
        for (const auto& k : roles[pid])
          if (k == *key) found.push_back({{"key", k}});
        return list(found);
      }
      if (parts[4] == "roles" && parts.size() == 5) {
        if (auto refused = only(doc, {"roleKey", "displayName", "group"}, {"roleKey"})) return *refused;
        roles[pid].push_back(doc["roleKey"]);
        return ok(json::object());
      }
      if (parts[4] == "apps" && parts.size() == 6 && parts[5] == "_search") {
        auto name = equals(doc, "nameQuery", "name");
        if (!name) return bad("a nameQuery was expected");
        std::vector<json> found;
        for (const auto& a : apps[pid])
          if (a["name"] == *name) found.push_back(a);
        return list(found);
      }
      if (parts[4] == "apps" && parts.size() == 6 && parts[5] == "api") {
        if (auto refused = only(doc, {"name", "authMethodType"}, {"name"})) return *refused;
        const std::string method_type = doc.value("authMethodType", "API_AUTH_METHOD_TYPE_BASIC");
        if (method_type != "API_AUTH_METHOD_TYPE_BASIC" && method_type != "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT")
          return bad("invalid authMethodType");
        const std::string app = id();
        apps[pid].push_back({{"id", app}, {"name", doc["name"]}, {"apiConfig", {{"clientId", app + "@fleet"}, {"authMethodType", method_type}}}});
        return ok({{"appId", app}, {"clientId", app + "@fleet"}});
      }
    }
    if (parts[2] == "users" && parts.size() == 4 && parts[3] == "_search") {
      auto name = equals(doc, "userNameQuery", "userName");
      if (!name) return bad("a userNameQuery was expected");
      std::vector<json> found;
      for (const auto& [uid, u] : users)
        if (u["userName"] == *name) found.push_back(u);
      return list(found);
    }
    if (parts[2] == "users" && parts.size() == 4 && parts[3] == "machine") {
      if (auto refused = only(doc, {"userName", "name", "description", "accessTokenType", "userId"}, {"userName", "name"})) return *refused;
      const std::string type = doc.value("accessTokenType", "ACCESS_TOKEN_TYPE_BEARER");
      if (type != "ACCESS_TOKEN_TYPE_BEARER" && type != "ACCESS_TOKEN_TYPE_JWT") return bad("invalid accessTokenType");
      for (const auto& [uid, u] : users)
        if (u["userName"] == doc["userName"]) return {409, R"({"code":6,"message":"User already exists"})"};
      const std::string uid = id();
      users[uid] = {{"id", uid}, {"userName", doc["userName"]}, {"machine", {{"name", doc["name"]}, {"accessTokenType", type}}}};
      return ok({{"userId", uid}});
    }
    if (parts[2] == "users" && parts.size() == 5 && users.count(parts[3]) && parts[4] == "keys") {
      if (auto refused = only(doc, {"type", "expirationDate", "publicKey"}, {})) return *refused;
      if (doc.value("type", "") != "KEY_TYPE_JSON") return bad("type must be KEY_TYPE_JSON for a key to be returned");
      if (users[parts[3]]["userName"] == failing_user) return {503, R"({"code":14,"message":"unavailable"})"};
      const std::string kid = id();
      keys[parts[3]].push_back(kid);
      const json details = {{"type", "serviceaccount"}, {"keyId", kid}, {"key", "-----BEGIN RSA PRIVATE KEY-----\nMII...\n-----END RSA PRIVATE KEY-----\n"}, {"userId", parts[3]}};
      return ok({{"keyId", kid}, {"keyDetails", base::base64_encode(details.dump())}});
    }
    return {404, R"({"code":5,"message":"Not Found"})"};
  }
};

}  // namespace

TEST_CASE("Zitadel's chart values: pinned chart, machine admin with a PAT, Postgres as chosen, no secret in the values") {
  ZitadelSettings s;
  s.master_key.value = std::string(32, 'k');
  s.database_password.value = "db-secret-password";
  const json values = json::parse(zitadel_chart_values(s));
  CHECK(zitadel_chart_version == "9.34.0");
  CHECK(values["zitadel"]["masterkeySecretName"] == "fleet-zitadel-masterkey");
  const json& config = values["zitadel"]["configmapConfig"];
  CHECK(config["FirstInstance"]["Org"]["Machine"]["Machine"]["Username"] == "harmony-fleet-admin");
  CHECK(config["FirstInstance"]["Org"]["Machine"]["Pat"].contains("ExpirationDate"));
  CHECK(config["ExternalDomain"] == "localhost");
  CHECK(config["ExternalPort"] == 8080);
  CHECK(config["Database"]["Postgres"]["Host"] == "fleet-zitadel-db");
  CHECK(config["Database"]["Postgres"]["Admin"]["Username"] == "postgres");
  CHECK(values["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "fleet-zitadel-db");
  CHECK(values["login"]["enabled"] == false);
  const std::string text = values.dump();
  CHECK(text.find("db-secret-password") == std::string::npos);
  CHECK(text.find(std::string(32, 'k')) == std::string::npos);

  s.database = ZitadelDatabase::external;
  s.database_host = "pg.example.internal";
  s.database_ssl_mode = "verify-full";
  const json external = json::parse(zitadel_chart_values(s));
  CHECK(external["zitadel"]["configmapConfig"]["Database"]["Postgres"]["Host"] == "pg.example.internal");
  CHECK(external["zitadel"]["configmapConfig"]["Database"]["Postgres"]["User"]["SSL"]["Mode"] == "verify-full");

  ZitadelSettings wrong;
  wrong.database = ZitadelDatabase::external;
  wrong.master_key.value = "short";
  wrong.database_ssl_mode = "sometimes";
  const auto problems = wrong.check();
  REQUIRE(problems.size() == 3);
  CHECK(problems[0].key == "database_host");
  CHECK(problems[1].key == "master_key");
  CHECK(problems[2].key == "database_ssl_mode");
}

TEST_CASE("Zitadel's setup: project, fleet-ops role, NATS's application, a machine user and key per device, and a second run makes nothing") {
  FakeZitadel z;
  std::map<std::string, std::string> kept;  // device -> the user of the key harmony holds
  auto held = [&](const std::string& id) { return kept.count(id) ? kept.at(id) : std::string(); };
  auto first = setup_zitadel_fleet(z.send(), {"edge-1", "edge-2"}, held);
  INFO((first ? std::string() : first.error().message + ": " + first.error().reason));
  REQUIRE(first);
  CHECK(z.projects.size() == 1);
  CHECK(z.projects.begin()->second["projectRoleAssertion"] == true);
  CHECK(first->project_id == z.projects.begin()->first);
  CHECK(z.roles[first->project_id] == std::vector<std::string>{"fleet-ops"});
  REQUIRE(z.apps[first->project_id].size() == 1);
  CHECK(z.apps[first->project_id][0]["apiConfig"]["authMethodType"] == "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT");
  CHECK(first->api_client_id == z.apps[first->project_id][0]["apiConfig"]["clientId"]);
  REQUIRE(z.users.size() == 2);
  for (const auto& [uid, u] : z.users) CHECK(u["machine"]["accessTokenType"] == "ACCESS_TOKEN_TYPE_JWT");
  REQUIRE(first->new_keys.size() == 2);
  const json key = json::parse(first->new_keys.at("edge-1"));
  CHECK(key["type"] == "serviceaccount");
  CHECK(z.users.at(key["userId"].get<std::string>())["userName"] == "device-edge-1");
  CHECK(first->created.size() == 7);

  CHECK_FALSE(first->stopped);

  // Keys kept: a second run finds everything and makes nothing.
  for (const auto& [id, text] : first->new_keys) kept[id] = json::parse(text)["userId"];
  const auto before = z.calls.size();
  auto second = setup_zitadel_fleet(z.send(), {"edge-1", "edge-2"}, held);
  REQUIRE(second);
  CHECK(second->created.empty());
  CHECK(second->new_keys.empty());
  CHECK(second->project_id == first->project_id);
  CHECK(second->api_client_id == first->api_client_id);
  for (std::size_t i = before; i < z.calls.size(); ++i) CHECK_THAT(z.calls[i], Catch::EndsWith("/_search"));

  // A new device: its user and key only; a device whose key file was lost
  // gets a new key, and so does one whose key is another user's (a key
  // from before Zitadel's database was replaced).
  kept.erase("edge-2");
  kept["edge-1"] = "9999";
  auto third = setup_zitadel_fleet(z.send(), {"edge-1", "edge-2", "edge-3"}, held);
  REQUIRE(third);
  CHECK(third->created == std::vector<std::string>{"a key for device-edge-1", "a key for device-edge-2", "machine user device-edge-3",
                                                   "a key for device-edge-3"});
  CHECK(z.keys.size() == 3);

  // A device whose key cannot be made stops the setup there; the keys made
  // before it are in the result, to be kept.
  kept.clear();
  z.failing_user = "device-edge-2";
  auto partial = setup_zitadel_fleet(z.send(), {"edge-1", "edge-2", "edge-3"}, held);
  REQUIRE(partial);
  REQUIRE(partial->stopped);
  CHECK_THAT(partial->stopped->message, Catch::Contains("Zitadel refused POST"));
  CHECK(partial->new_keys.size() == 1);
  CHECK(partial->new_keys.count("edge-1") == 1);
  z.failing_user.clear();

  // An expired admin token is said as such.
  z.expired = true;
  auto refused = setup_zitadel_fleet(z.send(), {"edge-1"}, held);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().status == base::exit_status::unauthorized);
  CHECK_THAT(refused.error().hint, Catch::Contains("harmony-fleet-admin-pat"));
}

TEST_CASE("Zitadel's settings: device ids, a tagged image and a chart source are checked, and the image goes into the values") {
  ZitadelSettings s;
  s.devices = {"edge-1", "Edge_2", "edge-1"};
  s.image = "registry.local:5000/zitadel";
  s.chart_repository.clear();
  s.external_domain.clear();
  std::vector<std::string> keys;
  for (const auto& p : s.check()) keys.push_back(p.key);
  CHECK(keys == std::vector<std::string>{"devices", "devices", "chart_repository", "image", "external_domain"});

  ZitadelSettings mirrored;
  mirrored.image = "registry.local:5000/zitadel/zitadel:v4.6.2";
  CHECK(mirrored.check().empty());
  const json values = json::parse(zitadel_chart_values(mirrored));
  CHECK(values["image"]["repository"] == "registry.local:5000/zitadel/zitadel");
  CHECK(values["image"]["tag"] == "v4.6.2");
  CHECK_FALSE(json::parse(zitadel_chart_values(ZitadelSettings{}))["image"].is_object());
}

TEST_CASE("Zitadel's issuer and the objects beside its chart: Secrets, and Postgres when bundled, on a claim unless told otherwise") {
  ZitadelSettings s;
  CHECK(zitadel_issuer_url(s) == "http://localhost:8080");
  s.external_domain = "auth.example.org";
  s.external_secure = true;
  s.external_port.value = 443;
  CHECK(zitadel_issuer_url(s) == "https://auth.example.org");
  s.external_port.value = 8443;
  CHECK(zitadel_issuer_url(s) == "https://auth.example.org:8443");

  const ZitadelSecrets secrets{std::string(32, 'm'), "user-pass", "admin-pass"};
  auto objects = zitadel_objects(s, secrets);
  REQUIRE(objects.size() == 4);
  CHECK(objects[0].kind() == "Secret");
  CHECK(objects[0].name() == "fleet-zitadel-masterkey");
  CHECK(base::base64_decode(*objects[0].string_at("/data/masterkey")) == std::string(32, 'm'));
  CHECK(objects[1].name() == "fleet-zitadel-db");
  CHECK(base::base64_decode(*objects[1].string_at("/data/admin")) == "admin-pass");
  CHECK(objects[2].kind() == "Service");
  CHECK(objects[2].name() == "fleet-zitadel-db");
  const auto& set = objects[3];
  CHECK(set.kind() == "StatefulSet");
  const json spec = json::parse(set.to_json())["spec"];
  const json& container = spec["template"]["spec"]["containers"][0];
  CHECK(container["image"] == "postgres:17");
  CHECK(container["env"][0]["valueFrom"]["secretKeyRef"]["key"] == "admin");
  CHECK(container["readinessProbe"].contains("tcpSocket"));
  CHECK(container["securityContext"]["readOnlyRootFilesystem"] == true);
  CHECK(spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi");
  // The password is a Secret's, never the StatefulSet's.
  CHECK(set.to_json().find("admin-pass") == std::string::npos);

  s.database_storage = NatsStorage::empty_dir;
  const json ephemeral = json::parse(zitadel_objects(s, secrets)[3].to_json())["spec"];
  CHECK_FALSE(ephemeral.contains("volumeClaimTemplates"));

  s.database = ZitadelDatabase::external;
  s.database_host = "pg.example.internal";
  CHECK(zitadel_objects(s, secrets).size() == 2);
}
