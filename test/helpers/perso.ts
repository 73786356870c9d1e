/**
 * Test helpers for getting a card into shape: file trees built with the library (no commands, so a
 * test of SELECT does not depend on CREATE FILE working), the transport-key authentication that
 * opens personalization commands, and a structured `send` for APDUs that are awkward in hex.
 */
import { createCipheriv } from 'node:crypto';
import { expect } from 'vitest';
import { encodeCommandApdu, encodeCla, type CommandSpec } from '../../src/apdu/command.js';
import { parseResponseApdu } from '../../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../../src/bytes/index.js';
import { DEFAULT_TRANSPORT_KEY, type Card } from '../../src/card/os.js';
import type { Channel } from '../../src/card/channel.js';
import type { DedicatedFile, FileNode } from '../../src/card/fs/file.js';
import { attach } from '../../src/card/fs/tree.js';
import { tx, type Reply } from './card.js';

/** Attaches `files` under `parent` (in order) and commits, as personalization would have. */
export function addFiles<T extends FileNode>(card: Card, parent: DedicatedFile, ...files: T[]): T[] {
  for (const f of files) attach(card.nv, parent, f);
  card.nv.commit();
  return files;
}

/** The transient state of channel `n`, for the few assertions black-box commands cannot make. */
export function channelOf(card: Card, n = 0): Channel {
  const ch = card['channels'][n];
  if (ch === undefined) throw new Error(`channel ${n} is not open`);
  return ch;
}

/** CLA byte as two hex digits for a channel (further interindustry from channel 4 on). */
export function claHex(channel: number, chaining = false): string {
  return bytesToHex(new Uint8Array([encodeCla(channel, 'none', chaining)]));
}

/**
 * Authenticates channel `channel` with the transport key (GET CHALLENGE, then EXTERNAL
 * AUTHENTICATE P2=00 with the 2-key 3DES CBC zero-IV encryption of the 8-byte challenge), which
 * is what opens CREATE FILE and the life-cycle commands during personalization.
 */
export function authenticateTransport(card: Card, channel = 0, key: Uint8Array = DEFAULT_TRANSPORT_KEY): void {
  const cla = claHex(channel);
  const challenge = tx(card, `${cla} 84 00 00 08`);
  expect(challenge.swHex, 'GET CHALLENGE').toBe('9000');
  expect(challenge.bytes.length).toBe(8);
  const cipher = createCipheriv(key.length === 16 ? 'des-ede-cbc' : 'des-ede3-cbc', key, Buffer.alloc(8));
  cipher.setAutoPadding(false);
  const cryptogram = Buffer.concat([cipher.update(challenge.bytes), cipher.final()]);
  const r = tx(card, `${cla} 82 00 00 08 ${cryptogram.toString('hex')}`);
  expect(r.swHex, 'EXTERNAL AUTHENTICATE with the transport key').toBe('9000');
  expect(channelOf(card, channel).persoAuthenticated).toBe(true);
}

/** Sends a structured command (hex data) and splits the answer like {@link tx}. */
export function send(card: Card, spec: Omit<CommandSpec, 'data'> & { readonly data?: string | Uint8Array }): Reply {
  const data = typeof spec.data === 'string' ? hexToBytes(spec.data) : spec.data;
  const out = card.transmit(encodeCommandApdu({ ...spec, data }));
  if (out.length < 2) throw new Error('card mute');
  const r = parseResponseApdu(out);
  return { data: bytesToHex(r.data), sw: r.sw, swHex: r.sw.toString(16).toUpperCase().padStart(4, '0'), bytes: r.data.slice() };
}

/** Bytes 00, 01, 02 ... of length `n` (wrapping at 256), the usual recognisable EF content. */
export function counting(n: number, start = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (start + i) & 0xff;
  return out;
}
