#!/usr/bin/env bash
# A third party's path, end to end: install harmony and its SDK into a
# scratch prefix, `harmony plugin new myapp` from the installed template,
# build it out of tree against the installed SDK, run its own tests, put it
# on PATH, see it in `harmony plugin list` (described by its embedded
# descriptor), `harmony deploy myapp --topology local`, and make its deb
# (completions and man page included; lintian-clean where lintian exists).
#   check_template.sh <build-dir>
set -euo pipefail
build=$1
work=$(mktemp -d)
cleanup() {
  PATH="$work/prefix/bin:$work/myapp/build:/usr/bin:/bin" harmony destroy myapp --yes --purge >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check_template: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >/dev/null
export HOME="$work/home" XDG_STATE_HOME="$work/state" XDG_CACHE_HOME="$work/cache"
mkdir -p "$HOME"
export PATH="$work/prefix/bin:/usr/bin:/bin"
cd "$work"
harmony plugin new myapp --dir "$work/myapp" >/dev/null

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$work/myapp" -B "$work/myapp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" \
  "${launcher[@]}" >/dev/null
cmake --build "$work/myapp/build" >/dev/null
ctest --test-dir "$work/myapp/build" --output-on-failure >/dev/null || fail "the plugin's own tests failed"

export PATH="$work/prefix/bin:$work/myapp/build:/usr/bin:/bin"
list=$(harmony plugin list)
grep -Eq '^myapp +0\.1\.0 +Deploys myapp-server \(made from the harmony plugin template\)' <<<"$list" ||
  fail "harmony plugin list does not describe myapp: $list"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
harmony deploy myapp --topology local --set myapp.port="$port" >/dev/null || fail "harmony deploy myapp failed"
grep -q '^myapp: up' <<<"$(harmony myapp status)" || fail "after deploy, status is: $(harmony myapp status)"
harmony destroy myapp --yes >/dev/null

(cd "$work/myapp/build" && cpack -G DEB >/dev/null 2>&1) || fail "cpack -G DEB failed"
deb=$(ls "$work/myapp/build"/harmony-myapp_*.deb)
contents=$(dpkg-deb -c "$deb")
for f in usr/bin/harmony-myapp usr/share/bash-completion/completions/harmony-myapp \
         usr/share/zsh/vendor-completions/_harmony-myapp usr/share/fish/vendor_completions.d/harmony-myapp.fish \
         usr/share/man/man1/harmony-myapp.1.gz; do
  grep -q "\./$f\$" <<<"$contents" || fail "the deb lacks $f"
done
if command -v lintian >/dev/null; then
  complaints=$(lintian "$deb" 2>&1 | grep -v 'running with root privileges' || true)
  [ -z "$complaints" ] || fail "lintian: $complaints"
fi
echo "harmony plugin new myapp, built against the installed SDK: its tests pass, harmony lists, deploys and destroys it, and its deb has completions and a man page"
