// The sanitizers' default options in a HARMONY_SANITIZE build
// (cmake/HarmonySanitizers.cmake): reports go to files, not to a stderr that
// a test may capture and never show. An environment variable still wins.

const char* __tsan_default_options(void);
const char* __asan_default_options(void);

const char* __tsan_default_options(void) {
  return "log_path=" HARMONY_SANITIZER_REPORTS "/tsan second_deadlock_stack=1 suppressions=" HARMONY_TSAN_SUPPRESSIONS;
}

const char* __asan_default_options(void) {
  return "log_path=" HARMONY_SANITIZER_REPORTS "/asan";
}
