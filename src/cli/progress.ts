/**
 * Progress of a script run on standard error, one line per finished step group (the steps under
 * one `#` comment): `  ✓ Create the application DF 1000 (1 step)`. On a terminal the current
 * step is shown on a line that redraws in place until its group is done.
 */
import type { StepResult } from '../script/runner.js';
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
