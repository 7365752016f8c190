/**
 * L2TPv2 protocol layer (RFC 2661), sans-I/O: reliable transport, tunnels, sessions and the
 * LAC/LNS facades that put a PPP Link on each call.
 *
 * Wiring (what an io adapter does; test/protocol/l2tp/interop-driver.ts is a working one):
 *
 *   const sock = dgram.createSocket('udp4');          // bound to :1701 (server) or any port
 *   const lns = new L2tpLns({ clock: new RealClock(), secret, pppFor: (ctx) => ({ verifier, localAddress, remoteAddress, ... }),
 *     send: (buf, off, len, peer) => sock.send(buf.subarray(off, off + len), peer.port, peer.address) });
 *   sock.on('message', (m, ri) => lns.receive(m, 0, m.length, { address: ri.address, port: ri.port }));
 *   lns.on('call', (call) => {
 *     call.onIp = (buf, off, len) => tun.write(buf, off, len);         // IPv4 from the peer
 *     call.on('status', (s, reason) => monitor(s, reason));           // dialing .. connected .. terminated
 *   });
 *   // IPv4 to the peer: read into buf at L2TP_IP_HEADROOM, then call.sendIp(buf, L2TP_IP_HEADROOM, len).
 *
 * `send` buffers: control messages are kept for retransmission (do not modify them); data
 * buffers are the caller's own (copy if the socket send is asynchronous and the buffer reused).
 * Nothing here throws into the caller on bad input; drops are counted (`stats()`).
 */
export * from './reliable.js';
export * from './session.js';
export * from './tunnel.js';
export * from './endpoint.js';
export * from './call.js';
export * from './lac.js';
export * from './lns.js';
