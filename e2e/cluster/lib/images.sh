# Container images made on this machine (no image can be pulled here): an OCI
# image archive written with tar and sha256sum alone, so neither docker nor a
# registry is needed, then imported into containerd. Sourced, never run.

# The OCI archive writer is the packaging's (the fleet's images use it too).
. "$(dirname "${BASH_SOURCE[0]}")/../../../packaging/container/oci-archive.sh"

# The sandbox image: the static pause program alone.
make_pause_image() { # src.c work-dir out.tar ref
  local src=$1 work=$2 out=$3 ref=$4
  mkdir -p "$work/rootfs"
  gcc -static -Os -s -o "$work/rootfs/pause" "$src"
  oci_archive "$work/rootfs" "$ref" '{"Entrypoint":["/pause"]}' "$out"
}

# A small general image for test pods: Debian's static busybox with every
# applet linked into /bin.
make_busybox_image() { # work-dir out.tar ref
  local work=$1 out=$2 ref=$3 applet
  mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/etc"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for applet in $("$work/rootfs/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$work/rootfs/bin/$applet"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$work/rootfs/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>"$work/rootfs/etc/passwd"
  echo 'root:x:0:' >"$work/rootfs/etc/group"
  oci_archive "$work/rootfs" "$ref" '{"Cmd":["/bin/sh"],"Env":["PATH=/bin"]}' "$out"
}
