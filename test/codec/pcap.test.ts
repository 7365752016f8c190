import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decode, encode, encodingLength, LinkType, MAX_PACKET, type PcapFile } from '../../src/codec/pcap.js';
import { CodecError } from '../../src/errors.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof CodecError && e.code === code);
}

// Classic pcap, little-endian, microsecond magic, Ethernet, one 14-byte packet
// captured at 2025-11-21T18:37:43.061288Z (draft-ietf-opsawg-pcap §4, §5).
const CLASSIC = hex(`
  d4c3b2a1 0200 0400 00000000 00000000 00000400 01000000
  77b12069 68ef0000 0e000000 3c000000
  ffffffffffff 0e3d04ff7696 0806`);

// pcapng, big-endian section, interface with if_tsresol = 3 (milliseconds) and
// LINKTYPE_RAW, one Enhanced Packet Block of 5 bytes at t = 1500 ms.
const NG_BE = hex(`
  0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c
  00000001 00000020 0065 0000 00000000 0009 0001 03000000 0000 0000 00000020
  00000006 00000028 00000000 00000000 000005dc 00000005 00000005 4500001400000000 00000028`);

test('classic pcap vector: fields of the one packet', () => {
  const f = decode(CLASSIC);
  assert.equal(f.format, 'pcap');
  assert.equal(f.packets.length, 1);
  const p = f.packets[0]!;
  assert.equal(p.linkType, LinkType.ETHERNET);
  assert.equal(p.timestampNs, 1763750263n * 1_000_000_000n + 61288n * 1000n);
  assert.equal(p.originalLength, 60);
  assert.deepEqual([...p.data.subarray(12)], [0x08, 0x06]);
});

test('classic pcap: big-endian and nanosecond magics', () => {
  const be = hex(`a1b23c4d 0002 0004 00000000 00000000 00040000 00000065
    00000001 00000007 00000002 00000002 abcd`);
  const p = decode(be).packets[0]!;
  assert.equal(p.linkType, LinkType.RAW);
  assert.equal(p.timestampNs, 1_000_000_007n);
  assert.deepEqual([...p.data], [0xab, 0xcd]);
});

test('pcapng vector: big-endian section, millisecond resolution', () => {
  const f = decode(NG_BE);
  assert.equal(f.format, 'pcapng');
  assert.equal(f.packets.length, 1);
  const p = f.packets[0]!;
  assert.equal(p.linkType, LinkType.RAW);
  assert.equal(p.timestampNs, 1_500_000_000n);
  assert.equal(p.data.length, 5);
  assert.equal(p.data[0], 0x45);
});

test('pcapng: unknown blocks are skipped, simple packet block uses the snap length', () => {
  const le = hex(`
    0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000
    01000000 14000000 0100 0000 03000000 14000000
    bad0beef 10000000 01020304 10000000
    03000000 14000000 05000000 aabbcc00 14000000`);
  const f = decode(le);
  assert.equal(f.packets.length, 1);
  assert.deepEqual([...f.packets[0]!.data], [0xaa, 0xbb, 0xcc]);
  assert.equal(f.packets[0]!.originalLength, 5);
});

function sample(format: 'pcap' | 'pcapng'): PcapFile {
  return {
    format,
    packets: [
      { interfaceId: 0, linkType: 1, timestampNs: 1763747143038888000n, originalLength: 14, data: CLASSIC.subarray(40) },
      { interfaceId: 0, linkType: 1, timestampNs: 1763747143038888123n, originalLength: 3, data: hex('010203') },
      { interfaceId: 0, linkType: 1, timestampNs: 1763747144000000000n, originalLength: 0, data: new Uint8Array(0) },
    ],
  };
}

