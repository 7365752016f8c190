/**
 * A small, pure reader and writer for packet capture files: classic libpcap
 * (draft-ietf-opsawg-pcap) and pcapng (draft-ietf-opsawg-pcapng). Used by test
 * tooling to turn captures of real peers into fixtures; no I/O here.
 *
 * Packet data are views into the input buffer (no copies). Every length read
 * from the file is checked against the buffer before use.
 */
import { CodecError } from '../errors.js';

/** LINKTYPE_* values we name (tcpdump.org link-layer header types registry). */
export const LinkType = {
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  LINUX_SLL2: 276,
} as const;

export interface PcapPacket {
  /** pcapng interface index; always 0 for classic pcap. */
  interfaceId: number;
  linkType: number;
  /** Capture time in nanoseconds since the Unix epoch. */
  timestampNs: bigint;
  /** Length on the wire; `data` may be shorter if the capture was truncated by snaplen. */
  originalLength: number;
  data: Uint8Array;
}

export interface PcapFile {
  format: 'pcap' | 'pcapng';
  packets: PcapPacket[];
}

/** Largest captured packet we accept (libpcap's MAXIMUM_SNAPLEN). */
export const MAX_PACKET = 262144;
/** Largest pcapng block we accept: a maximal packet plus generous room for options. */
const MAX_BLOCK = MAX_PACKET + 65536;

// Classic pcap magic numbers, as read little-endian (draft-ietf-opsawg-pcap §4).
const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_HEADER = 24;
const PCAP_RECORD = 16;

// pcapng block types and options (draft-ietf-opsawg-pcapng §4, §11).
const enum Block {
  SectionHeader = 0x0a0d0d0a,
  InterfaceDescription = 0x00000001,
  ObsoletePacket = 0x00000002,
  SimplePacket = 0x00000003,
  EnhancedPacket = 0x00000006,
}
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

function fail(code: string, message: string): never {
  throw new CodecError(code, message);
}

function need(buf: Uint8Array, offset: number, len: number, what: string): void {
  if (offset + len > buf.length) {
    fail('PCAP_ERR_TRUNCATED', `${what} needs ${len} bytes at offset ${offset}, file has ${buf.length}`);
  }
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Decode a whole capture file (format detected from its first four bytes). */
export function decode(buf: Uint8Array): PcapFile {
  need(buf, 0, 4, 'magic number');
  const dv = view(buf);
  const le = dv.getUint32(0, true);
  if (le === Block.SectionHeader) return { format: 'pcapng', packets: decodePcapng(buf, dv) };
  if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) return { format: 'pcap', packets: decodePcap(buf, dv, true) };
  const be = dv.getUint32(0, false);
  if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) return { format: 'pcap', packets: decodePcap(buf, dv, false) };
  return fail('PCAP_ERR_BAD_MAGIC', `not a pcap or pcapng file (magic 0x${be.toString(16).padStart(8, '0')})`);
}

function decodePcap(buf: Uint8Array, dv: DataView, little: boolean): PcapPacket[] {
  need(buf, 0, PCAP_HEADER, 'pcap file header');
  const nanos = dv.getUint32(0, little) === PCAP_MAGIC_NS;
  // The upper bits of the link-type field carry FCS information (draft §4), not the type.
  const linkType = dv.getUint32(20, little) & 0x0fffffff;
  const packets: PcapPacket[] = [];
  let off = PCAP_HEADER;
  while (off < buf.length) {
    need(buf, off, PCAP_RECORD, 'pcap record header');
    const sec = dv.getUint32(off, little);
    const frac = dv.getUint32(off + 4, little);
    const capLen = dv.getUint32(off + 8, little);
    const origLen = dv.getUint32(off + 12, little);
    if (capLen > MAX_PACKET) fail('PCAP_ERR_OVERSIZED', `pcap record of ${capLen} bytes exceeds ${MAX_PACKET}`);
    off += PCAP_RECORD;
    need(buf, off, capLen, 'pcap packet data');
    packets.push({
      interfaceId: 0,
      linkType,
      timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * (nanos ? 1n : 1000n),
      originalLength: origLen,
      data: buf.subarray(off, off + capLen),
    });
    off += capLen;
  }
  return packets;
}

