#include "kube_cases.hpp"

#include <unistd.h>

namespace harmony::e2e {

kube::LoadOptions admin() {
  kube::LoadOptions o;
  o.explicit_path = test_cluster().kubeconfig;
  return o;
}

std::unique_ptr<kube::Client> client(const kube::LoadOptions& load, const std::string& cache_dir) {
  kube::ClientOptions options;
  options.cache_dir = cache_dir;
  auto c = kube::Client::connect(load, options);
  REQUIRE(c);
  return std::move(*c);
}

kube::Object object(const nlohmann::json& doc) {
  auto o = kube::Object::parse(doc.dump());
  REQUIRE(o);
  return *o;
}

Namespace::Namespace(kube::Client& c, const std::string& hint, const std::string& prefix) : client(c) {
  name = prefix + "-" + hint + "-" + std::to_string(::getpid());
  REQUIRE(client.apply(object({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}})));
}

Namespace::~Namespace() {
  kube::DeleteOptions d;
  d.wait = false;
  (void)client.remove({"v1", "Namespace", "", name}, d);
}

}  // namespace harmony::e2e
