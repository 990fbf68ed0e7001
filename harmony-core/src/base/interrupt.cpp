#include <harmony/base/interrupt.hpp>

#include <atomic>
#include <csignal>
#include <ctime>
#include <thread>

namespace harmony::base {
namespace {

std::atomic<int> received{0};
// Who sent the first signal, and when: -1 for the kernel (a terminal's Ctrl-C).
std::atomic<long> first_sender{-1};
std::atomic<long long> first_at_ms{0};
struct sigaction saved_int {}, saved_term {};
int depth = 0;

// A second signal from the same process within this long is one request
// delivered twice, not a user insisting: timeout(1), for one, signals its
// child and then the child's whole process group.
constexpr long long same_request_ms = 1000;

long long monotonic_ms() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe, unlike std::chrono's clocks
  return static_cast<long long>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

long sender_of(const siginfo_t* info) {
  if (info == nullptr) return -1;
  const bool from_a_process = info->si_code == SI_USER || info->si_code == SI_TKILL || info->si_code == SI_QUEUE;
  return from_a_process ? static_cast<long>(info->si_pid) : -1;
}

extern "C" void on_signal(int signal, siginfo_t* info, void*) {
  const long sender = sender_of(info);
  if (received.load() == signal) {
    if (sender != -1 && sender == first_sender.load() && monotonic_ms() - first_at_ms.load() < same_request_ms) return;
    // The second one: behave as if we had never caught it.
    ::signal(signal, SIG_DFL);
    ::raise(signal);
    return;
  }
  first_sender.store(sender);
  first_at_ms.store(monotonic_ms());
  received.store(signal);
}

}  // namespace

InterruptScope::InterruptScope() {
  if (depth++ > 0) return;
  received.store(0);
  struct sigaction action {};
  action.sa_sigaction = on_signal;
  action.sa_flags = SA_SIGINFO;
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
