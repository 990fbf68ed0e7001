# Shared by the benchmark scripts (sourced): where the build is, what must be
# there, and free ports.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)
build=${HARMONY_BUILD_DIR:-$root/build}

# require_programs PROGRAM...: each on PATH, or exit 2 saying how to get it.
require_programs() {
  for program in "$@"; do
    PATH="$PATH:/usr/sbin" command -v "$program" >/dev/null ||
      { echo "bench: error: $program is needed (scripts/install-deps)" >&2; exit 2; }
  done
}
# require_built FILE...: each built, or exit 2.
require_built() {
  for f in "$@"; do
    [ -x "$f" ] || { echo "bench: error: build first (scripts/build): $f is missing" >&2; exit 2; }
  done
}
# A TCP port on 127.0.0.1 that is free now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
