# Sourced by the libFuzzer scripts (plugins/*/fuzz/run_fuzzer.sh): building a
# target with clang, AddressSanitizer and UBSan, and running it for a fixed
# number of inputs. Leak checking needs ptrace, which some CI sandboxes
# forbid: there the run goes on without it and says so, rather than claiming
# a check it did not make.

command -v clang++ >/dev/null || { echo "run_fuzzer.sh: clang++ is missing (scripts/install-deps installs it)" >&2; exit 1; }

# build_fuzzer OUTPUT CLANG-ARGUMENTS...: sources, -I and -l as clang++ takes
# them; the build log's end on failure.
build_fuzzer() {
  local out=$1
  shift
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined "$@" -o "$out" \
    2>"$out.build.log" || { tail -30 "$out.build.log" >&2; exit 1; }
}

# run_fuzzer BINARY RUNS MAX-LEN CORPUS-DIR: a crash, a leak or a sanitizer
# report fails (exit 1, with the log's end); else prints libFuzzer's last
# line and whether leaks were checked.
run_fuzzer() {
  local binary=$1 runs=$2 max_len=$3 corpus=$4 log=$1.log leaks=checked
  fuzz() { ASAN_OPTIONS=detect_leaks=$1 "$binary" -runs="$runs" -max_len="$max_len" -seed=1 "$corpus" 2>"$log"; }
  if ! fuzz 1; then
    if grep -q 'LeakSanitizer has encountered a fatal error' "$log"; then
      leaks="not checked: LeakSanitizer cannot run here (it needs ptrace)"
      fuzz 0 || { tail -40 "$log" >&2; exit 1; }
    else
      tail -40 "$log" >&2
      exit 1
    fi
  fi
  echo "$(tail -1 "$log"); leaks $leaks"
}
