#pragma once
// Ctrl-C as a request, not a death: while an InterruptScope lives, SIGINT and
// SIGTERM set a flag that long operations poll, so they can stop waiting and
// leave things consistent. A second signal of the same kind ends the process
// the usual way, for users who really mean it; the same process sending it
// again within a second is one request delivered twice (timeout(1) does
// that), so it is not taken as the second.

#include <chrono>

namespace harmony::base {

class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
};

// Whether SIGINT or SIGTERM arrived while a scope was active, and which.
bool interrupt_requested();
int interrupt_signal();

// Sleeps `duration`, in short steps; false if interrupted meanwhile.
bool sleep_unless_interrupted(std::chrono::milliseconds duration);

}  // namespace harmony::base
