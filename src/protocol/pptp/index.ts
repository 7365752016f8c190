/**
 * PPTP protocol layer (RFC 2637), sans-I/O: control connection, Enhanced GRE session,
 * Call IDs, and the client/server facades that put a PPP Link on each call.
 *
 * Wiring an io adapter (every callback view is valid only during the call: send or copy):
 *
 *   client = new PptpClientCall({ clock: new RealClock(), ppp: {user, password, ...},
 *     peerAddress, onTcpWrite: b => sock.write(b), onTcpClose: () => sock.end(),
 *     onGreWrite: (b, o, l) => raw.sendOne(b, o, l, serverU32), onIp: (b, o, l) => tun write,
 *     onStatus: e => monitor })
 *   sock 'connect' -> client.start();  'data' -> client.receiveTcp(chunk);  'close' -> client.tcpClosed()
 *   raw GRE rx -> client.receiveGre(b, off + ihl, len - ihl, srcU32)     (skip the IPv4 header)
 *   TUN rx (PPTP_IP_HEADROOM free in front) -> client.sendIp(b, off, len)
 *
 *   server = new PptpServer({ clock, ppp: ctx => ({verifier, localAddress, remoteAddress}) | {refuse},
 *     onGreWrite: (peerU32, b, o, l) => raw.sendOne(b, o, l, peerU32), onIp: (call, b, o, l) => ... })
 *   TCP accept -> conn = server.accept({ peerAddress, onWrite, onClose }); data -> conn.receive(); close -> conn.tcpClosed()
 *   raw GRE rx -> server.receiveGre(srcU32, b, off + ihl, len - ihl)
 *   per call: call.sendIp(b, off, len), call.hangup(reason); server.close(reason) on shutdown
 */
export * from './gre-session.js';
export * from './call-ids.js';
export * from './control.js';
export * from './call.js';
export * from './client.js';
export * from './server.js';
