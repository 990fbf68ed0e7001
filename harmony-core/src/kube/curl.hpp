#pragma once
// libcurl, opened with dlopen the first time something makes an HTTP request
// (docs/adr/0007-static-sdk.md): with its dependencies it is some thirty
// shared libraries, and plugins that never talk HTTP must not pay for them at
// start-up. Internal to harmony-core: the SDK's HTTP check and the Kubernetes
// transport share it.

#include <string>

#include <curl/curl.h>

namespace harmony::kube::detail {

struct Curl {
  CURL* (*easy_init)() = nullptr;
  CURLcode (*setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*perform)(CURL*) = nullptr;
  CURLcode (*getinfo)(CURL*, CURLINFO, ...) = nullptr;
  void (*cleanup)(CURL*) = nullptr;
  void (*reset)(CURL*) = nullptr;
  const char* (*strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
  curl_version_info_data* (*version_info)(CURLversion) = nullptr;
  std::string error;  // why loading failed; easy_init is null then

  [[nodiscard]] bool loaded() const { return easy_init != nullptr; }

  // Loaded once per process, thread-safe.
  static const Curl& get();
};

}  // namespace harmony::kube::detail
