/** Shared test helpers for the PPTP codec tests (not a test file itself). */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import type { PptpControlMessage } from '../../../src/codec/pptp/index.js';

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
export const padded = (text: string, size: number): string => Buffer.concat([Buffer.from(text), Buffer.alloc(size - text.length)]).toString('hex');

export function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CodecError, `expected CodecError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
const str = (max: number) => fc.array(fc.integer({ min: 1, max: 0x7f }), { maxLength: max }).map((a) => String.fromCharCode(...a));

export const arbMessage: fc.Arbitrary<PptpControlMessage> = fc.oneof(
  fc.record({ type: fc.constant(1 as const), protocolVersion: u16, framingCapabilities: u32, bearerCapabilities: u32, maxChannels: u16, firmwareRevision: u16, hostName: str(64), vendorName: str(64) }),
  fc.record({ type: fc.constant(2 as const), protocolVersion: u16, resultCode: u8, errorCode: u8, framingCapabilities: u32, bearerCapabilities: u32, maxChannels: u16, firmwareRevision: u16, hostName: str(64), vendorName: str(64) }),
  fc.record({ type: fc.constant(3 as const), reason: u8 }),
  fc.record({ type: fc.constant(4 as const), resultCode: u8, errorCode: u8 }),
  fc.record({ type: fc.constant(5 as const), identifier: u32 }),
  fc.record({ type: fc.constant(6 as const), identifier: u32, resultCode: u8, errorCode: u8 }),
  fc.record({ type: fc.constant(7 as const), callId: u16, callSerialNumber: u16, minimumBps: u32, maximumBps: u32, bearerType: u32, framingType: u32, receiveWindowSize: u16, processingDelay: u16, phoneNumber: str(64), subaddress: str(64) }),
  fc.record({ type: fc.constant(8 as const), callId: u16, peerCallId: u16, resultCode: u8, errorCode: u8, causeCode: u16, connectSpeed: u32, receiveWindowSize: u16, processingDelay: u16, physicalChannelId: u32 }),
  fc.record({ type: fc.constant(9 as const), callId: u16, callSerialNumber: u16, bearerType: u32, physicalChannelId: u32, dialedNumber: str(64), dialingNumber: str(64), subaddress: str(64) }),
  fc.record({ type: fc.constant(10 as const), callId: u16, peerCallId: u16, resultCode: u8, errorCode: u8, receiveWindowSize: u16, transmitDelay: u16 }),
  fc.record({ type: fc.constant(11 as const), peerCallId: u16, connectSpeed: u32, receiveWindowSize: u16, transmitDelay: u16, framingType: u32 }),
  fc.record({ type: fc.constant(12 as const), callId: u16 }),
  fc.record({ type: fc.constant(13 as const), callId: u16, resultCode: u8, errorCode: u8, causeCode: u16, callStatistics: str(128) }),
  fc.record({ type: fc.constant(14 as const), peerCallId: u16, crcErrors: u32, framingErrors: u32, hardwareOverruns: u32, bufferOverruns: u32, timeoutErrors: u32, alignmentErrors: u32 }),
  fc.record({ type: fc.constant(15 as const), peerCallId: u16, sendAccm: u32, receiveAccm: u32 }),
);


/** Concatenate into a plain Uint8Array (deepEqual distinguishes Buffer from Uint8Array). */
export const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
