#include <catch2/catch.hpp>

#include <harmony/settings.hpp>

using namespace harmony;
using namespace harmony::settings;

namespace {

enum class Auth { userpass, callout };

struct Tls {
  bool enabled = false;
  std::string cert;
  template <class V>
  void describe(V& v) {
    v("enabled", enabled, "turn TLS on");
    v("cert", cert, "the certificate file");
  }
};

struct Example {
  Port port{4222};
  std::string name = "nats";
  Secret password;
  int count = 1;
  Duration timeout{std::chrono::seconds(30)};
  std::vector<std::string> args;
  std::map<std::string, std::string> labels;
  Auth auth = Auth::userpass;
  Tls tls;
  template <class V>
  void describe(V& v) {
    v("port", port, "the client port");
    v("name", name, "its name");
    v("password", password, "the password");
    v("count", count, "how many", range(1, 10));
    v("timeout", timeout, "how long to wait");
    v("args", args, "extra arguments");
    v("labels", labels, "labels");
    v("auth", auth, "how clients authenticate", choice<Auth>({{"userpass", Auth::userpass}, {"callout", Auth::callout}}));
    v("tls", tls, "TLS settings");
  }
};

Node tree(std::initializer_list<const char*> sets) {
  Node root = Node::map_node();
  for (const char* s : sets) REQUIRE(apply_set(root, s));
  return root;
}

std::vector<Problem> load_into(Example& e, std::initializer_list<const char*> sets) {
  return load(tree(sets).at("nats"), "nats", e);
}

}  // namespace

TEST_CASE("values given with --set, of every type, land in the typed settings") {
  Example e;
  auto problems = load_into(e, {"nats.port=4223", "nats.name=hub", "nats.password=s3cret", "nats.count=3",
                                "nats.timeout=2m", "nats.args={-DV,--trace}", "nats.labels.site=lab",
                                "nats.labels.rack=r2", "nats.auth=callout", "nats.tls.enabled=yes", "nats.tls.cert=/c.pem"});
  CHECK(problems.empty());
  CHECK(e.port.value == 4223);
  CHECK(e.name == "hub");
  CHECK(e.password.value == "s3cret");
  CHECK(e.count == 3);
  CHECK(e.timeout.value == std::chrono::minutes(2));
  CHECK(e.args == std::vector<std::string>{"-DV", "--trace"});
  CHECK(e.labels == std::map<std::string, std::string>{{"rack", "r2"}, {"site", "lab"}});
  CHECK(e.auth == Auth::callout);
  CHECK(e.tls.enabled);
  CHECK(e.tls.cert == "/c.pem");
}

TEST_CASE("values that do not fit are problems naming the full key, all of them at once") {
  Example e;
  auto problems = load_into(e, {"nats.port=70000", "nats.count=0", "nats.timeout=soon", "nats.auth=token",
                                "nats.tls.enabled=maybe", "nats.prot=1", "nats.tls.crt=x", "nats.labels=flat"});
  std::map<std::string, std::string> by_key;
  for (const auto& p : problems) by_key[p.key] = p.message;
  CHECK(by_key["nats.port"] == "70000 is out of range (1 to 65535)");
  CHECK(by_key["nats.count"] == "0 is out of range (1 to 10)");
  CHECK(by_key["nats.timeout"] == "'soon' is not a duration such as 30s, 500ms, 2m or 1h");
  CHECK(by_key["nats.auth"] == "'token' is not one of userpass, callout");
  CHECK(by_key["nats.tls.enabled"] == "'maybe' is not true or false");
  CHECK(by_key["nats.prot"] == "unknown setting; did you mean 'port'?");
  CHECK(by_key["nats.tls.crt"] == "unknown setting; did you mean 'cert'?");
  CHECK(by_key["nats.labels"] == "must be a map (key: value)");
  CHECK(problems.size() == 8);
  // Defaults survive where nothing fitted.
  CHECK(e.port.value == 4222);
}

