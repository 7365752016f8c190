#!/usr/bin/env bash
# culvert demo: the RouterOS manual's "Site-to-Site PPTP" example, for real.
#
# Four network namespaces stand for the seed's drawing: the Office router (PPTP server),
# the Home router (PPTP client), and one workstation on each LAN. The two routers are
# culvert daemons configured with the manual's own console commands (addresses moved into
# 198.18.0.0/15, which never leaves this machine). Then it shows `monitor`, the active
# session, and pings from one LAN to the other through the MPPE-encrypted tunnel.
# Everything it creates is removed at the end, also on Ctrl-C or failure.
#
# Run on Debian 12 as root from a clone: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

say()  { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it creates network namespaces and TUN devices)" >&2; exit 1; }

# ---------------------------------------------------------------- what the demo needs
say "Checking what the demo needs"
need_pkgs=()
for p in iproute2 iputils-ping procps; do dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p"); done
if [ ! -f build/Release/culvert.node ]; then
  # The data-plane addon is compiled by `npm ci`.
  for p in gcc g++ make python3; do dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p"); done
fi
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  note "installing Debian packages: ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
command -v node >/dev/null || { echo "demo: Node.js 20 or newer is needed (node not found)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "demo: Node.js 20 or newer is needed (found $(node --version))" >&2; exit 1; }
if [ ! -d node_modules ] || [ ! -f build/Release/culvert.node ]; then
  note "npm ci (dependencies, TypeScript build, native addon)"
  npm ci --no-audit --no-fund >/dev/null
fi
[ -f dist/src/cli/main.js ] || { note "npm run build"; npm run build >/dev/null; }
[ -f build/Release/culvert.node ] || { echo "demo: the native addon did not build (npm run build:native shows why)" >&2; exit 1; }
note "ok: node $(node --version), addon built"

# ---------------------------------------------------------------- the seed's machines
tag="cvd$$"
OFFICE=$tag-office HOMENS=$tag-home OWS=$tag-ows HWS=$tag-hws
work=$(mktemp -d /tmp/culvert-demo.XXXXXX)
pids=()

cleanup() {
  set +e
  say "Cleaning up"
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  for ns in "$OFFICE" "$HOMENS" "$OWS" "$HWS"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work"
  note "daemons stopped, namespaces $tag-* removed"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Creating the seed's network (one namespace per machine)"
for ns in "$OFFICE" "$HOMENS" "$OWS" "$HWS"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
veth() { # ns1 if1 addr1 ns2 if2 addr2
  ip -n "$1" link add "$2" type veth peer name "tmp$$"
  ip -n "$1" link set "tmp$$" netns "$4"
  ip -n "$4" link set "tmp$$" name "$5"
  ip -n "$1" addr add "$3" dev "$2"; ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set "$2" up; ip -n "$4" link set "$5" up
}
veth "$OFFICE" ether1 198.18.80.1/24   "$HOMENS" ether1 198.18.80.2/24     # "the internet"
veth "$OFFICE" ether2 198.19.101.1/24  "$OWS"  eth0   198.19.101.50/24   # office LAN (10.1.101.0/24 in the seed)
veth "$HOMENS"   ether2 198.19.202.1/24  "$HWS"  eth0   198.19.202.50/24   # home LAN (10.1.202.0/24 in the seed)
ip -n "$OWS" route add default via 198.19.101.1
ip -n "$HWS" route add default via 198.19.202.1
for ns in "$OFFICE" "$HOMENS"; do ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1; done
note "Office router: public 198.18.80.1 (seed 192.168.80.1), LAN 198.19.101.1/24"
note "Home router:   public 198.18.80.2,                       LAN 198.19.202.1/24"
note "workstations:  198.19.101.50 (office), 198.19.202.50 (home)"

say "Starting a culvert daemon on each router"
start_daemon() { # name ns
  mkdir -p "$work/$1"
  ip netns exec "$2" node "$ROOT/dist/src/cli/main.js" daemon --data-dir "$work/$1/data" --socket "$work/$1/culvert.sock" \
    2>"$work/$1/daemon.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$work/$1/culvert.sock" ] && return 0; sleep 0.1; done
  echo "demo: the $1 daemon did not start:"; cat "$work/$1/daemon.log"; exit 1
}
start_daemon office "$OFFICE"
start_daemon home "$HOMENS"
note "logs: $work/office/daemon.log, $work/home/daemon.log"

run() { # router command...
  local who=$1; shift
  local shown="" a
  for a in "$@"; do
    # Show an argument with spaces the way it is typed at the console: key="a b c".
    if [[ "$a" == *" "* ]]; then shown+=" ${a%%=*}=\"${a#*=}\""; else shown+=" $a"; fi
  done
  printf '\033[1m[admin@%s] >%s\033[0m\n' "$who" "$shown"
  "$ROOT/bin/culvert" --socket "$work/$who/culvert.sock" "$@"
}

say "Office router: the user and the server (the seed's commands)"
run office /ppp secret add name=Home service=pptp password=123 local-address=198.19.16.1 \
  remote-address=198.19.16.2 'routes=198.19.202.0/24 198.19.16.2 1'
run office /ppp secret print detail
run office /interface pptp-server server set enabled=yes
run office /interface pptp-server server print

say "Home router: the client and the route to the office LAN"
run home /interface pptp-client add user=Home password=123 connect-to=198.18.80.1 disabled=no
run home /ip route add dst-address=198.19.101.0/24 gateway=pptp-out1

note "waiting for the tunnel..."
for _ in $(seq 150); do
  run home /interface pptp-client monitor pptp-out1 once 2>/dev/null | grep -q 'status: "connected"' && break
  sleep 0.2
done >/dev/null
run home /interface pptp-client print
run home /interface pptp-client monitor pptp-out1 once
run office /ppp active print
run office /interface pptp-server print

say "Routes the tunnel brought"
note "office: $(ip -n "$OFFICE" route show 198.19.202.0/24)"
note "home:   $(ip -n "$HOMENS" route show 198.19.101.0/24)"

say "Ping from the home workstation (198.19.202.50) to the office workstation (198.19.101.50)"
ip netns exec "$HWS" ping -n -c 4 -i 0.3 198.19.101.50
say "And back, office -> home"
ip netns exec "$OWS" ping -n -c 4 -i 0.3 198.19.202.50

say "Done: both LANs reach each other through culvert's PPTP tunnel (MPPE-128)"
