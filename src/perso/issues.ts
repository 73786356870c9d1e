/**
 * Problems in people's input (profiles, holder files, operator key files) with where they are:
 * `qatar-id.yaml:42 applications[1].files[3].size: expected a number of bytes, got "big" — hint`.
 * Positions come from `src/input/positions.ts`.
 */
import type { SchemaIssue } from '../input/schema-issues.js';

/** One problem in an input document (path like `applications[1].files[3].size`). */
export type InputIssue = SchemaIssue;

export function formatIssue(i: InputIssue): string {
  const where = i.file !== undefined ? `${i.file}${i.line !== undefined ? `:${i.line}` : ''} ` : i.line !== undefined ? `line ${i.line} ` : '';
  return `${where}${i.path === '' ? '(document)' : i.path}: ${i.message}${i.hint !== undefined ? ` — ${i.hint}` : ''}`;
}

/** A profile that cannot be used: every problem, one per line. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  constructor(readonly issues: readonly InputIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

export { NO_POSITIONS, pathText, show, yamlLocator, type Locator, type Segment } from '../input/positions.js';
