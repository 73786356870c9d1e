/**
 * The CLI's exit codes: distinct, stable and documented in one table (the README's table is
 * generated from {@link EXIT_CODES} by {@link exitCodesMarkdown}). 70 is `EX_SOFTWARE` of BSD
 * `sysexits.h`; the small numbers follow the usual 0 ok, 1 "ran, but a check failed", 2 usage.
 */

export const EXIT = {
  OK: 0,
  CHECK_FAILED: 1,
  USAGE: 2,
  INPUT: 3,
  CARD: 4,
  OUTPUT: 5,
  INTERNAL: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface ExitCodeDoc {
  readonly code: ExitCode;
  readonly name: keyof typeof EXIT;
  readonly meaning: string;
  readonly examples: string;
}

/** Every exit code with what it means and when it happens. */
export const EXIT_CODES: readonly ExitCodeDoc[] = Object.freeze([
  { code: EXIT.OK, name: 'OK', meaning: 'success', examples: 'all APDUs answered; every script expectation held; --help' },
  {
    code: EXIT.CHECK_FAILED,
    name: 'CHECK_FAILED',
    meaning: 'the command ran but a check failed',
    examples: 'a script step\'s response did not match its `=>` expectation (`script run`, `demo`); a vector step failed (`replay`); the card refused a purse operation or its MAC failed',
  },
  {
    code: EXIT.USAGE,
    name: 'USAGE',
    meaning: 'usage error: the command line is wrong',
    examples: 'unknown command or option, missing option, bad hex in an argument, a value out of range, a script secret not provided; `card install --aid` already on the card; a bad vector file in `replay` (file:line); `sim --stdio` ends with 2 when it rejected input lines',
  },
  {
    code: EXIT.INPUT,
    name: 'INPUT',
    meaning: 'an input file is missing, unreadable or corrupt',
    examples: 'no such card image; card image invalid (the message names the field); an applet type the image uses without its `--applet` module; an applet module missing or invalid; APDU script syntax error (file:line); bad secrets file',
  },
  {
    code: EXIT.CARD,
    name: 'CARD',
    meaning: 'the card did not answer (transport error)',
    examples: 'the card lost power or was removed mid-command; PC/SC: no service (pcscd not running), no reader, no card, reader in use, pcsclite not installed',
  },
  {
    code: EXIT.OUTPUT,
    name: 'OUTPUT',
    meaning: 'an output file cannot be written',
    examples: '`card new --out` names an existing file (use --force), a missing directory, no permission',
  },
  {
    code: EXIT.INTERNAL,
    name: 'INTERNAL',
    meaning: 'internal error (a bug in chipwright)',
    examples: 'anything unexpected; rerun with CHIPWRIGHT_DEBUG=1 for the stack trace and report it',
  },
]);

/** The table as Markdown, for the README. */
export function exitCodesMarkdown(): string {
  const rows = EXIT_CODES.map((e) => `| ${e.code} | \`${e.name}\` | ${e.meaning} | ${e.examples} |`);
  return ['| code | name | meaning | when |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** The table as aligned text, for `chipwright --help`. */
export function exitCodesText(): string {
  return EXIT_CODES.map((e) => `  ${String(e.code).padStart(2)}  ${e.meaning}`).join('\n') + '\n';
}
