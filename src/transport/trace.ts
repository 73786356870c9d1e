/**
 * Human-readable traces of APDU exchanges, secrets redacted: the data of VERIFY, CHANGE
 * REFERENCE DATA, RESET RETRY COUNTER, EXTERNAL/INTERNAL/MUTUAL authentication and key or PIN
 * loading (PUT DATA 01xx) is replaced by `**` per byte, so its length shows but never its value.
 */
import { bytesToHex } from '../bytes/index.js';
import { decodeCla, type CommandApdu, parseCommandApdu } from '../apdu/command.js';
import { INS, insName } from '../apdu/ins.js';
import { formatSw } from '../apdu/status.js';
import { StatusWordError } from '../apdu/status.js';
import type { Transport } from './types.js';

const SECRET_DATA_INS: ReadonlySet<number> = new Set<number>([
  INS.VERIFY,
  INS.VERIFY_ODD,
  INS.CHANGE_REFERENCE_DATA,
  INS.RESET_RETRY_COUNTER,
  INS.EXTERNAL_AUTHENTICATE,
  INS.GENERAL_AUTHENTICATE,
  INS.GENERAL_AUTHENTICATE_ODD,
]);

/** True when the command's data field must never be shown. */
export function commandHasSecretData(cmd: Pick<CommandApdu, 'ins' | 'p1'>): boolean {
  if (SECRET_DATA_INS.has(cmd.ins)) return true;
  // Key and PIN loading through PUT DATA in the proprietary range 01xx.
  return (cmd.ins === INS.PUT_DATA || cmd.ins === INS.PUT_DATA_ODD) && cmd.p1 === 0x01;
}

/**
 * True when the card's answer must never be shown: GENERAL AUTHENTICATE (PACE nonces and keys)
 * and PSO DECIPHER (P1-P2 8086: a deciphered secret, such as a session key or ECDH secret).
 */
export function responseIsSecret(cmd: Pick<CommandApdu, 'ins' | 'p1' | 'p2'>): boolean {
  if (cmd.ins === INS.GENERAL_AUTHENTICATE || cmd.ins === INS.GENERAL_AUTHENTICATE_ODD) return true;
  return cmd.ins === INS.PERFORM_SECURITY_OPERATION && cmd.p1 === 0x80 && cmd.p2 === 0x86;
}

/** The APDU as hex with secret data masked (what traces, logs and recordings print). */
export function redactCommandHex(apdu: Uint8Array): string {
  let cmd: CommandApdu;
  try {
    cmd = parseCommandApdu(apdu);
  } catch {
    // Not a parsable APDU: show the header only; the body could be anything.
    return bytesToHex(apdu.subarray(0, 4), ' ') + (apdu.length > 4 ? ` …(${apdu.length - 4} bytes)` : '');
  }
  if (!commandHasSecretData(cmd) || cmd.data.length === 0) return bytesToHex(apdu, ' ');
  const start = apdu.length - cmd.data.length - (cmd.ne > 0 ? (cmd.extended ? 2 : 1) : 0);
  const head = bytesToHex(apdu.subarray(0, start), ' ');
  const tail = bytesToHex(apdu.subarray(start + cmd.data.length), ' ');
  return [head, Array(cmd.data.length).fill('**').join(' '), tail].filter((s) => s.length > 0).join(' ');
}

/** One trace line for a command: `→ 00 A4 00 0C 02 3F 00  SELECT`. */
export function traceCommand(apdu: Uint8Array): string {
  const cla = apdu.length > 0 ? decodeCla(apdu[0]!) : undefined;
  const name = apdu.length > 1 ? insName(apdu[1]!) : '?';
  const ch = cla && cla.channel > 0 ? ` [channel ${cla.channel}]` : '';
  const sm = cla && cla.sm !== 'none' ? ' [SM]' : '';
  return `→ ${redactCommandHex(apdu)}  ${name}${ch}${sm}`;
}

/** One trace line for a response: `← 90 00  9000 Normal processing`. */
export function traceResponse(resp: Uint8Array, secretCommand = false): string {
  if (resp.length < 2) return '← (no answer)';
  const sw = (resp[resp.length - 2]! << 8) | resp[resp.length - 1]!;
  const data = resp.subarray(0, resp.length - 2);
  const shown = secretCommand && data.length > 0 ? Array(data.length).fill('**').join(' ') + ' ' : data.length > 0 ? bytesToHex(data, ' ') + ' ' : '';
  return `← ${shown}${bytesToHex(resp.subarray(resp.length - 2), ' ')}  ${formatSw(sw)}`;
}

/** Wraps a transport, writing a redacted trace line per exchange to `out`. */
export class TracingTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly out: (line: string) => void,
  ) {}

  async connect(): Promise<Uint8Array> {
    const atr = await this.inner.connect();
    this.out(`ATR ${bytesToHex(atr, ' ')}`);
    return atr;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    this.out(traceCommand(apdu));
    let secret = false;
    try {
      secret = responseIsSecret(parseCommandApdu(apdu));
    } catch (e) {
      if (!(e instanceof StatusWordError)) throw e;
    }
    const r = await this.inner.transmit(apdu);
    this.out(traceResponse(r, secret));
    return r;
  }

  async reset(): Promise<Uint8Array> {
    const atr = await this.inner.reset();
    this.out(`RESET → ATR ${bytesToHex(atr, ' ')}`);
    return atr;
  }

  disconnect(): Promise<void> {
    this.out('POWER OFF');
    return this.inner.disconnect();
  }
}
