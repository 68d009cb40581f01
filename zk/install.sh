#!/usr/bin/env bash
# Install Debian's ZooKeeper package (and a Java runtime with it) if it is
# not there yet. Safe to run repeatedly; works as root without a TTY.
#   zk/install.sh           install zookeeper if missing
#   zk/install.sh PKG...    also install the given Debian packages if missing
set -euo pipefail

need=()
[ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "zk/install.sh: need root (or sudo) to install: ${need[*]}" >&2; exit 1
  fi
fi
echo "zk/install.sh: installing ${need[*]} with apt-get ..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
