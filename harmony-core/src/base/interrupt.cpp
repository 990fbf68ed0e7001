#include <harmony/base/interrupt.hpp>

#include <atomic>
#include <csignal>
#include <thread>

namespace harmony::base {
namespace {

std::atomic<int> received{0};
struct sigaction saved_int {}, saved_term {};
int depth = 0;

extern "C" void on_signal(int signal) {
  if (received.load() == signal) {
    // The second one: behave as if we had never caught it.
    ::signal(signal, SIG_DFL);
    ::raise(signal);
    return;
  }
  received.store(signal);
}

}  // namespace

InterruptScope::InterruptScope() {
  if (depth++ > 0) return;
  received.store(0);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &saved_int);
  ::sigaction(SIGTERM, &action, &saved_term);
}

InterruptScope::~InterruptScope() {
  if (--depth > 0) return;
  ::sigaction(SIGINT, &saved_int, nullptr);
  ::sigaction(SIGTERM, &saved_term, nullptr);
}

bool interrupt_requested() { return received.load() != 0; }
int interrupt_signal() { return received.load(); }

bool sleep_unless_interrupted(std::chrono::milliseconds duration) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (!interrupt_requested()) {
    auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::milliseconds(0)) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(20)));
  }
  return false;
}

}  // namespace harmony::base
