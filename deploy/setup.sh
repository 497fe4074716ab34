#!/usr/bin/env bash
# Everything a fresh Debian machine with Node needs to run and test Berth: the Debian packages that
# are missing, the npm dependencies, and the build. Idempotent and quick when nothing is missing;
# both README commands run it.
set -euo pipefail
cd "$(dirname "$0")/.."

# runc and conmon run containers; nats-server and postgresql are the embedded defaults and the test
# services; busybox-static is the root filesystem of test images; openssl makes test certificates;
# docker-registry, skopeo and apache2-utils (htpasswd) are the registries and peers of image tests;
# attr (setfattr) marks opaque directories in unpacked layers; golang-github-containers-common ships
# the default seccomp profile (/usr/share/containers/seccomp.json); iproute2 (ip) makes container
# networks' bridges, veth pairs and namespaces, iptables their forwarding, NAT and published ports.
packages=(runc conmon nats-server postgresql busybox-static openssl iproute2 iptables ca-certificates docker-registry skopeo apache2-utils attr golang-github-containers-common)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages (${missing[*]}); run this as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Berth starts its own Postgres under its state directory; Debian's default cluster is not used.
  if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
    pg_lsclusters -h | awk '$4 == "online" { print $1, $2 }' | while read -r version cluster; do
      pg_ctlcluster "$version" "$cluster" stop || true
    done
  fi
fi

# The Docker Engine API's tests drive it with Debian's docker client. Only the client is taken from
# the docker.io package (apt-get download, no install): its daemon would take over the host's
# networking and iptables, and nothing here needs it.
docker_cli=/usr/local/lib/berth/docker-cli/docker
if [[ ! -x $docker_cli && $(id -u) -eq 0 ]]; then
  echo "setup: fetching Debian's docker client"
  work=$(mktemp -d)
  (cd "$work" && { apt-get download -qq docker.io 2>/dev/null || { apt-get update -qq && apt-get download -qq docker.io 2>/dev/null; }; } && dpkg-deb -x docker.io_*.deb extracted)
  install -D -m 0755 "$work/extracted/usr/bin/docker" "$docker_cli"
  rm -rf "$work"
fi

# npm ci when package-lock.json changed since the last install.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash deploy/build.sh
