/**
 * JSON Schema validation (ajv, draft 2020-12) turned into problems people can act on: the field
 * path, its YAML line, what was expected and got, and the schema's own description as the hint.
 * Shared by the holder and profile loaders, so both speak the same way about the same mistakes.
 *
 * @example
 * const issues = schemaIssues(compileSchema(PROFILE_SCHEMA), data, locator, 'qatar-id.yaml');
 * // [{ file: 'qatar-id.yaml', line: 12, path: 'applications[0].aid', message: 'got "A0"', hint: 'expected …' }]
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { pathText, show, type Locator, type Segment } from './positions.js';

/** A problem found in a document (line and column when the document is YAML). */
export interface SchemaIssue {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** Field path: `applications[1].files[3].size`, `fingerprints[2].template`. */
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
}

export type SchemaValidator = ReturnType<Ajv2020['compile']>;

const compiled = new WeakMap<object, SchemaValidator>();

/** The validator of a schema, compiled once (strict: a schema typo is a startup error, not a silent pass). */
export function compileSchema(schema: object): SchemaValidator {
  let v = compiled.get(schema);
  if (v === undefined) {
    v = new Ajv2020({ allErrors: true, strict: true, verbose: true, unicodeRegExp: true }).compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** JSON Pointer (RFC 6901) of an error as path segments, array indices as numbers. */
function segmentsOf(instancePath: string, data: unknown): Segment[] {
  if (instancePath === '') return [];
  const out: Segment[] = [];
  let cur: unknown = data;
  for (const raw of instancePath.slice(1).split('/')) {
    const s = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seg: Segment = Array.isArray(cur) && /^\d+$/.test(s) ? Number(s) : s;
    out.push(seg);
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[String(seg)] : undefined;
  }
  return out;
}

interface Described {
  /** Below the error's instance path (the missing or unknown key). */
  readonly path: Segment[];
  readonly message: string;
  readonly hint?: string;
  /** Point at the key rather than the value. */
  readonly key?: boolean;
}

function describeError(e: ErrorObject): Described {
  const ps = e.parentSchema as
    | { description?: string; properties?: Record<string, { description?: string }>; minProperties?: number; maxProperties?: number }
    | undefined;
  const hint = ps?.description;
  const p = e.params as Record<string, unknown>;
  const base = hint !== undefined ? { hint } : {};
  switch (e.keyword) {
    case 'required': {
      const prop = String(p.missingProperty);
      const h = ps?.properties?.[prop]?.description;
      return { path: [prop], message: 'missing (required)', ...(h !== undefined ? { hint: h } : {}) };
    }
    case 'additionalProperties': {
      const prop = String(p.additionalProperty);
      const known = Object.keys(ps?.properties ?? {});
      return { path: [prop], message: 'unknown key', hint: known.length > 0 ? `expected one of: ${known.join(', ')}` : 'no keys allowed here', key: true };
    }
    case 'enum':
      return { path: [], message: `expected one of ${(p.allowedValues as unknown[]).map(String).join(', ')}, got ${show(e.data)}`, ...base };
    case 'const':
      return { path: [], message: `expected ${JSON.stringify(p.allowedValue)}, got ${show(e.data)}`, ...base };
    case 'type': {
      // A YAML scalar like 0123 or 0101 arrives as a number: quoting it is the fix.
      const quoted = p.type === 'string' && (typeof e.data === 'number' || typeof e.data === 'boolean');
      return {
        path: [],
        message: `expected ${p.type === 'object' ? 'a mapping' : p.type === 'array' ? 'a list' : `a ${String(p.type)}`}, got ${show(e.data)}`,
        ...(quoted ? { hint: `write it in quotes, e.g. "${typeof e.data === 'number' ? `0${String(e.data)}` : String(e.data)}"` } : base),
      };
    }
    case 'pattern':
      return { path: [], message: `got ${show(e.data)}`, hint: hint !== undefined ? `expected ${hint}` : `expected to match ${String(p.pattern)}` };
    case 'anyOf':
    case 'oneOf':
      return { path: [], message: `got ${show(e.data)}`, ...(hint !== undefined ? { hint: `expected ${hint}` } : {}) };
    case 'minLength':
    case 'maxLength':
      return { path: [], message: `expected ${e.keyword === 'minLength' ? 'at least' : 'at most'} ${String(p.limit)} characters, got ${[...String(e.data)].length}`, ...base };
    case 'minItems':
    case 'maxItems':
      return { path: [], message: `expected ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(p.limit)} entries, got ${(e.data as unknown[]).length}`, ...base };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path: [], message: `expected ${String(p.comparison)} ${String(p.limit)}, got ${show(e.data)}`, ...base };
    case 'minProperties':
    case 'maxProperties': {
      const keys = Object.keys(ps?.properties ?? {});
      if (ps?.minProperties === 1 && ps.maxProperties === 1 && keys.length > 1) return { path: [], message: `give exactly one of ${keys.join(' or ')}`, ...base };
      return { path: [], message: `expected ${e.keyword === 'minProperties' ? 'at least' : 'at most'} ${String(p.limit)} entries`, ...base };
    }
    default:
      return { path: [], message: e.message ?? e.keyword, ...base };
  }
}

/**
 * Every schema problem of `data`, once each, located with `loc`. Where an `anyOf`/`oneOf` fails,
 * its branches' own failures are left out: the combined entry (with the schema's description)
 * says it better than "expected a string" and "expected a mapping" side by side.
 */
export function schemaIssues(validate: SchemaValidator, data: unknown, loc: Locator, file: string | undefined): SchemaIssue[] {
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  const combined = new Set(errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath));
  const seen = new Set<string>();
  const out: SchemaIssue[] = [];
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && combined.has(e.instancePath)) continue;
    const d = describeError(e);
    const path = [...segmentsOf(e.instancePath, data), ...d.path];
    const text = `${pathText(path)}|${d.message}`;
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ ...(file !== undefined ? { file } : {}), ...loc.at(path, d.key), path: pathText(path), message: d.message, ...(d.hint !== undefined ? { hint: d.hint } : {}) });
  }
  return out;
}
