#!/usr/bin/env bash
# Builds the DEB and RPM packages from this build and checks them, without
# installing anything on this machine:
#   - lintian on every deb: no error, no warning (packaging/README.md)
#   - each deb holds what it must: programs, completions, man pages, the
#     systemd unit, the conffile
#   - the systemd unit passes systemd-analyze verify
#   - the rpms: rpm -qlp, -qpR, --scripts, --configfiles, and an install
#     into a scratch root (--nodeps --noscripts: Debian's libraries have other
#     names in rpm's database, so these rpms are well-formed, not installed)
#   check-packages.sh <build-dir>      (packages land in <build-dir>/packages)
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$build/packages
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-packages: $*" >&2; exit 1; }

rm -rf "$out"
(cd "$build" && cpack --config CPackConfig.cmake -G "DEB;RPM" >"$work/cpack.log" 2>&1) || { tail -30 "$work/cpack.log" >&2; fail "cpack failed"; }
debs=("$out"/*.deb)
rpms=("$out"/*.rpm)
[ "${#debs[@]}" -eq 5 ] || fail "expected 5 debs, got: ${debs[*]}"
[ "${#rpms[@]}" -eq 5 ] || fail "expected 5 rpms, got: ${rpms[*]}"
echo "built: $(cd "$out" && ls | tr '\n' ' ')"

# lintian: errors and warnings fail; informational tags are listed in the README.
if command -v lintian >/dev/null; then
  complaints=$(lintian "${debs[@]}" 2>&1 | grep -v 'running with root privileges' || true)
  [ -z "$complaints" ] || fail "lintian:
$complaints"
  echo "lintian: no errors, no warnings on ${#debs[@]} debs"
else
  echo "lintian is not installed: the debs were NOT checked by lintian" >&2
fi

has() {  # deb path...
  local deb=$1 listing
  shift
  listing=$(dpkg-deb -c "$deb")
  for f in "$@"; do grep -q " \./$f\$" <<<"$listing" || fail "$(basename "$deb") lacks $f"; done
}
has "$out"/harmony_*.deb usr/bin/harmony usr/share/man/man1/harmony.1.gz \
  usr/share/bash-completion/completions/harmony usr/share/zsh/vendor-completions/_harmony \
  usr/share/fish/vendor_completions.d/harmony.fish usr/share/doc/harmony/copyright usr/share/doc/harmony/changelog.gz
has "$out"/harmony-fleet_*.deb usr/bin/harmony-fleet usr/bin/fleet-operator usr/share/man/man1/harmony-fleet.1.gz \
  usr/share/man/man8/fleet-operator.8.gz \
  usr/share/bash-completion/completions/harmony-fleet usr/share/zsh/vendor-completions/_harmony-fleet \
  usr/share/fish/vendor_completions.d/harmony-fleet.fish
has "$out"/harmony-agent_*.deb usr/bin/harmony-agent usr/share/man/man1/harmony-agent.1.gz \
  usr/share/bash-completion/completions/harmony-agent
has "$out"/fleet-agent_*.deb usr/bin/fleet-agent usr/share/man/man8/fleet-agent.8.gz \
  lib/systemd/system/fleet-agent.service etc/fleet-agent/agent.yaml
has "$out"/harmony-sdk_*.deb usr/include/harmony/plugin.hpp usr/lib/x86_64-linux-gnu/cmake/harmony-core/harmony-coreConfig.cmake \
  usr/share/harmony/sdk/template/CMakeLists.txt
grep -qx /etc/fleet-agent/agent.yaml <<<"$(dpkg-deb --ctrl-tarfile "$out"/fleet-agent_*.deb | tar -xO ./conffiles)" ||
  fail "fleet-agent's agent.yaml is not a conffile"
# The descriptor survives CPack's strip.
dpkg-deb -x "$out"/harmony-fleet_*.deb "$work/fleet"
grep -q '"name":"fleet"' <<<"$(readelf -p .harmony_plugin "$work/fleet/usr/bin/harmony-fleet")" || fail "the packaged harmony-fleet lost its descriptor"
echo "debs: programs, completions, man pages, unit, conffile and descriptors present"

# The unit, against the built binary (the installed one is checked by check-install.sh).
if command -v systemd-analyze >/dev/null; then
  sed "s|^ExecStart=/usr/bin/fleet-agent|ExecStart=$build/bin/fleet-agent|" "$here/fleet-agent/fleet-agent.service" >"$work/fleet-agent.service"
  systemd-analyze verify --man=no "$work/fleet-agent.service" || fail "systemd-analyze verify fleet-agent.service"
  echo "systemd-analyze verify: fleet-agent.service is valid"
else
  echo "systemd-analyze is not installed: the unit was NOT verified" >&2
fi

# RPMs.
if command -v rpm >/dev/null; then
  for r in "${rpms[@]}"; do rpm -qlp "$r" >/dev/null || fail "rpm -qlp $r"; done
  grep -q '^harmony = ' <<<"$(rpm -qpR "$out"/harmony-fleet-*.rpm)" || fail "harmony-fleet's rpm does not require harmony"
  grep -q '^libcurl' <<<"$(rpm -qpR "$out"/harmony-fleet-*.rpm)" || fail "harmony-fleet's rpm does not require libcurl"
  grep -q useradd <<<"$(rpm -qp --scripts "$out"/fleet-agent-*.rpm)" || fail "fleet-agent's rpm creates no user"
  grep -qx /etc/fleet-agent/agent.yaml <<<"$(rpm -qp --configfiles "$out"/fleet-agent-*.rpm)" || fail "agent.yaml is not %config"
  grep -qx /lib/systemd/system/fleet-agent.service <<<"$(rpm -qlp "$out"/fleet-agent-*.rpm)" || fail "the rpm lacks the unit"
  grep -Eq '^/usr/share/man$|^/etc$' <<<"$(rpm -qlp "$out"/harmony-*.rpm)" && fail "an rpm owns a system directory"
  mkdir -p "$work/root"
  rpm --root "$work/root" -i --nodeps --noscripts "${rpms[@]}" 2>/dev/null || fail "rpm -i into a scratch root"
  [ "$(rpm --root "$work/root" -qa | wc -l)" -eq 5 ] || fail "not all rpms are in the scratch root's database"
  rpm --root "$work/root" -V --nodeps harmony harmony-fleet harmony-agent fleet-agent harmony-sdk || fail "rpm -V in the scratch root"
  "$work/root/usr/bin/harmony" version >/dev/null || fail "the harmony installed from the rpm does not run"
  echo "rpms: files, requires, scriptlets, config files; installed into a scratch root and verified (--nodeps: well-formed, not installed)"
else
  echo "rpm is not installed: the rpms were NOT checked" >&2
fi
