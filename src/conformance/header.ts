/**
 * The header fields every format shares (`name`, `source`, `clause`, `card`, `requires`, `rng`,
 * `applet`) and the check of `{NAME}` references, so that chipwright's own format and the header
 * comments of foreign scripts (`REM card: …`, `# card: …`, `// card: …`) mean the same thing.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { hexToBytes, ByteInputError } from '../bytes/index.js';
import { patternRefs, templateRefs } from './pattern.js';
import {
  CAPABILITIES,
  VectorError,
  type Capability,
  type CapabilityName,
  type CardSpec,
  type Step,
  type TextValue,
  type VectorHeader,
} from './vector.js';

/** Header field names, in the order the writer puts them. */
export const HEADER_FIELDS = ['name', 'source', 'clause', 'card', 'requires', 'rng', 'applet'] as const;
export type HeaderField = (typeof HEADER_FIELDS)[number];

export function isHeaderField(key: string): key is HeaderField {
  return (HEADER_FIELDS as readonly string[]).includes(key);
}

/** Collects header fields of one file, each checked as it comes; `build` fills the defaults. */
export class HeaderBuilder {
  private readonly seen = new Map<HeaderField, number>();
  private name: string | undefined;
  private sourceText: string | undefined;
  private clause: string | undefined;
  private card: CardSpec | undefined;
  private cardLine = 0;
  private requires: Capability[] = [];
  private rng: Uint8Array | undefined;
  private readonly applets: string[] = [];

  /** `file` is the vector file's path as given (relative paths in fields resolve against its directory). */
  constructor(
    private readonly file: string,
    private readonly baseDir: string = dirname(resolve(file)),
  ) {}

  fail(line: number, reason: string): never {
    throw new VectorError(this.file, line, reason);
  }

  field(key: HeaderField, value: string, line: number): void {
    const v = value.trim();
    if (key !== 'applet' && this.seen.has(key)) this.fail(line, `${key}: given twice (first on line ${this.seen.get(key)})`);
    this.seen.set(key, line);
    if (v === '') this.fail(line, `${key}: empty value`);
    switch (key) {
      case 'name':
        this.name = v;
        return;
      case 'source':
        this.sourceText = v;
        return;
      case 'clause':
        this.clause = v;
        return;
      case 'card':
        this.card = this.parseCard(v, line);
        this.cardLine = line;
        return;
      case 'requires':
        this.requires = this.parseRequires(v, line);
        return;
      case 'rng':
        try {
          this.rng = hexToBytes(v, 'rng');
        } catch (e) {
          if (e instanceof ByteInputError) this.fail(line, `rng: ${e.message}; expected hex bytes the card's RNG hands out first`);
          throw e;
        }
        if (this.rng.length === 0) this.fail(line, 'rng: expected at least one byte');
        return;
      case 'applet':
        this.applets.push(this.path(v));
        return;
    }
  }

  private path(p: string): string {
    return isAbsolute(p) ? p : resolve(this.baseDir, p);
  }

  private parseCard(v: string, line: number): CardSpec {
    const m = /^(\S+)\s*(.*)$/.exec(v)!;
    const kind = m[1]!;
    const rest = m[2]!.trim();
    switch (kind) {
      case 'blank':
      case 'external':
        if (rest !== '') this.fail(line, `card: "${kind}" takes nothing after it, got "${rest}"`);
        return { kind };
      case 'image':
        if (rest === '') this.fail(line, 'card: image needs a file (card: image cards/my-card.json)');
        return { kind: 'image', path: this.path(rest), written: rest };
      case 'profile': {
        // `profile PROFILE DATA` as the issue writes it; `profile PROFILE data DATA` reads better
        // and is accepted too. Paths with spaces are not supported (neither form could tell).
        const words = rest.split(/\s+/).filter((w) => w !== '');
        const files = words.length === 3 && words[1] === 'data' ? [words[0]!, words[2]!] : words.length === 2 ? words : undefined;
        if (files === undefined) this.fail(line, `card: expected "profile PROFILE DATA" (a profile and a holder data file), got "profile ${rest}"`);
        return { kind: 'profile', profile: this.path(files[0]!), data: this.path(files[1]!), written: `${files[0]!} ${files[1]!}` };
      }
      default:
        return this.fail(line, `card: expected "image FILE", "profile PROFILE DATA", "blank" or "external", got "${v}"`);
    }
  }