interface Iface {
  linkType: number;
  /** Timestamp units per second (exact, as bigint). */
  unitsPerSecond: bigint;
  offsetSeconds: bigint;
  snapLen: number;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function decodePcapng(buf: Uint8Array, dv: DataView): PcapPacket[] {
  const packets: PcapPacket[] = [];
  let little = true;
  let ifaces: Iface[] = [];
  let off = 0;
  while (off < buf.length) {
    need(buf, off, 12, 'pcapng block header');
    const rawType = dv.getUint32(off, true);
    if (rawType === Block.SectionHeader) {
      // Each section declares its own byte order (draft §4.1); the type is a palindrome.
      need(buf, off, 12, 'section header');
      const bom = dv.getUint32(off + 8, true);
      if (bom === BYTE_ORDER_MAGIC) little = true;
      else if (dv.getUint32(off + 8, false) === BYTE_ORDER_MAGIC) little = false;
      else fail('PCAP_ERR_BAD_MAGIC', `bad pcapng byte-order magic at offset ${off}`);
      ifaces = [];
    } else if (off === 0) {
      fail('PCAP_ERR_BAD_MAGIC', 'pcapng file does not start with a section header');
    }
    const type = dv.getUint32(off, little);
    const total = dv.getUint32(off + 4, little);
    if (total < 12 || total % 4 !== 0) fail('PCAP_ERR_BAD_BLOCK', `pcapng block length ${total} at offset ${off} is invalid`);
    if (total > MAX_BLOCK) fail('PCAP_ERR_OVERSIZED', `pcapng block of ${total} bytes exceeds ${MAX_BLOCK}`);
    need(buf, off, total, 'pcapng block');
    if (dv.getUint32(off + total - 4, little) !== total) {
      fail('PCAP_ERR_BAD_BLOCK', `pcapng block at offset ${off}: trailing length does not match ${total}`);
    }
    const body = off + 8;
    const end = off + total - 4;
    switch (type) {
      case Block.SectionHeader:
        if (end - body < 16) fail('PCAP_ERR_BAD_BLOCK', 'section header block too short');
        break;
      case Block.InterfaceDescription: {
        if (end - body < 8) fail('PCAP_ERR_BAD_BLOCK', 'interface description block too short');
        const iface: Iface = {
          linkType: dv.getUint16(body, little),
          unitsPerSecond: 1_000_000n,
          offsetSeconds: 0n,
          snapLen: dv.getUint32(body + 4, little),
        };
        forEachOption(dv, little, body + 8, end, (code, at, len) => {
          if (code === OPT_IF_TSRESOL && len >= 1) {
            const r = buf[at]!;
            // MSB clear: 10^-r seconds; MSB set: 2^-(r & 0x7f) seconds (draft §4.2).
            const exp = BigInt(r & 0x7f);
            if (exp > 63n) fail('PCAP_ERR_BAD_BLOCK', `if_tsresol ${r} out of range`);
            iface.unitsPerSecond = r & 0x80 ? 1n << exp : 10n ** exp;
          } else if (code === OPT_IF_TSOFFSET && len >= 8) {
            iface.offsetSeconds = dv.getBigInt64(at, little);
          }
        });
        ifaces.push(iface);
        break;
      }
      case Block.EnhancedPacket:
      case Block.ObsoletePacket: {
        if (end - body < 20) fail('PCAP_ERR_BAD_BLOCK', 'packet block too short');
        const ifId = type === Block.EnhancedPacket ? dv.getUint32(body, little) : dv.getUint16(body, little);
        const iface = ifaces[ifId];
        if (!iface) fail('PCAP_ERR_BAD_INTERFACE', `packet refers to undeclared interface ${ifId}`);
        const ts = (BigInt(dv.getUint32(body + 4, little)) << 32n) | BigInt(dv.getUint32(body + 8, little));
        const capLen = dv.getUint32(body + 12, little);
        const origLen = dv.getUint32(body + 16, little);
        if (capLen > MAX_PACKET) fail('PCAP_ERR_OVERSIZED', `packet of ${capLen} bytes exceeds ${MAX_PACKET}`);
        if (body + 20 + pad4(capLen) > end) fail('PCAP_ERR_BAD_BLOCK', `packet data of ${capLen} bytes overruns its block`);
        packets.push({
          interfaceId: ifId,
          linkType: iface.linkType,
          timestampNs: iface.offsetSeconds * 1_000_000_000n + (ts * 1_000_000_000n) / iface.unitsPerSecond,
          originalLength: origLen,
          data: buf.subarray(body + 20, body + 20 + capLen),
        });
        break;
      }
      case Block.SimplePacket: {
        if (end - body < 4) fail('PCAP_ERR_BAD_BLOCK', 'simple packet block too short');
        const iface = ifaces[0];
        if (!iface) fail('PCAP_ERR_BAD_INTERFACE', 'simple packet block before any interface');
        const origLen = dv.getUint32(body, little);
        // The captured length is implied: the original length cut to the snap length (draft §4.4).
        let capLen = iface.snapLen > 0 ? Math.min(origLen, iface.snapLen) : origLen;
        capLen = Math.min(capLen, end - (body + 4));
        if (capLen > MAX_PACKET) fail('PCAP_ERR_OVERSIZED', `packet of ${capLen} bytes exceeds ${MAX_PACKET}`);
        packets.push({
          interfaceId: 0,
          linkType: iface.linkType,
          timestampNs: 0n,
          originalLength: origLen,
          data: buf.subarray(body + 4, body + 4 + capLen),
        });
        break;
      }
      default:
        break; // name resolution, statistics, custom blocks: not needed, skipped whole
    }
    off += total;
  }
  return packets;
}

function forEachOption(
  dv: DataView,
  little: boolean,
  start: number,
  end: number,
  fn: (code: number, at: number, len: number) => void,
): void {
  let at = start;
  while (at + 4 <= end) {
    const code = dv.getUint16(at, little);
    const len = dv.getUint16(at + 2, little);
    if (code === OPT_ENDOFOPT) return;
    if (at + 4 + pad4(len) > end) fail('PCAP_ERR_BAD_BLOCK', `option ${code} overruns its block`);
    fn(code, at + 4, len);
    at += 4 + pad4(len);
  }
}

/** Bytes `encode(file)` will produce. */
export function encodingLength(file: PcapFile): number {
  if (file.format === 'pcap') {
    let n = PCAP_HEADER;
    for (const p of file.packets) n += PCAP_RECORD + p.data.length;
    return n;
  }
  let n = 28 + interfacesOf(file).length * 32;
  for (const p of file.packets) n += 32 + pad4(p.data.length);
  return n;
}

function interfacesOf(file: PcapFile): number[] {
  const types: number[] = [];
  for (const p of file.packets) {
    const known = types[p.interfaceId];
    if (known === undefined) types[p.interfaceId] = p.linkType;
    else if (known !== p.linkType) fail('PCAP_ERR_MIXED_LINKTYPE', `interface ${p.interfaceId} has two link types`);
  }
  for (let i = 0; i < types.length; i++) if (types[i] === undefined) types[i] = LinkType.ETHERNET;
  return types;
}

/**
 * Encode little-endian with nanosecond timestamps, so decode(encode(f)) is lossless:
 * classic pcap with the 0xa1b23c4d magic, or pcapng with if_tsresol = 9.
 */
export function encode(file: PcapFile): Uint8Array {
  const out = new Uint8Array(encodingLength(file));
  const dv = view(out);
  for (const p of file.packets) {
    if (p.data.length > MAX_PACKET) fail('PCAP_ERR_OVERSIZED', `packet of ${p.data.length} bytes exceeds ${MAX_PACKET}`);
  }
  if (file.format === 'pcap') {
    const linkType = file.packets[0]?.linkType ?? LinkType.ETHERNET;
    dv.setUint32(0, PCAP_MAGIC_NS, true);
    dv.setUint16(4, 2, true);
    dv.setUint16(6, 4, true);
    dv.setUint32(16, MAX_PACKET, true);
    dv.setUint32(20, linkType, true);
    let off = PCAP_HEADER;
    for (const p of file.packets) {
      if (p.linkType !== linkType) fail('PCAP_ERR_MIXED_LINKTYPE', 'classic pcap holds a single link type');
      dv.setUint32(off, Number(p.timestampNs / 1_000_000_000n), true);
      dv.setUint32(off + 4, Number(p.timestampNs % 1_000_000_000n), true);
      dv.setUint32(off + 8, p.data.length, true);
      dv.setUint32(off + 12, p.originalLength, true);
      out.set(p.data, off + PCAP_RECORD);
      off += PCAP_RECORD + p.data.length;
    }
    return out;
  }
  // Section header: byte-order magic, version 1.0, section length unknown (-1).
  dv.setUint32(0, Block.SectionHeader, true);
  dv.setUint32(4, 28, true);
  dv.setUint32(8, BYTE_ORDER_MAGIC, true);
  dv.setUint16(12, 1, true);
  dv.setBigInt64(16, -1n, true);
  dv.setUint32(24, 28, true);
  let off = 28;
  for (const linkType of interfacesOf(file)) {
    dv.setUint32(off, Block.InterfaceDescription, true);
    dv.setUint32(off + 4, 32, true);
    dv.setUint16(off + 8, linkType, true);
    dv.setUint32(off + 12, MAX_PACKET, true);
    dv.setUint16(off + 16, OPT_IF_TSRESOL, true);
    dv.setUint16(off + 18, 1, true);
    out[off + 20] = 9;
    // off+24: opt_endofopt (zeros)
    dv.setUint32(off + 28, 32, true);
    off += 32;
  }
  for (const p of file.packets) {
    const total = 32 + pad4(p.data.length);
    dv.setUint32(off, Block.EnhancedPacket, true);
    dv.setUint32(off + 4, total, true);
    dv.setUint32(off + 8, p.interfaceId, true);
    dv.setUint32(off + 12, Number(p.timestampNs >> 32n), true);
    dv.setUint32(off + 16, Number(p.timestampNs & 0xffffffffn), true);
    dv.setUint32(off + 20, p.data.length, true);
    dv.setUint32(off + 24, p.originalLength, true);
    out.set(p.data, off + 28);
    dv.setUint32(off + total - 4, total, true);
    off += total;
  }
  return out;
}