TEST_CASE("the --set syntax: escapes, list items, and malformed assignments") {
  Node root = tree({"app.labels.app\\.kubernetes\\.io/name=web", "app.list={a\\,b,c}", "app.items[1]=second",
                    "app.eq=a=b", "app.empty="});
  Node app = root.at("app");
  CHECK(app.at("labels").at("app.kubernetes.io/name").scalar() == "web");
  CHECK(app.at("list").size() == 2);
  CHECK(app.at("list").at(std::size_t{0}).scalar() == "a,b");
  CHECK(app.at("items").size() == 2);
  CHECK(app.at("items").at(std::size_t{0}).is_null());
  CHECK(app.at("items").at(std::size_t{1}).scalar() == "second");
  CHECK(app.at("eq").scalar() == "a=b");
  CHECK(app.at("empty").scalar().empty());

  Node r = Node::map_node();
  for (const char* bad : {"noequals", "=value", "a..b=c", "a[x]=1", "a[1=2"}) {
    auto result = apply_set(r, bad);
    INFO(bad);
    REQUIRE_FALSE(result);
    CHECK(result.error().status == base::exit_status::invalid_settings);
    CHECK_THAT(result.error().message, Catch::StartsWith("invalid --set"));
  }
}

TEST_CASE("values files are YAML maps, later ones and --set win, and errors give the line") {
  auto first = Node::from_yaml("nats:\n  port: 4223\n  labels:\n    site: lab\n", "a.yaml");
  REQUIRE(first);
  auto second = Node::from_yaml("nats:\n  labels:\n    rack: r2\n", "b.yaml");
  REQUIRE(second);
  Node root = *first;
  root.merge(*second);
  REQUIRE(apply_set(root, "nats.port=4224"));
  Example e;
  CHECK(load(root.at("nats"), "nats", e).empty());
  CHECK(e.port.value == 4224);
  CHECK(e.labels == std::map<std::string, std::string>{{"rack", "r2"}, {"site", "lab"}});

  auto broken = Node::from_yaml("nats:\n  port: [4222\n", "broken.yaml");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message == "cannot read 'broken.yaml'");
  CHECK_THAT(broken.error().reason, Catch::StartsWith("line 3"));
  auto list = Node::from_yaml("- a\n- b\n", "list.yaml");
  REQUIRE_FALSE(list);
  CHECK(list.error().message == "'list.yaml' is not a map of settings");
  CHECK(Node::from_yaml("", "empty.yaml"));
}

TEST_CASE("fields list every setting with its type and a printable value, and secrets never print") {
  Example e;
  e.password.value = "s3cret";
  auto list = fields(e, "nats");
  std::map<std::string, Field> by_key;
  for (const auto& f : list) by_key[f.key] = f;
  CHECK(by_key["nats.port"].type == "port");
  CHECK(by_key["nats.port"].value == "4222");
  CHECK(by_key["nats.password"].value == "(secret)");
  CHECK(by_key["nats.password"].secret);
  CHECK(by_key["nats.timeout"].value == "30s");
  CHECK(by_key["nats.auth"].value == "userpass");
  CHECK(by_key["nats.auth"].type == "one of userpass|callout");
  CHECK(by_key["nats.tls.enabled"].value == "false");
  for (const auto& f : list) CHECK(f.value.find("s3cret") == std::string::npos);
}

TEST_CASE("recorded settings load back to the same values") {
  Example e;
  REQUIRE(load_into(e, {"nats.port=4300", "nats.password=pw", "nats.args={x,y}", "nats.labels.a=b", "nats.tls.enabled=true"}).empty());
  Node recorded = to_node(fields(e, "nats"), "nats");
  auto reparsed = Node::from_json(recorded.to_json());
  REQUIRE(reparsed);
  Example again;
  CHECK(load(*reparsed, "nats", again).empty());
  CHECK(again.port == e.port);
  CHECK(again.password == e.password);
  CHECK(again.args == e.args);
  CHECK(again.labels == e.labels);
  CHECK(again.tls.enabled);
}

TEST_CASE("plan diffs show changed values, and only that a secret changed") {
  Example before, after;
  before.password.value = "old";
  after.password.value = "new";
  after.port.value = 4300;
  auto changes = diff(fields(before, "nats"), fields(after, "nats"));
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].key == "nats.port");
  CHECK(changes[0].before == "4222");
  CHECK(changes[0].after == "4300");
  CHECK(changes[1].key == "nats.password");
  CHECK(changes[1].before == "(secret)");
  CHECK(changes[1].after == "(secret, changed)");
  CHECK(diff(fields(after, "nats"), fields(after, "nats")).empty());
  Example unset;
  auto first_secret = diff(fields(unset, "nats"), fields(after, "nats"));
  bool saw = false;
  for (const auto& c : first_secret)
    if (c.key == "nats.password") saw = c.before.empty() && c.after == "(secret, changed)";
  CHECK(saw);
}
