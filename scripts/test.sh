#!/usr/bin/env bash
# Runs every culvert test on a fresh Debian 12 machine, as root, from a fresh clone:
# installs what it needs (Debian packages by name, npm ci), prepares the interop lab, runs `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
for p in iproute2 iputils-ping iperf3 procps nftables ethtool; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "test: installing ${need_pkgs[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# The interop lab (real pppd / pptpd / xl2tpd in user-mode-linux guests) lives beside the repo.
shared=${CULVERT_SHARED:-$(cd .. && pwd)/shared}
if [ -x "$shared/interop/setup.sh" ] || [ -f "$shared/interop/setup.sh" ]; then
  bash "$shared/interop/setup.sh"
else
  echo "test: $shared/interop/setup.sh not found; interop tests will fail" >&2
fi

npm ci --no-audit --no-fund
npm test
