#pragma once
// The nats-server these tests need: 2.10 or newer (auth callout). The test
// cluster's build (e2e/cluster/build-components), or the one
// HARMONY_E2E_NATS_SERVER_CALLOUT names; nullopt when neither is there
// (Debian's 2.9 has no auth callout).

#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <unistd.h>

#include <nats/nats.h>

inline std::optional<std::string> callout_capable_server() {
  if (const char* named = std::getenv("HARMONY_E2E_NATS_SERVER_CALLOUT"); named != nullptr && *named != '\0')
    return ::access(named, X_OK) == 0 ? std::optional<std::string>(named) : std::nullopt;
  return ::access(HARMONY_E2E_CALLOUT_NATS_SERVER, X_OK) == 0 ? std::optional<std::string>(HARMONY_E2E_CALLOUT_NATS_SERVER)
                                                              : std::nullopt;
}

// What nats-server tells a client asynchronously (a permissions violation):
// the last such error, for natsOptions_SetErrorHandler(o, AsyncErrors::handler, &errors).
class AsyncErrors {
 public:
  static void handler(natsConnection* nc, natsSubscription*, natsStatus, void* closure) {
    auto* self = static_cast<AsyncErrors*>(closure);
    const char* text = nullptr;
    natsConnection_GetLastError(nc, &text);
    std::lock_guard lock(self->mutex_);
    self->last_ = text != nullptr ? text : "";
  }
  [[nodiscard]] std::string last() {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  std::mutex mutex_;
  std::string last_;
};
