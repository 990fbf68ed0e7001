#include <harmony/fleet/zitadel.hpp>

#include <nlohmann/json.hpp>


#include <harmony/base/exit_status.hpp>
#include <harmony/base/text.hpp>

#include "internal.hpp"

namespace harmony::fleet {

namespace {

using nlohmann::json;
using detail::failed;

// The bundled Postgres's Service, and its superuser (the init job's admin).
constexpr std::string_view bundled_host = "fleet-zitadel-db";
constexpr std::string_view bundled_admin = "postgres";

json secret_env(const char* name, std::string_view secret, const char* key) {
  return {{"name", name}, {"valueFrom", {{"secretKeyRef", {{"name", std::string(secret)}, {"key", key}}}}}};
}

}  // namespace

std::vector<settings::Problem> ZitadelSettings::check() const {
  std::vector<settings::Problem> problems = detail::device_id_problems("devices", devices);
  if (chart.empty()) problems.push_back({"chart", "must name Zitadel's chart"});
  if (auto source = detail::chart_source_problem(chart, chart_repository)) problems.push_back(*source);
  if (!image.empty() && image.find(':', image.rfind('/') == std::string::npos ? 0 : image.rfind('/')) == std::string::npos)
    problems.push_back({"image", "'" + base::printable(image) + "' has no tag: give REPOSITORY:TAG"});
  // It becomes the Host of requests that carry the admin's token.
  if (external_domain.empty() || external_domain.front() == '.' || external_domain.front() == '-' ||
      external_domain.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos)
    problems.push_back({"external_domain", "'" + base::printable(external_domain) +
                                               "' is not a domain name (lowercase letters, digits, '-' and '.')"});
  if (database == ZitadelDatabase::external && database_host.empty())
    problems.push_back({"database_host", "must name the Postgres server when database is external"});
  if (!master_key.value.empty() && master_key.value.size() != 32)
    problems.push_back({"master_key", "must be exactly 32 characters (Zitadel encrypts with it)"});
  for (std::string_view mode : {"disable", "require", "verify-ca", "verify-full"})
    if (database_ssl_mode == mode) return problems;
  problems.push_back({"database_ssl_mode", "'" + base::printable(database_ssl_mode) + "' is not disable, require, verify-ca or verify-full"});
  return problems;
}

std::string zitadel_chart_values(const ZitadelSettings& s) {
  const bool bundled = s.database == ZitadelDatabase::bundled;
  const json ssl = {{"Mode", s.database_ssl_mode}};
  json values = {
      {"replicaCount", 1},
      {"zitadel",
       {// The master key and the database passwords stay in Secrets harmony
        // applies beside the release, never in its values (which helm keeps).
        {"masterkeySecretName", std::string(zitadel_master_key_secret)},
        {"configmapConfig",
         {{"ExternalDomain", s.external_domain},
          {"ExternalPort", s.external_port.value},
          {"ExternalSecure", s.external_secure},
          {"TLS", {{"Enabled", false}}},
          {"FirstInstance",
           {{"Org",
             {{"Machine",
               {{"Machine", {{"Username", std::string(zitadel_admin_user)}, {"Name", "harmony-fleet"}}},
                {"Pat", {{"ExpirationDate", "2030-01-01T00:00:00Z"}}}}}}}}},
          {"Database",
           {{"Postgres",
             {{"Host", bundled ? std::string(bundled_host) : s.database_host},
              {"Port", s.database_port.value},
              {"Database", s.database_name},
              {"User", {{"Username", s.database_user}, {"SSL", ssl}}},
              {"Admin", {{"Username", bundled ? std::string(bundled_admin) : s.database_user}, {"SSL", ssl}}}}}}}}}}},
      {"env",
       json::array({secret_env("ZITADEL_DATABASE_POSTGRES_USER_PASSWORD", zitadel_database_secret, "user"),
                    secret_env("ZITADEL_DATABASE_POSTGRES_ADMIN_PASSWORD", zitadel_database_secret, "admin")})},
      // The login v2 is another image and deployment; the fleet's machine
      // users never log in through it.
      {"login", {{"enabled", false}}}};
  // null removes a default of the chart's: no JSON key for the admin (a
  // second owner credential nobody uses), no client and token for the v2
  // login (which is not deployed).
  json& org = values["zitadel"]["configmapConfig"]["FirstInstance"]["Org"];
  org["Machine"]["MachineKey"] = nullptr;
  org["LoginClient"] = nullptr;
  if (!s.image.empty()) {
    const auto colon = s.image.rfind(':');  // check() made sure it is the tag's
    values["image"] = {{"repository", s.image.substr(0, colon)}, {"tag", s.image.substr(colon + 1)}};
  }
  return values.dump(2);
}

namespace {

// One call, its answer as JSON; an error naming the call otherwise.
class Api {
 public:
  explicit Api(const ZitadelSend& send) : send_(send) {}

  base::expected<json> call(const std::string& method, const std::string& path, const json& body) const {
    auto r = send_(method, path, body.dump());
    if (!r) return base::fail(r.error());
    const auto doc = json::parse(r->body, nullptr, false);
    if (r->status < 200 || r->status >= 300) {
      const std::string said = doc.is_object() ? doc.value("message", std::string()) : base::printable(r->body.substr(0, 200));
      const int status = r->status == 401 || r->status == 403 ? base::exit_status::unauthorized : base::exit_status::deploy_failed;
      return base::fail(failed(status, "Zitadel refused " + method + " " + path, "HTTP " + std::to_string(r->status) + ": " + said,
                               r->status == 401 ? "the admin's personal access token is missing or expired (Secret " +
                                                      std::string(zitadel_admin_user) + "-pat)"
                                                : ""));
    }
    if (!doc.is_object())
      return base::fail(failed(base::exit_status::deploy_failed, "Zitadel's answer to " + method + " " + path + " is not JSON"));
    return doc;
  }