for (const format of ['pcap', 'pcapng'] as const) {
  test(`${format}: encode then decode gives the same packets`, () => {
    const f = sample(format);
    const bytes = encode(f);
    assert.equal(bytes.length, encodingLength(f));
    const back = decode(bytes);
    assert.equal(back.format, format);
    assert.deepEqual(
      back.packets.map((p) => ({ ...p, data: [...p.data] })),
      f.packets.map((p) => ({ ...p, data: [...p.data] })),
    );
  });

  test(`${format}: every truncation is either a shorter capture or PCAP_ERR_TRUNCATED`, () => {
    const bytes = encode(sample(format));
    for (let cut = 0; cut < bytes.length; cut++) {
      const part = bytes.subarray(0, cut);
      try {
        const f = decode(part);
        assert.ok(f.packets.length < 3, `cut at ${cut} still gave 3 packets`);
      } catch (e) {
        assert.ok(e instanceof CodecError, `cut at ${cut}: ${String(e)}`);
        assert.ok(['PCAP_ERR_TRUNCATED', 'PCAP_ERR_BAD_BLOCK'].includes(e.code), `cut at ${cut}: ${e.code}`);
      }
    }
  });

  test(`${format}: fuzz (random bytes and mutated captures) only ever throws CodecError PCAP_ERR_*`, () => {
    const base = encode(sample(format));
    const check = (b: Uint8Array) => {
      try {
        decode(b);
      } catch (e) {
        if (!(e instanceof CodecError) || !e.code.startsWith('PCAP_ERR_')) throw e;
      }
    };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (muts) => {
        const b = Uint8Array.from(base);
        for (const [i, v] of muts) b[i] = v;
        check(b);
      }),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => check(Uint8Array.from([...base.subarray(0, 4), ...b]))), {
      numRuns: 1000,
    });
  });
}

test('bad magic, oversized records and bad blocks are typed errors', () => {
  assertCode(() => decode(hex('00000000 00000000')), 'PCAP_ERR_BAD_MAGIC');
  assertCode(() => decode(hex('d4c3')), 'PCAP_ERR_TRUNCATED');
  const big = Uint8Array.from(CLASSIC);
  new DataView(big.buffer).setUint32(32, MAX_PACKET + 1, true);
  assertCode(() => decode(big), 'PCAP_ERR_OVERSIZED');
  const badLen = Uint8Array.from(NG_BE);
  badLen[badLen.length - 1] = 0x2c; // trailing block length disagrees
  assertCode(() => decode(badLen), 'PCAP_ERR_BAD_BLOCK');
  const noIface = Uint8Array.from(NG_BE);
  new DataView(noIface.buffer).setUint32(28 + 32 + 8, 7, false); // EPB interface 7
  assertCode(() => decode(noIface), 'PCAP_ERR_BAD_INTERFACE');
  assertCode(
    () => encode({ format: 'pcap', packets: [{ ...sample('pcap').packets[0]!, data: new Uint8Array(MAX_PACKET + 1) }] }),
    'PCAP_ERR_OVERSIZED',
  );
});

test('a real tcpdump capture (interop selftest): every packet decodes, as tcpdump counts them', () => {
  const bytes = readFileSync(fileURLToPath(new URL('../../../test/fixtures/ppp/captures/selftest/capture.pcap', import.meta.url)));
  const f = decode(bytes);
  assert.equal(f.format, 'pcap');
  assert.equal(f.packets.length, 124); // `tcpdump -nr capture.pcap | wc -l`
  assert.ok(f.packets.every((p) => p.linkType === LinkType.ETHERNET && p.data.length === p.originalLength));
  // First packet: the ARP request at 1795283143.038888 (`tcpdump -ttnr`).
  assert.equal(f.packets[0]!.timestampNs, 1795283143038888000n);
  assert.deepEqual([...f.packets[0]!.data.subarray(12, 14)], [0x08, 0x06]);
  // GRE (IPv4 protocol 47) packets, as tcpdump shows "GREv1" lines.
  const gre = f.packets.filter((p) => p.data[12] === 0x08 && p.data[13] === 0x00 && p.data[14 + 9] === 47);
  assert.equal(gre.length, 48); // `tcpdump -nr capture.pcap | grep -c GREv1`
});
