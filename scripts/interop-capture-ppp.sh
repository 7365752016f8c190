#!/bin/bash
# Capture one real pppd PPP session between two interop-lab guests, for the
# PPP replay fixtures in test/fixtures/ppp/ (see its README).
#   usage: scripts/interop-capture-ppp.sh VARIANT OUTDIR
#   VARIANT: pptp-mschapv2-mppe128 | pptp-mschapv1-mppe128 | pptp-chap | pptp-pap |
#            l2tp-mschapv2 | l2tp-mschapv2-mppe128
# Writes OUTDIR/VARIANT/{capture.pcap, client-pppd.log, server-pppd.log}.
# Boots guests fxsrv (198.18.0.130, server role) and fxcli (198.18.0.140, client
# role), captures ia-br0 with tcpdump, dials, pings 3x through the tunnel, hangs
# up, and always stops its guests. Run as root; only one interop run at a time.
set -uo pipefail
HERE=$(dirname "$(readlink -f "$0")")
IA=${IA_SCRIPTS:-$(readlink -f "$HERE/../../shared/interop")}
[ -x "$IA/peer.sh" ] || IA=/work/shared/interop
P=$IA/peer.sh
VARIANT=${1:?variant} OUT=${2:?outdir}
SRV=fxsrv CLI=fxcli SRV_IP=198.18.0.130 CLI_IP=198.18.0.140

case $VARIANT in
  pptp-mschapv2-mppe128) KIND=pptp SRVROLE=pptpd CLIROLE=pptp-client OPTS="--auth mschapv2 --mppe require" STUN=198.19.1.1 ;;
  pptp-mschapv1-mppe128) KIND=pptp SRVROLE=pptpd CLIROLE=pptp-client OPTS="--auth mschap --mppe require" STUN=198.19.1.1 ;;
  pptp-chap)             KIND=pptp SRVROLE=pptpd CLIROLE=pptp-client OPTS="--auth chap --mppe none" STUN=198.19.1.1 ;;
  pptp-pap)              KIND=pptp SRVROLE=pptpd CLIROLE=pptp-client OPTS="--auth pap --mppe none" STUN=198.19.1.1 ;;
  l2tp-mschapv2)         KIND=l2tp SRVROLE=xl2tpd-server CLIROLE=xl2tpd-client OPTS="--auth mschapv2 --mppe none" STUN=198.19.2.1 ;;
  l2tp-mschapv2-mppe128) KIND=l2tp SRVROLE=xl2tpd-server CLIROLE=xl2tpd-client OPTS="--auth mschapv2 --mppe require" STUN=198.19.2.1 ;;
  *) echo "unknown variant $VARIANT" >&2; exit 2 ;;
esac
SRVLOG=pppd-$([ $KIND = pptp ] && echo pptpd || echo xl2tpd).log
CLILOG=pppd-$KIND.log
DEST=$OUT/$VARIANT
mkdir -p "$DEST"
CAP_PID=""
cleanup() {
  [ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
  "$P" stop "$SRV" "$CLI" >/dev/null 2>&1
  "$P" status 2>/dev/null | grep -q ': running' || "$P" net-down >/dev/null 2>&1
}
trap cleanup EXIT

"$IA/setup.sh" >/dev/null || { echo "setup.sh failed" >&2; exit 1; }
"$P" stop "$SRV" "$CLI" >/dev/null 2>&1
# shellcheck disable=SC2086
"$P" start $SRVROLE $OPTS --name $SRV --ip $SRV_IP & p1=$!
# shellcheck disable=SC2086
"$P" start $CLIROLE $OPTS --name $CLI --ip $CLI_IP --server $SRV_IP --no-dial & p2=$!
wait $p1 || { echo "server guest failed" >&2; exit 1; }
wait $p2 || { echo "client guest failed" >&2; exit 1; }

ip netns exec ia-lab tcpdump -q -U -i ia-br0 -w "$DEST/capture.pcap" \
  "host $SRV_IP and host $CLI_IP" >/dev/null 2>&1 & CAP_PID=$!
sleep 1.5
"$P" dial $CLI $KIND >/dev/null
"$P" wait-up $CLI --timeout 30 >/dev/null || { echo "$VARIANT: tunnel did not come up" >&2; exit 1; }
"$P" exec $CLI -- ping -c 3 -i 0.2 -W 2 "$STUN" >/dev/null || { echo "$VARIANT: ping failed" >&2; exit 1; }
"$P" hangup $CLI $KIND >/dev/null
for _ in $(seq 100); do [ -z "$(ls "/var/tmp/interop/run/$SRV/state/ppp")" ] && break; sleep 0.1; done
sleep 1
kill "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null; CAP_PID=""
cp "/var/tmp/interop/run/$CLI/logs/$CLILOG" "$DEST/client-pppd.log"
cp "/var/tmp/interop/run/$SRV/logs/$SRVLOG" "$DEST/server-pppd.log"
echo "$VARIANT: captured $(stat -c %s "$DEST/capture.pcap") bytes to $DEST"
