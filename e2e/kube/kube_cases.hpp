#pragma once
// What the kube end-to-end cases share, on top of the test cluster
// (support/cluster.hpp): the admin's client, objects from JSON, and
// namespaces of a case's own.

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <harmony/kube/client.hpp>

#include "cluster.hpp"

namespace harmony::e2e {

// The test cluster's admin, as its kubeconfig says.
kube::LoadOptions admin();
std::unique_ptr<kube::Client> client(const kube::LoadOptions& load, const std::string& cache_dir = {});

kube::Object object(const nlohmann::json& doc);

// A namespace of the case's own, "<prefix>-<hint>-<pid>", deleted (without
// waiting) when the case ends.
struct Namespace {
  Namespace(kube::Client& c, const std::string& hint, const std::string& prefix = "client");
  ~Namespace();
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  kube::Client& client;
  std::string name;
};

}  // namespace harmony::e2e
