#!/usr/bin/env bash
# The plugin-author guide (docs/plugin-author-guide.md), as a newcomer follows
# it: every `$` line of its sections 0, 4 and 7, and of docs/sdk.md's
# "Writing a topology", runs as printed, in order, in one
# shell, in a scratch HOME; the files those sections show (their code blocks,
# named on their first line) are written where they say. The commands start
# from the dispatcher and the SDK installed alone (`--component dispatcher`,
# `--component sdk`), from the build directory given.
#
# Then what the guide promises is checked: the SDK-only install holds no
# fleet, agent or systemd unit; `harmony plugin new` prints an absolute PATH;
# a relative PATH entry is named in the "unknown plugin" error; `harmony
# plugin list` warns about nothing the builds left behind.
#   check_guide.sh <build-dir> <guide>
set -euo pipefail
build=$(cd "$1" && pwd)
guide=$2
work=$(mktemp -d)
cleanup() {
  # Whatever a failed step left running.
  for plugin in shop myapp notes; do
    PATH="$work/home/.local/bin:$work/harmony-shop/build:$work/myapp/build:/usr/bin:/bin" \
      HOME="$work/home" XDG_STATE_HOME="$work/state" harmony destroy "$plugin" --yes --purge >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check_guide: $*" >&2; exit 1; }

sdk_doc=$(dirname "$guide")/sdk.md
section() {  # "0." (the guide's section 0) or "Writing a topology" (docs/sdk.md's)
  local doc=$guide
  [[ $1 == *. ]] || doc=$sdk_doc
  awk -v want="## $1" '/^## / { inside = (index($0, want) == 1); next } inside' "$doc"
}
sections=(0. 4. 7. "Writing a topology")

# The files a section shows: a fenced block whose first line names the file
# in a comment (`// myapp/main.cpp`, `# legacy/CMakeLists.txt`), and the JSON
# block of section 4, which the text names (`legacy/descriptor.json`).
write_blocks() {  # section
  section "$1" | awk -v root="$work" '
    /^```/ {
      if (inside) { inside = 0; if (file != "") close(file); file = ""; next }
      inside = 1; first = 1; lang = substr($0, 4); next
    }
    inside && first {
      first = 0
      if (match($0, /^(\/\/|#) [a-z-]+\/[A-Za-z.]+$/)) { file = root "/" $2; system("mkdir -p \"$(dirname " file ")\""); next }
      if (lang == "json" && named != "") { file = root "/" named; system("mkdir -p \"$(dirname " file ")\""); print > file; next }
      file = ""
      next
    }
    inside && file != "" { print > file }
    !inside { if (match($0, /`[a-z]+\/descriptor\.json`/)) named = substr($0, RSTART + 1, RLENGTH - 2) }'
}

# Each `$` line, as printed; its output goes to a numbered file for the checks.
commands() {  # section
  section "$1" | sed -n 's/^    \$ //p'
}

mkdir -p "$work/home"
ln -s "$build" "$work/build"  # `cmake --install build` in section 0 runs in the source checkout
script="$work/guide.sh"
{
  echo 'set -euo pipefail'
  echo "cd '$work'"
  # A scrubbed environment: the newcomer's, not this test run's.
  echo "export HOME='$work/home' XDG_STATE_HOME='$work/state' XDG_CACHE_HOME='$work/cache' PATH=/usr/bin:/bin"
  echo 'unset CMAKE_PREFIX_PATH HARMONY_PLUGIN_PATH KUBECONFIG'
  # The compiler cache, if any, only makes the builds faster.
  command -v ccache >/dev/null && echo 'export CMAKE_CXX_COMPILER_LAUNCHER=ccache'
  echo 'step=0'
  echo 'run() { step=$((step + 1)); echo "\$ $1" >"out/$step.cmd"; if ! eval "$1" >"out/$step.out" 2>"out/$step.err"; then echo "step $step failed: $1" >&2; tail -n 20 "out/$step.out" "out/$step.err" >&2; exit 1; fi; }'
  echo 'mkdir -p out'
  for n in "${sections[@]}"; do
    while IFS= read -r line; do
      printf 'run %q\n' "$line"
    done < <(commands "$n")
  done
} >"$script"
for n in "${sections[@]}"; do
  write_blocks "$n"
  [ -n "$(commands "$n")" ] || fail "section '$n' has no \$ lines"
done
for f in legacy/descriptor.json legacy/CMakeLists.txt legacy/main.cpp myapp/main.cpp myapp/CMakeLists.txt \
         notes/main.cpp notes/CMakeLists.txt; do
  [ -s "$work/$f" ] || fail "the guide shows no $f"
done

bash "$script" || fail "a step of the guide failed (above)"
out() {  # the command as printed: its stdout (or stderr with err)
  local stream=${2:-out} f
  for f in "$work"/out/*.cmd; do
    if [ "$(cat "$f")" = "\$ $1" ]; then cat "${f%.cmd}.$stream"; return; fi
  done
  fail "no step ran '$1'"
}

# The SDK-only install: the dispatcher, headers, libraries, CMake package and
# template; nothing of the fleet or the agent.
prefix=$work/home/.local
for f in bin/harmony include/harmony/plugin.hpp share/harmony/sdk/template/CMakeLists.txt; do
  [ -e "$prefix/$f" ] || fail "the SDK-only install lacks $f"
done
ls "$prefix"/lib/*/cmake/harmony-core/harmony-coreConfig.cmake >/dev/null 2>&1 || fail "the SDK-only install lacks the CMake package"
unexpected=$(cd "$prefix" && find . \( -name '*fleet*' -o -name 'harmony-agent*' -o -name '*.service' -o -path './etc*' \) -print)
[ -z "$unexpected" ] || fail "the SDK-only install holds what is not the SDK's: $unexpected"

# `plugin new` prints a PATH that works from anywhere.
next=$(out "harmony plugin new shop" | grep 'PATH=') || fail "harmony plugin new printed no PATH: $(out "harmony plugin new shop")"
grep -q "PATH=$work/harmony-shop/build:\$PATH" <<<"$next" || fail "harmony plugin new prints a relative PATH: $next"

# Nothing the builds left beside the plugins is taken for a plugin.
warnings=$(out "harmony plugin list" err)
[ -z "$warnings" ] || fail "harmony plugin list warns about the builds' by-products: $warnings"
grep -Eq '^shop +0\.1\.0 ' <<<"$(out "harmony plugin list")" || fail "harmony plugin list does not list shop: $(out "harmony plugin list")"
grep -q '^status: *ok' <<<"$(out "harmony plugin info legacy")" || fail "harmony plugin info legacy: $(out "harmony plugin info legacy")"
grep -q '^version: *1\.2\.0' <<<"$(out "harmony plugin info legacy")" || fail "the legacy plugin's descriptor is not embedded"
[ "$(out "harmony deploy legacy")" = "legacy: deployed" ] || fail "harmony deploy legacy said: $(out "harmony deploy legacy")"
grep -q 'greeting' <<<"$(out "harmony myapp plan --set web.port=9090 --set web.greeting=salut")" ||
  fail "plan does not show the greeting's change: $(out "harmony myapp plan --set web.port=9090 --set web.greeting=salut")"
grep -q '^web: up' <<<"$(out "harmony myapp status")" || fail "after deploy, harmony myapp status is: $(out "harmony myapp status")"

# The deb: the plugin, its program, completions and man page.
contents=$(out "dpkg-deb -c harmony-shop/build/packages/harmony-shop_0.1.0_amd64.deb")
for f in usr/bin/harmony-shop usr/bin/shop-server usr/share/bash-completion/completions/harmony-shop \
         usr/share/man/man1/harmony-shop.1.gz; do
  grep -q "\./$f\$" <<<"$contents" || fail "the guide's deb lacks $f"
done

# docs/sdk.md's own topology and capability.
grep -q '^note: up' <<<"$(out "harmony notes status")" || fail "after deploy, harmony notes status is: $(out "harmony notes status")"
[ ! -e "$work/state/harmony/notes/notebook/note.txt" ] || fail "harmony destroy notes left the note"

# The hint for a relative PATH entry, which the dispatcher never searches.
set +e
relative=$(cd "$work" && env HOME="$work/home" PATH="harmony-shop/build:$prefix/bin:/usr/bin:/bin" harmony deploy shop 2>&1)
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a plugin reached only through a relative PATH entry ran"
grep -q "not searched: 'harmony-shop/build' in PATH" <<<"$relative" || fail "the error does not name the skipped PATH entry: $relative"
echo "the plugin-author guide (sections 0, 4 and 7) and docs/sdk.md's topology example ran as printed from an SDK-only install; plugin new prints an absolute PATH, plugin list warns about nothing, and a relative PATH entry is named when a plugin is not found"
