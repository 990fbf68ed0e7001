#!/usr/bin/env bash
# Builds the DEB and RPM packages from this build and checks them, without
# installing anything on this machine:
#   - lintian on every deb: no error, no warning (packaging/README.md)
#   - each deb holds what it must: programs, completions, man pages, the
#     systemd unit, the conffile
#   - the systemd unit passes systemd-analyze verify
#   - every deb and rpm describes itself (synopsis, description)
#   - the rpms: rpm -qlp, --scripts, --configfiles; every requirement is one
#     Fedora 41 provides (rpm/fedora-41.provides); rpmlint; an install into a
#     scratch root (--nodeps --noscripts: this machine's rpm database knows
#     none of Fedora's packages), where the programs run on their bundled
#     libraries
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
has "$out"/harmony-fleet_*.deb usr/bin/harmony-fleet usr/bin/fleet-operator usr/bin/fleet-callout usr/share/man/man1/harmony-fleet.1.gz \
  usr/share/man/man8/fleet-operator.8.gz usr/share/man/man8/fleet-callout.8.gz \
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

# Each package describes itself: its own synopsis (not the project's) and
# its own long description, in the deb and in the rpm.
describes() {  # package synopsis-start long-description-text
  local package=$1 synopsis=$2 text=$3 deb rpm description
  deb=$(ls "$out/${package}_"*.deb)
  description=$(dpkg-deb -f "$deb" Description)
  [ "$(head -1 <<<"$description")" = "$synopsis" ] ||
    fail "$package's deb synopsis is '$(head -1 <<<"$description")', not '$synopsis'"
  grep -qF "$text" <<<"$description" || fail "$package's deb description does not say '$text': $description"
  rpm=$(ls "$out/$package-"[0-9]*.rpm)
  [ "$(rpm -qp --qf '%{SUMMARY}' "$rpm")" = "${synopsis^}" ] ||
    fail "$package's rpm summary is '$(rpm -qp --qf '%{SUMMARY}' "$rpm")', not '${synopsis^}'"
  grep -qF "$text" <<<"$(rpm -qp --qf '%{DESCRIPTION}' "$rpm")" || fail "$package's rpm description does not say '$text'"
}
describes harmony "plugin dispatcher for typed infrastructure deployment" "harmony finds harmony-<name> plugins"
describes harmony-fleet "deploys the harmony fleet: NATS, device agents, control plane" "on Kubernetes also the fleet"
describes harmony-agent "talks to the harmony fleet's device agents over NATS" "harmony agent list, ping, status"
describes fleet-agent "device agent of the harmony fleet" "fleet-agent connects a device"
describes harmony-sdk "SDK for harmony plugins: headers, libraries, CMake package, template" "the template harmony plugin new"
echo "descriptions: every deb and rpm has its own synopsis and description"

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
  # Every requirement is something Fedora 41 provides (packaging/README.md,
  # "RPM"): nothing names a soname only Debian has.
  mapfile -t provides < <(grep -v '^\s*#' "$here/rpm/fedora-41.provides" | grep -v '^\s*$')
  for r in "${rpms[@]}"; do
    own=$(rpm -qp --provides "$r")
    while IFS= read -r requirement; do
      grep -qxF "$requirement" <<<"$own" && continue  # the package provides it itself
      matched=
      for pattern in "${provides[@]}"; do
        if [[ "$requirement" =~ ^($pattern)$ ]]; then matched=1; break; fi
      done
      [ -n "$matched" ] || fail "$(basename "$r") requires '$requirement', which Fedora 41 does not provide (packaging/rpm/fedora-41.provides)"
    done < <(rpm -qpR "$r")
    # The bundled libraries are not offered to the rest of the system.
    if grep -Eq '^lib(nats|yaml-cpp|spdlog|fmt|sodium)\.so' <<<"$(rpm -qp --provides "$r")"; then
      fail "$(basename "$r") provides a bundled library to the system: $(rpm -qp --provides "$r" | grep -E '^lib')"
    fi
  done
  echo "rpms: every requirement is one Fedora 41 provides; bundled libraries stay private"
  if command -v rpmlint >/dev/null; then
    # Error tags we accept, each explained in packaging/README.md.
    accepted='no-signature|static-library-without-debuginfo|explicit-lib-dependency|devel-dependency|no-dependency-on'
    errors=$(rpmlint "${rpms[@]}" 2>&1 | grep -E '^[^ ]+: E: ' | grep -Ev ": E: ($accepted)( |$)" || true)
    [ -z "$errors" ] || fail "rpmlint:
$errors"
    echo "rpmlint: no errors beyond the accepted ones (packaging/README.md)"
  else
    echo "rpmlint is not installed: the rpms were NOT checked by rpmlint" >&2
  fi
  mkdir -p "$work/root"
  rpm --root "$work/root" -i --nodeps --noscripts "${rpms[@]}" 2>/dev/null || fail "rpm -i into a scratch root"
  [ "$(rpm --root "$work/root" -qa | wc -l)" -eq 5 ] || fail "not all rpms are in the scratch root's database"
  rpm --root "$work/root" -V --nodeps harmony harmony-fleet harmony-agent fleet-agent harmony-sdk || fail "rpm -V in the scratch root"
  "$work/root/usr/bin/harmony" version >/dev/null || fail "the harmony installed from the rpm does not run"
  # The programs load the bundled libraries from beside them, whatever the
  # system has: every bundled soname resolves into the scratch root.
  for program in fleet-agent harmony-agent harmony-fleet fleet-operator fleet-callout; do
    resolved=$(ldd "$work/root/usr/bin/$program")
    while IFS= read -r line; do
      grep -Eq "^\s*lib(nats|yaml-cpp|spdlog|fmt|sodium)\.so" <<<"$line" || continue
      grep -qF "$work/root/usr/bin/../lib64/$(rpm -qf --root "$work/root" --qf '%{NAME}' "/usr/bin/$program")/" <<<"$line" || fail "$program from the rpm loads a library from the system: $line"
    done <<<"$resolved"
    "$work/root/usr/bin/$program" --help >/dev/null || fail "$program from the rpm does not run"
  done
  echo "rpms: the programs run with the libraries bundled beside them"
  echo "rpms: files, requires, scriptlets, config files; installed into a scratch root and verified (--nodeps: well-formed, not installed)"
else
  echo "rpm is not installed: the rpms were NOT checked" >&2
fi
