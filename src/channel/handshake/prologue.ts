import { PacketType, writeHeader, HEADER_BYTES } from './wire.js';

const LABEL = new TextEncoder().encode('sss-handshake-v1');

/**
 * The Noise prologue (Noise spec §6): a protocol label and the INITIATE's clear header, so that
 * the channel id the initiator sent in the clear is authenticated by the handshake itself.
 */
export function handshakePrologue(initiatorChannelId: number): Uint8Array {
  const prologue = new Uint8Array(LABEL.length + HEADER_BYTES);
  prologue.set(LABEL);
  const header = new Uint8Array(HEADER_BYTES);
  writeHeader(header, PacketType.initiate, initiatorChannelId);
  prologue.set(header, LABEL.length);
  return prologue;
}
