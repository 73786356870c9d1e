/**
 * Progress of a script run on standard error, one line per finished step group (the steps under
 * one `#` comment): `  ✓ Create the application DF 1000 (1 step)`. On a terminal the current
 * step is shown on a line that redraws in place until its group is done.
 */
import cliProgress from 'cli-progress';
import type { StepResult } from '../script/runner.js';
import type { PersoProgress } from '../perso/runner.js';
import type { CliIo } from './io.js';

export class StepProgress {
  private group: { label: string; steps: number; failed: StepResult | undefined } | undefined;
  private drawn = false;

  constructor(private readonly io: CliIo) {}

  step(r: StepResult, index: number, total: number): void {
    const label = r.label ?? `${r.command}`;
    if (this.group !== undefined && this.group.label !== label) this.finishGroup();
    this.group ??= { label, steps: 0, failed: undefined };
    this.group.steps++;
    if (r.verdict === 'fail' || r.verdict === 'error') this.group.failed ??= r;
    if (this.io.stderrIsTTY) {
      // Kept short: a line that wraps cannot be redrawn with \r.
      const shown = label.length > 60 ? `${label.slice(0, 59)}…` : label;
      this.io.stderr(`\r\x1b[K  [${String(index + 1).padStart(String(total).length)}/${total}] ${shown}`);
      this.drawn = true;
    }
  }

  /** Prints the last group; call once the run is over. */
  end(): void {
    this.finishGroup();
  }

  private finishGroup(): void {
    const g = this.group;
    if (g === undefined) return;
    this.group = undefined;
    if (this.drawn) this.io.stderr('\r\x1b[K');
    this.drawn = false;
    const n = `(${g.steps} step${g.steps === 1 ? '' : 's'})`;
    if (g.failed === undefined) this.io.stderr(`  ✓ ${g.label} ${n}\n`);
    else this.io.stderr(`  ✗ ${g.label} ${n}: line ${g.failed.line}: ${g.failed.message ?? g.failed.verdict}\n`);
  }
}

/**
 * Standard error as the stream cli-progress draws on: its writes go through {@link CliIo} (so
 * tests capture them) and it is a terminal exactly when standard error is one — elsewhere
 * cli-progress draws nothing.
 */
function barStream(io: CliIo): NodeJS.WritableStream {
  const stream = {
    isTTY: io.stderrIsTTY,
    columns: process.stderr.columns ?? 100,
    write: (chunk: string | Uint8Array, cb?: unknown): boolean => {
      io.stderr(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      if (typeof cb === 'function') (cb as () => void)();
      return true;
    },
  };
  return stream as unknown as NodeJS.WritableStream;
}

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;

/** Options every bar shares: drawn on a terminal only, cleared when done, no cursor games. */
function barOptions(io: CliIo, format: string): cliProgress.Options {
  return { stream: barStream(io), format, barsize: 20, hideCursor: false, clearOnComplete: true, stopOnComplete: false, noTTYOutput: false, autopadding: true, fps: 20 };
}

/**
 * The personalization progress bar on standard error (cli-progress): steps, bytes written and
 * APDUs of one card, redrawn in place on a terminal; nothing elsewhere (the result line says it all).
 */
export class PersoProgressLine {
  private bar: cliProgress.SingleBar | undefined;

  constructor(
    private readonly io: CliIo,
    private readonly label: string,
  ) {}

  update(p: PersoProgress): void {
    if (!this.io.stderrIsTTY) return;
    const payload = { label: this.label, id: p.step.id.slice(0, 28), written: `${kb(p.bytes)}/${kb(p.totalBytes)}`, apdus: p.apdus };
    if (this.bar === undefined) {
      this.bar = new cliProgress.SingleBar(barOptions(this.io, '{label} [{bar}] step {value}/{total} {id} · {written} · {apdus} APDUs'), cliProgress.Presets.legacy);
      this.bar.start(p.total, p.index + 1, payload);
    } else this.bar.update(p.index + 1, payload);
  }

  end(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/**
 * A batch's progress (cli-progress multi-bar): one bar per reader with the card being written
 * (holder, step), and a total line of cards verified and failed. Result lines go through
 * {@link log} so they print above the bars instead of through them.
 */
export class BatchProgress {
  private readonly multi: cliProgress.MultiBar | undefined;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly totals: cliProgress.SingleBar | undefined;
  private verified = 0;
  private failed = 0;

  constructor(private readonly io: CliIo) {
    if (!io.stderrIsTTY) return;
    this.multi = new cliProgress.MultiBar(barOptions(io, '{reader} [{bar}] {holder} step {value}/{total} {step}'), cliProgress.Presets.legacy);
    this.totals = this.multi.create(0, 0, {}, { format: 'cards: {verified} verified, {failed} failed' });
    this.totals.update(0, { verified: 0, failed: 0 });
  }

  step(reader: string, holder: string, step: number, of: number, id = ''): void {
    if (this.multi === undefined) return;
    let bar = this.bars.get(reader);
    if (bar === undefined) {
      bar = this.multi.create(of, 0, { reader, holder, step: id });
      this.bars.set(reader, bar);
    }
    bar.setTotal(of);
    bar.update(step, { reader, holder, step: id });
    // Drawn now, not on cli-progress's next timer tick: a step is a plan step (tens per card).
    this.multi.update();
  }

  result(ok: boolean): void {
    if (ok) this.verified++;
    else this.failed++;
    this.totals?.update(0, { verified: this.verified, failed: this.failed });
    this.multi?.update();
  }

  /**
   * A result line: above the bars when both outputs share the terminal (it would cut through
   * them otherwise), else straight to `write` (standard output piped, bars on the terminal).
   */
  log(line: string, write: (text: string) => void): void {
    const text = line.endsWith('\n') ? line : `${line}\n`;
    if (this.multi !== undefined && this.io.stdoutIsTTY === true) {
      this.multi.log(text);
      this.multi.update();
    } else write(text);
  }

  end(): void {
    this.multi?.stop();
  }
}