  // The first result of a _search with one query, or a null json.
  base::expected<json> find(const std::string& path, const json& query) const {
    auto found = call("POST", path, {{"queries", json::array({query})}});
    if (!found) return found;
    const auto& result = (*found)["result"];
    if (!result.is_array() || result.empty()) return json();
    return result.front();
  }

 private:
  const ZitadelSend& send_;
};

json equals(const char* query, const char* field, const std::string& value) {
  return {{query, {{field, value}, {"method", "TEXT_QUERY_METHOD_EQUALS"}}}};
}

base::expected<std::string> string_field(const json& doc, const char* field, const std::string& what) {
  if (!doc.contains(field) || !doc[field].is_string() || doc[field].get<std::string>().empty())
    return base::fail(failed(base::exit_status::deploy_failed, "Zitadel's answer about " + what + " has no " + field));
  return doc[field].get<std::string>();
}

}  // namespace

base::expected<ZitadelFleet> setup_zitadel_fleet(const ZitadelSend& send, const std::vector<std::string>& device_ids,
                                                 const std::function<std::string(const std::string&)>& held_key_user,
                                                 const ZitadelFleetNames& names) {
  Api api(send);
  ZitadelFleet out;

  // The project: its id is the audience of the tokens the callout admits,
  // and it asserts its roles in them (fleet-ops).
  auto project = api.find("/management/v1/projects/_search", equals("nameQuery", "name", names.project));
  if (!project) return base::fail(project.error());
  if (project->is_null()) {
    auto made = api.call("POST", "/management/v1/projects", {{"name", names.project}, {"projectRoleAssertion", true}});
    if (!made) return base::fail(made.error());
    project = *made;
    out.created.push_back("project " + names.project);
  }
  auto project_id = string_field(*project, "id", "project " + names.project);
  if (!project_id) return base::fail(project_id.error());
  out.project_id = *project_id;
  const std::string project_path = "/management/v1/projects/" + out.project_id;

  auto role = api.find(project_path + "/roles/_search", equals("keyQuery", "key", names.ops_role));
  if (!role) return base::fail(role.error());
  if (role->is_null()) {
    auto made = api.call("POST", project_path + "/roles",
                         {{"roleKey", names.ops_role}, {"displayName", "Fleet operators"}, {"group", "harmony-fleet"}});
    if (!made) return base::fail(made.error());
    out.created.push_back("role " + names.ops_role);
  }

  auto app = api.find(project_path + "/apps/_search", equals("nameQuery", "name", names.application));
  if (!app) return base::fail(app.error());
  if (app->is_null()) {
    auto made = api.call("POST", project_path + "/apps/api",
                         {{"name", names.application}, {"authMethodType", "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT"}});
    if (!made) return base::fail(made.error());
    auto client = string_field(*made, "clientId", "application " + names.application);
    if (!client) return base::fail(client.error());
    out.api_client_id = *client;
    out.created.push_back("application " + names.application);
  } else if (app->contains("apiConfig") && (*app)["apiConfig"].is_object()) {
    out.api_client_id = (*app)["apiConfig"].value("clientId", "");
  }

  // One device: its machine user, and a key unless harmony holds one of
  // that user's. An error here keeps what the devices before it got (their
  // keys' private halves exist nowhere else).
  auto device = [&](const std::string& id) -> base::expected<void> {
    const std::string user_name = names.device_prefix + id;
    auto user = api.find("/management/v1/users/_search", equals("userNameQuery", "userName", user_name));
    if (!user) return base::fail(user.error());
    std::string user_id;
    const bool made_now = user->is_null();
    if (made_now) {
      // JWT access tokens: the callout validates them itself, offline.
      auto made = api.call("POST", "/management/v1/users/machine",
                           {{"userName", user_name},
                            {"name", "device " + id},
                            {"description", "harmony fleet agent " + id},
                            {"accessTokenType", "ACCESS_TOKEN_TYPE_JWT"}});
      if (!made) return base::fail(made.error());
      auto made_id = string_field(*made, "userId", "machine user " + user_name);
      if (!made_id) return base::fail(made_id.error());
      user_id = *made_id;
      out.created.push_back("machine user " + user_name);
    } else {
      auto found_id = string_field(*user, "id", "machine user " + user_name);
      if (!found_id) return base::fail(found_id.error());
      user_id = *found_id;
    }
    // A key held for another user (Zitadel's database was replaced) is no key.
    if (!made_now && held_key_user(id) == user_id) return {};
    // Zitadel shows a key's private half once: harmony keeps it.
    auto key = api.call("POST", "/management/v1/users/" + user_id + "/keys",
                        {{"type", "KEY_TYPE_JSON"}, {"expirationDate", names.key_expiration}});
    if (!key) return base::fail(key.error());
    auto details = string_field(*key, "keyDetails", "the key of " + user_name);
    if (!details) return base::fail(details.error());
    auto decoded = base::base64_decode(*details);
    if (!decoded || json::parse(*decoded, nullptr, false).is_discarded())
      return base::fail(failed(base::exit_status::deploy_failed, "the key Zitadel made for " + user_name + " cannot be read",
                               "keyDetails is not base64-encoded JSON"));
    out.new_keys[id] = *decoded;
    out.created.push_back("a key for " + user_name);
    return {};
  };
  for (const auto& id : device_ids)
    if (auto done = device(id); !done) {
      out.stopped = done.error();
      break;
    }
  return out;
}

}  // namespace harmony::fleet
