/**
 * Applet modules: JavaScript modules, written outside chipwright, that define applet types
 * ({@link AppletFactory}) for the simulator. The CLI loads them with `--applet MODULE`, so a card
 * image holding such applets can be installed, reloaded and talked to; profiles will name them too.
 *
 * A module exports its factories in one of three ways, looked for in this order:
 * `export const applets = [f1, f2]`, `export const applet = f`, or `export default f` (an object
 * `{ applets: [...] }` as the default export also works, which is what a CommonJS module assigning
 * `module.exports` gives). Loading validates each factory's shape before a card ever calls it, so
 * a mistake is an {@link AppletModuleError} naming the module and the problem, not a 6F00 later.
 *
 * @example An applet module in five lines (`echo-applet.mjs`)
 * import { defineInsTable } from 'chipwright';
 * export default {
 *   type: 'echo',
 *   create: () => ({ commands: defineInsTable([0x01, { name: 'ECHO', run: (cmd) => cmd.data.slice() }]) }),
 * };
 * // chipwright card install --card card.json --applet ./echo-applet.mjs --aid F000000001
 * // chipwright send --card card.json --applet ./echo-applet.mjs 00A4040C05F000000001 8001000002CAFE00
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AppletFactory } from '../card/applet.js';

/** A module that cannot be used as an applet module; `module` is the specifier as given. */
export class AppletModuleError extends Error {
  override readonly name = 'AppletModuleError';
  constructor(
    readonly module: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${module}: ${problem}`, options);
  }
}

/** One loaded applet module: the specifier as given, the URL imported and its factories. */
export interface AppletModule {
  readonly specifier: string;
  readonly url: string;
  readonly factories: readonly AppletFactory[];
}

/**
 * Loads applet modules and returns their factories, ready for `createCard({ applets })` or
 * `loadCard(text, { applets })`. Each specifier is a file path (relative to `baseDir`) or the name
 * of a package installed under `baseDir`. The same module given twice counts once; two modules
 * defining one type name are an error naming both.
 *
 * @example
 * const applets = await loadAppletModules(['./echo-applet.mjs']);
 * const card = createCard({ applets });
 * card.install(hexToBytes('F000000001'), 'echo');
 */
export async function loadAppletModules(specifiers: readonly string[], baseDir: string = process.cwd()): Promise<AppletFactory[]> {
  const modules: AppletModule[] = [];
  // One at a time: module top-level code runs in the order the user gave.
  for (const s of specifiers) modules.push(await importAppletModule(s, baseDir));
  return combineAppletModules(modules);
}

/**
 * The factories of several loaded modules, each once. A type name defined by two different
 * factories is an error: a card image stores only the type, so it must say which code runs.
 */
export function combineAppletModules(modules: readonly AppletModule[]): AppletFactory[] {
  const byType = new Map<string, { factory: AppletFactory; module: AppletModule }>();
  for (const m of modules) {
    for (const f of m.factories) {
      const seen = byType.get(f.type);
      if (seen === undefined) {
        byType.set(f.type, { factory: f, module: m });
      } else if (seen.factory !== f) {
        throw new AppletModuleError(
          m.specifier,
          `applet type "${f.type}" is already defined by ${seen.module.specifier}; a type name may come from one module only (rename one of them)`,
        );
      }
    }
  }
  return [...byType.values()].map((e) => e.factory);
}

/** Imports one applet module and validates what it exports. */
export async function importAppletModule(specifier: string, baseDir: string = process.cwd()): Promise<AppletModule> {
  if (specifier.trim() === '') throw new AppletModuleError('""', 'expected a module file path or a package name, got an empty string');
  const target = resolveSpecifier(specifier, baseDir);
  let ns: Record<string, unknown>;
  try {
    ns = (await import(/* @vite-ignore */ target)) as Record<string, unknown>;
  } catch (e) {
    throw importError(specifier, target, e);
  }
  return { specifier, url: target, factories: factoriesOf(specifier, ns) };
}

// --- resolving ------------------------------------------------------------------------------

/**
 * A specifier → what to import. Paths (`./x.mjs`, `/abs/x.mjs`, `file:` URLs, or any name of an
 * existing file under `baseDir`) become file URLs; anything else is a package name, resolved from
 * `baseDir` so the user's own `node_modules` is searched, not chipwright's.
 */
function resolveSpecifier(specifier: string, baseDir: string): string {
  if (specifier.startsWith('file:')) {
    let path: string;
    try {
      path = fileURLToPath(specifier);
    } catch (e) {
      throw new AppletModuleError(specifier, `not a valid file URL (${e instanceof Error ? e.message : String(e)})`);
    }
    checkFile(specifier, path);
    return pathToFileURL(path).href;
  }
  const path = resolve(baseDir, specifier);
  if (isPathSyntax(specifier)) {
    checkFile(specifier, path);
    return pathToFileURL(path).href;
  }
  // `dir/x.mjs` without `./` is a path when that file exists (a directory may share a package's name).
  if (statSync(path, { throwIfNoEntry: false })?.isFile() === true) return pathToFileURL(path).href;
  try {
    return pathToFileURL(createRequire(join(baseDir, 'noop.js')).resolve(specifier)).href;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A package whose "exports" offer only an "import" condition cannot be resolved the require
    // way; Node's own resolution from here still finds it when chipwright is installed beside it.
    if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return specifier;
    throw new AppletModuleError(
      specifier,
      `no such file (${path}) and no package "${specifier}" installed under ${baseDir}; give a path to the module file`,
    );
  }
}

/** `./x`, `../x`, `/x`, `C:\x`: written as a path, never looked up as a package. */
function isPathSyntax(s: string): boolean {
  return s === '.' || s === '..' || /^\.\.?[\\/]/.test(s) || isAbsolute(s);
}

function checkFile(specifier: string, path: string): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) throw new AppletModuleError(specifier, `no such file (${path})`);
  if (st.isDirectory()) throw new AppletModuleError(specifier, `is a directory (${path}); name the module file in it`);
}

/** Why an import failed, with the fix for the usual causes. */
function importError(specifier: string, target: string, e: unknown): AppletModuleError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?tsx?$/.test(target)) {
    return new AppletModuleError(specifier, 'Node cannot import TypeScript here; compile the module to JavaScript (.js or .mjs) and pass that file', { cause: e });
  }
  if (code === 'ERR_MODULE_NOT_FOUND' && target === specifier) {
    return new AppletModuleError(specifier, `package not found from chipwright's location (${text}); give a path to the module file`, { cause: e });
  }
  if (code === 'ERR_MODULE_NOT_FOUND' && /['"]chipwright['"]/.test(text)) {
    return new AppletModuleError(
      specifier,
      `cannot import it: it imports "chipwright", which is not installed where the module lives; run "npm install chipwright" in its project`,
      { cause: e },
    );
  }
  if (e instanceof SyntaxError && /\b(export|import)\b/.test(e.message)) {
    return new AppletModuleError(
      specifier,
      `cannot import it: ${text} (an ES module needs the .mjs extension or "type": "module" in its package.json)`,
      { cause: e },
    );
  }
  return new AppletModuleError(specifier, `cannot import it: ${text}`, { cause: e });
}

// --- validating -----------------------------------------------------------------------------

/** The factories a module namespace exports, validated; `applets`, then `applet`, then `default`. */
function factoriesOf(specifier: string, ns: Record<string, unknown>): AppletFactory[] {
  const fail = (problem: string): never => {
    throw new AppletModuleError(specifier, problem);
  };
  let list: { where: string; value: unknown }[];
  if (ns.applets !== undefined) {
    list = arrayExport(ns.applets, 'export applets', fail);
  } else if (ns.applet !== undefined) {
    list = [{ where: 'export applet', value: ns.applet }];
  } else if (ns.default !== undefined) {
    const d = ns.default;
    const isObject = d !== null && (typeof d === 'object' || typeof d === 'function');
    // `export default { applets }` or CommonJS `module.exports = { applets }`.
    if (isObject && !('create' in d) && 'applets' in d) {
      list = arrayExport((d as { applets: unknown }).applets, 'default export applets', fail);
    } else {
      list = [{ where: 'default export', value: d }];
    }
  } else {
    return fail(
      'exports no applet; expected `export default { type, create }` (an AppletFactory), `export const applet = ...` or `export const applets = [...]`',
    );
  }
  const factories = list.map(({ where, value }) => checkFactory(where, value, fail));
  factories.forEach((f, i) => {
    const j = factories.findIndex((g) => g.type === f.type);
    if (j < i && factories[j] !== f) fail(`${list[j]!.where} and ${list[i]!.where} both have type "${f.type}"`);
  });
  return factories.filter((f, i) => factories.indexOf(f) === i);
}

function arrayExport(v: unknown, name: string, fail: (problem: string) => never): { where: string; value: unknown }[] {
  if (!Array.isArray(v)) return fail(`${name} is ${describeValue(v)}; expected an array of AppletFactory objects`);
  if (v.length === 0) return fail(`${name} is an empty array; expected at least one AppletFactory`);
  const base = name.replace(/^export /, '');
  return v.map((value: unknown, i) => ({ where: `${base}[${i}]`, value }));
}

/** Checks the {@link AppletFactory} shape: `type` a non-empty string, `create` a function. */
function checkFactory(where: string, v: unknown, fail: (problem: string) => never): AppletFactory {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) {
    return fail(`${where} is ${describeValue(v)}; expected an AppletFactory object { type, create }`);
  }
  const o = v as { type?: unknown; create?: unknown };
  if (typeof o.create !== 'function') {
    if (typeof v === 'function') {
      return fail(`${where} is a function without a create() function; export an object { type, create } (an AppletFactory)`);
    }
    return fail(
      o.create === undefined
        ? `${where} has no create() function; expected create(params: Uint8Array) returning an Applet`
        : `${where}.create is ${describeValue(o.create)}; expected a function create(params: Uint8Array) returning an Applet`,
    );
  }
  if (o.type === undefined) return fail(`${where} has no type; expected a non-empty string naming the applet type, e.g. "echo"`);
  if (typeof o.type !== 'string' || o.type === '') return fail(`${where}.type is ${describeValue(o.type)}; expected a non-empty string`);
  if (o.type.trim() !== o.type) return fail(`${where}.type ${JSON.stringify(o.type)} starts or ends with white space`);
  return v as AppletFactory;
}

/** A short description of a value for messages. */
function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return v === '' ? 'an empty string' : `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
    case 'function':
      return 'a function';
    case 'object':
      return 'an object';
    default:
      return `${typeof v} ${String(v)}`;
  }
}
