#!/usr/bin/env bash
# Installs the SDK from the build tree into a scratch prefix, builds the
# plugin in this directory against it out of tree, and checks the result:
# the descriptor is embedded, and the plugin runs through the dispatcher.
#   check_package.sh <build-dir>
set -euo pipefail
build=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" >/dev/null
cmake --build "$work/build" >/dev/null

plugin=$work/build/harmony-pkgtest
readelf -p .harmony_plugin "$plugin" | grep -q '"name":"pkgtest"' || { echo "no descriptor in $plugin" >&2; exit 1; }
export PATH="$work/prefix/bin:$work/build:/usr/bin:/bin" HOME="$work/home" XDG_STATE_HOME="$work/state" XDG_CACHE_HOME="$work/cache"
mkdir -p "$HOME"
out=$(harmony plugin list)
echo "$out" | grep -q 'pkgtest  *0.0.1  *Built against the installed SDK' || { echo "plugin list: $out" >&2; exit 1; }
harmony deploy pkgtest >/dev/null
harmony pkgtest status | grep -q 'sleeper: up' || { harmony pkgtest status >&2; exit 1; }
harmony destroy pkgtest --yes >/dev/null
echo "the SDK package builds a plugin out of tree; it lists, deploys and destroys through harmony"
