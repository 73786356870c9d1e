/**
 * From chipwright's `.apdu` scripts to pcsc-tools' `scriptor` and back.
 *
 * scriptor reads one command per line (hex bytes separated by spaces), `reset` for a warm reset,
 * `#` comments and `exit`; it has no expectations, no secrets and no directives. So:
 * - a command becomes its hex line, placeholders filled with the test's secrets;
 * - `@reset` and `@power-on` become `reset` (scriptor has no cold reset); `@power-off` cannot be
 *   expressed and is refused;
 * - `@auth-transport` is challenge-response, so it can only be written out when the challenges
 *   are known in advance: the card server is started with `--rng`, and the cryptograms are
 *   computed here for those challenges.
 * Expectations stay on this side: {@link parseScriptorOutput} reads scriptor's transcript and the
 * test checks each response against the original step.
 */
import { bytesToHex } from '../../src/bytes/index.js';
import type { ApduScript, Expectation } from '../../src/script/format.js';
import { externalAuthenticateApdu, getChallengeApdu, transportCryptogram, type TransportKey } from '../../src/script/transport-auth.js';

/** One line sent by scriptor and what its answer must match. */
export interface ScriptorStep {
  /** Line in the source `.apdu` file. */
  readonly line: number;
  /** `reset` or the command as scriptor echoes it (`00 A4 00 0C 02 3F 00`). */
  readonly command: string;
  readonly expect: Expectation | undefined;
}

export interface ScriptorOptions {
  readonly secrets: Readonly<Record<string, Uint8Array>>;
  readonly transportKey: TransportKey;
  /** The challenges the card will hand out, in order (from the server's `--rng`). */
  readonly challenges: readonly Uint8Array[];
}

/** Writes `script` as scriptor input; `steps[i]` is the i-th exchange scriptor will report. */
export function toScriptor(script: ApduScript, opts: ScriptorOptions): { text: string; steps: ScriptorStep[] } {
  const lines: string[] = [`# ${script.source}, converted for scriptor`];
  const steps: ScriptorStep[] = [];
  let challenge = 0;
  const emit = (line: number, bytes: Uint8Array, expect: Expectation | undefined): void => {
    const hex = bytesToHex(bytes, ' ');
    lines.push(hex);
    steps.push({ line, command: hex, expect });
  };
  for (const s of script.steps) {
    if (s.kind === 'command') {
      const parts = s.parts.map((p) => {
        if (p.kind === 'bytes') return p.bytes;
        const v = opts.secrets[p.name];
        if (v === undefined) throw new Error(`${script.source}:${s.line}: no secret "${p.name}"`);
        return v;
      });
      emit(s.line, Uint8Array.from(parts.flatMap((p) => [...p])), s.expect);
      continue;
    }
    switch (s.directive) {
      case 'reset':
      case 'power-on':
        lines.push('reset');
        steps.push({ line: s.line, command: 'reset', expect: undefined });
        break;
      case 'power-off':
        throw new Error(`${script.source}:${s.line}: scriptor cannot power a card off`);
      case 'auth-transport': {
        const c = opts.challenges[challenge++];
        if (c === undefined) throw new Error(`${script.source}:${s.line}: @auth-transport needs challenge ${challenge}, only ${opts.challenges.length} known`);
        emit(s.line, getChallengeApdu(c.length), { data: bytesToHex(c), sw: ['9000'] });
        emit(s.line, externalAuthenticateApdu(transportCryptogram(opts.transportKey, c)), { data: undefined, sw: ['9000'] });
        break;
      }
    }
  }
  lines.push('exit');
  return { text: lines.join('\n') + '\n', steps };
}

/** One exchange in scriptor's transcript: the command (or `reset`) and the answer as hex (SW included; the ATR for a reset). */
export interface ScriptorExchange {
  readonly command: string;
  readonly response: string;
}

/**
 * Reads scriptor's transcript: `> 00 A4 ...` then `< [data] SW1 SW2 : text` (data may wrap onto
 * following lines), and `> RESET` then `< OK: ATR`.
 */
export function parseScriptorOutput(out: string): ScriptorExchange[] {
  const result: ScriptorExchange[] = [];
  for (const block of out.split(/^> /m).slice(1)) {
    const nl = block.indexOf('\n');
    const command = (nl < 0 ? block : block.slice(0, nl)).trim();
    const rest = nl < 0 ? '' : block.slice(nl + 1);
    if (!rest.startsWith('< ')) continue;
    let body = rest.slice(2);
    if (command === 'RESET') {
      body = body.split('\n')[0]!.replace(/^OK:\s*/, '');
    } else {
      // The status word is followed by " : meaning"; lines after it echo the next input line.
      const i = body.indexOf(' : ');
      body = i >= 0 ? body.slice(0, i) : body.split('\n')[0]!;
    }
    result.push({ command: command === 'RESET' ? 'reset' : command, response: body.replace(/\s+/g, '').toUpperCase() });
  }
  return result;
}
