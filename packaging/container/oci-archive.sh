# An OCI image archive written with tar, sha256sum and jq alone: no docker,
# no registry (machines without a container engine build images this way).
# Sourced, never run.
#
# oci_archive ROOTFS NAME:TAG CONFIG_JSON OUT.tar
# CONFIG_JSON is the image's "config" object, e.g. '{"Entrypoint":["/pause"]}'.
oci_archive() {
  local rootfs=$1 ref=$2 config=$3 out=$4 dir
  dir=$(mktemp -d)
  mkdir -p "$dir/blobs/sha256"
  # Reproducible layer: fixed order, owners and times.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
      -C "$rootfs" -cf "$dir/layer.tar" .
  local layer_sum layer_size cfg cfg_sum cfg_size man man_sum man_size
  layer_sum=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  layer_size=$(stat -c %s "$dir/layer.tar")
  mv "$dir/layer.tar" "$dir/blobs/sha256/$layer_sum"
  cfg=$(jq -cn --argjson c "$config" --arg d "sha256:$layer_sum" \
    '{architecture:"amd64",os:"linux",config:$c,rootfs:{type:"layers",diff_ids:[$d]}}')
  printf '%s' "$cfg" >"$dir/cfg"
  cfg_sum=$(sha256sum "$dir/cfg" | cut -d' ' -f1); cfg_size=$(stat -c %s "$dir/cfg")
  mv "$dir/cfg" "$dir/blobs/sha256/$cfg_sum"
  man=$(jq -cn --arg c "sha256:$cfg_sum" --argjson cs "$cfg_size" \
               --arg l "sha256:$layer_sum" --argjson ls "$layer_size" \
    '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
      config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
      layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar",digest:$l,size:$ls}]}')
  printf '%s' "$man" >"$dir/man"
  man_sum=$(sha256sum "$dir/man" | cut -d' ' -f1); man_size=$(stat -c %s "$dir/man")
  mv "$dir/man" "$dir/blobs/sha256/$man_sum"
  jq -cn --arg m "sha256:$man_sum" --argjson ms "$man_size" --arg ref "$ref" --arg tag "${ref##*:}" \
    '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",
      digest:$m,size:$ms,platform:{architecture:"amd64",os:"linux"},
      annotations:{"io.containerd.image.name":$ref,"org.opencontainers.image.ref.name":$tag}}]}' \
    >"$dir/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir" -cf "$out" oci-layout index.json blobs
  rm -rf "$dir"
}