  private parseRequires(v: string, line: number): Capability[] {
    const out: Capability[] = [];
    for (const item of v.split(',')) {
      const [word, count, ...extra] = item.trim().split(/\s+/);
      if (word === undefined || word === '') this.fail(line, 'requires: empty item in the list (items are separated by commas)');
      if (!(CAPABILITIES as readonly string[]).includes(word)) {
        this.fail(line, `requires: unknown capability "${word}"; known: ${CAPABILITIES.join(', ')}`);
      }
      const name = word as CapabilityName;
      if (extra.length > 0 || (count !== undefined && name !== 'logical-channels')) this.fail(line, `requires: "${item.trim()}": unexpected "${[count, ...extra].join(' ')}"`);
      if (name === 'logical-channels') {
        const n = count === undefined ? 2 : Number(count);
        if (!Number.isInteger(n) || n < 2 || n > 20) this.fail(line, `requires: logical-channels takes a count 2..20, got "${count}"`);
        out.push({ name, count: n });
      } else {
        out.push({ name });
      }
    }
    return out;
  }

  /** True once any field was given. */
  get started(): boolean {
    return this.seen.size > 0;
  }

  /**
   * The header. `defaults` supply what a format cannot write (a foreign script without header
   * comments gets its file name as name and a blank card).
   */
  build(defaults: { name: string; source?: string; card?: CardSpec }, requireFields: boolean): VectorHeader {
    if (requireFields) {
      if (this.name === undefined) this.fail(0, 'the header has no "name:" (what the file tests)');
      if (this.sourceText === undefined && this.clause === undefined) {
        this.fail(0, 'the header has neither "source:" nor "clause:" (where the vectors come from)');
      }
      if (this.card === undefined) this.fail(0, 'the header has no "card:" (card: image FILE, card: blank, …)');
    }
    return {
      name: this.name ?? defaults.name,
      source: this.sourceText ?? defaults.source,
      clause: this.clause,
      card: this.card ?? defaults.card ?? { kind: 'blank' },
      cardLine: this.cardLine,
      requires: this.requires,
      rng: this.rng,
      applets: this.applets,
    };
  }
}

/** The `key: value` of a header line or header comment, if it is one. */
export function headerLine(text: string): { key: HeaderField; value: string } | undefined {
  const m = /^([a-z][a-z-]*)\s*:\s*(.*)$/.exec(text.trim());
  if (m === null || !isHeaderField(m[1]!)) return undefined;
  return { key: m[1] as HeaderField, value: m[2]! };
}

function textRef(v: TextValue): string[] {
  return v.kind === 'ref' ? [v.name] : [];
}

/**
 * Checks the `{NAME}` references of the steps in order: a name a `let` or `capture` of an earlier
 * step defines is a value; any other name in a command or session parameter is a secret the
 * runner must be given (returned, in order of first use); in an expectation it is an error, since
 * expected values are public.
 */
export function checkReferences(steps: readonly Step[], source: string): string[] {
  const defined = new Set<string>();
  const secrets: string[] = [];
  const use = (name: string): void => {
    if (!defined.has(name) && !secrets.includes(name)) secrets.push(name);
  };
  const walk = (list: readonly Step[]): void => {
    for (const s of list) {
      switch (s.kind) {
        case 'command':
          templateRefs(s.apdu).forEach(use);
          for (const name of s.expect?.data ? patternRefs(s.expect.data) : []) {
            if (!defined.has(name)) {
              throw new VectorError(source, s.line, `{${name}} in an expectation must be defined by an earlier "let" or "capture" (expected values are public, never secrets)`);
            }
          }
          for (const c of s.captures) defined.add(c.name);
          break;
        case 'let':
          templateRefs(s.value).forEach(use);
          defined.add(s.name);
          break;
        case 'transport-auth':
          if (s.key) templateRefs(s.key).forEach(use);
          break;
        case 'session': {
          const spec = s.spec;
          if (spec.protocol === 'bac') textRef(spec.mrz).forEach(use);
          else {
            textRef(spec.password.value).forEach(use);
            if (spec.cardAccess) templateRefs(spec.cardAccess).forEach(use);
          }
          if (spec.terminalRandom) templateRefs(spec.terminalRandom).forEach(use);
          walk(s.steps);
          break;
        }
        case 'check':
          // EF.SOD and data groups are what the card answered: public values captured earlier.
          for (const name of [s.sod, ...s.dataGroups.map((d) => d.name)]) {
            if (!defined.has(name)) throw new VectorError(source, s.line, `{${name}} in "check passive-authentication" must be captured (or let) by an earlier step`);
          }
          use(s.csca);
          break;
        case 'power-on':
        case 'reset':
          for (const name of s.atr ? patternRefs(s.atr) : []) {
            if (!defined.has(name)) throw new VectorError(source, s.line, `{${name}} in an expected ATR must be defined by an earlier "let" or "capture"`);
          }
          break;
        default:
          break;
      }
    }
  };
  walk(steps);
  return secrets;
}
