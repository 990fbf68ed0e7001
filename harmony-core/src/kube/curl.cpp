#include "curl.hpp"

#include <dlfcn.h>

namespace harmony::kube::detail {
namespace {

template <class F>
void bind(void* library, const char* name, F& into) {
  into = reinterpret_cast<F>(::dlsym(library, name));
}

Curl load() {
  Curl c;
  void* library = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = ::dlerror();
    c.error = why != nullptr ? why : "dlopen failed";
    return c;
  }
  CURLcode (*global_init)(long) = nullptr;
  bind(library, "curl_global_init", global_init);
  bind(library, "curl_easy_init", c.easy_init);
  bind(library, "curl_easy_setopt", c.setopt);
  bind(library, "curl_easy_perform", c.perform);
  bind(library, "curl_easy_getinfo", c.getinfo);
  bind(library, "curl_easy_cleanup", c.cleanup);
  bind(library, "curl_easy_reset", c.reset);
  bind(library, "curl_easy_strerror", c.strerror);
  bind(library, "curl_slist_append", c.slist_append);
  bind(library, "curl_slist_free_all", c.slist_free_all);
  bind(library, "curl_version_info", c.version_info);
  if (!global_init || !c.easy_init || !c.setopt || !c.perform || !c.getinfo || !c.cleanup || !c.reset || !c.strerror ||
      !c.slist_append || !c.slist_free_all || !c.version_info) {
    c.error = "libcurl.so.4 lacks a function harmony needs";
    c.easy_init = nullptr;
    return c;
  }
  // Once, before any thread makes a handle: curl_global_init is not thread-safe.
  global_init(CURL_GLOBAL_DEFAULT);
  return c;
}

}  // namespace

const Curl& Curl::get() {
  static const Curl curl = load();
  return curl;
}

}  // namespace harmony::kube::detail
