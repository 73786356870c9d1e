/**
 * Applet modules: the loader (`src/apps/modules.ts`) unit by unit, then `--applet` and
 * `card install` end to end through the built CLI (`node bin/chipwright.js`; run `npm run build`
 * first when running this file alone — `npm test` builds in pretest).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppletModuleError, loadAppletModules } from '../src/apps/modules.js';
import { createCard } from '../src/card/os.js';
import { EXIT } from '../src/cli/exit-codes.js';
import { hexToBytes, tx } from './helpers/card.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'chipwright.js');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const ECHO = 'test/fixtures/echo-applet.mjs';
const COUNTERS = 'test/fixtures/counter-applets.mjs';
const AID = 'F0000000010101';
const SELECT = `00A4040C07${AID}`;

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chipwright-applets-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` as `name` in a fresh directory of its own and returns that directory. */
function moduleDir(files: Record<string, string>): string {
  const d = mkdtempSync(join(dir, 'mod-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  return d;
}

/** The error `loadAppletModules` rejects with, checked to be an {@link AppletModuleError}. */
async function loadError(specifiers: string[], baseDir: string): Promise<AppletModuleError> {
  const e: unknown = await loadAppletModules(specifiers, baseDir).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppletModuleError);
  return e as AppletModuleError;
}

/** A valid factory as module source text (no imports: temp directories cannot reach chipwright). */
const FACTORY = (type: string): string => `{ type: ${JSON.stringify(type)}, create: () => ({}) }`;

describe('loadAppletModules', () => {
  it('loads a default-exported factory and the applet works on a card in five lines', async () => {
    const applets = await loadAppletModules([ECHO], ROOT);
    expect(applets.map((f) => f.type)).toEqual(['echo']);
    const card = createCard({ applets });
    card.install(hexToBytes(AID), 'echo', hexToBytes('CAFE'));
    card.powerOn();
    expect(tx(card, SELECT).swHex).toBe('9000');
    expect(tx(card, '8001000003AABBCC00').data).toBe('AABBCC');
    expect(tx(card, '8002000000').data).toBe('CAFE');
  });

  it('loads `applets: [...]`, keeps module order, and counts a module given twice once', async () => {
    const applets = await loadAppletModules([ECHO, COUNTERS, `./${ECHO}`, join(ROOT, ECHO)], ROOT);
    expect(applets.map((f) => f.type)).toEqual(['echo', 'counter', 'reverse']);
  });

  it('resolves paths against baseDir: ./x, bare names of existing files, absolute paths and file: URLs', async () => {
    for (const spec of ['./echo-applet.mjs', 'echo-applet.mjs', join(FIXTURES, 'echo-applet.mjs'), pathToFileURL(join(FIXTURES, 'echo-applet.mjs')).href]) {
      expect((await loadAppletModules([spec], FIXTURES)).map((f) => f.type), spec).toEqual(['echo']);
    }
  });

  it('accepts a named export `applet`, a default `{ applets }` and a CommonJS module', async () => {
    const d = moduleDir({
      'named.mjs': `export const applet = ${FACTORY('named')};`,
      'default-list.mjs': `export default { applets: [${FACTORY('d1')}, ${FACTORY('d2')}] };`,
      'common.cjs': `module.exports = ${FACTORY('common')};`,
    });
    expect((await loadAppletModules(['./named.mjs', './default-list.mjs', './common.cjs'], d)).map((f) => f.type)).toEqual([
      'named',
      'd1',
      'd2',
      'common',
    ]);
  });

  it('resolves package names from baseDir (its node_modules, not chipwright\'s), scoped ones too', async () => {
    const d = moduleDir({
      'node_modules/acme-applet/package.json': JSON.stringify({ name: 'acme-applet', type: 'module', main: 'index.js' }),
      'node_modules/acme-applet/index.js': `export default ${FACTORY('acme')};`,
      'node_modules/@acme/wallet/package.json': JSON.stringify({ name: '@acme/wallet', exports: { '.': './wallet.mjs' } }),
      'node_modules/@acme/wallet/wallet.mjs': `export const applets = [${FACTORY('wallet')}];`,
    });
    expect((await loadAppletModules(['acme-applet', '@acme/wallet'], d)).map((f) => f.type)).toEqual(['acme', 'wallet']);
    const e = await loadError(['not-installed-applet'], d);
    expect(e.message).toMatch(/^not-installed-applet: no such file \(.*\) and no package "not-installed-applet" installed under /);
  });

  it('names the module and the problem for every wrong shape', async () => {
    const cases: [string, string, string][] = [
      ['no-create.mjs', `export default { type: 'x' };`, './no-create.mjs: default export has no create() function'],
      ['create-string.mjs', `export default { type: 'x', create: 'nope' };`, './create-string.mjs: default export.create is the string "nope"; expected a function'],
      ['no-type.mjs', `export default { create: () => ({}) };`, './no-type.mjs: default export has no type; expected a non-empty string'],
      ['empty-type.mjs', `export default { type: '', create: () => ({}) };`, './empty-type.mjs: default export.type is an empty string; expected a non-empty string'],
      ['number-type.mjs', `export default { type: 7, create: () => ({}) };`, './number-type.mjs: default export.type is number 7; expected a non-empty string'],
      ['spaced-type.mjs', `export default { type: ' x', create: () => ({}) };`, './spaced-type.mjs: default export.type " x" starts or ends with white space'],
      ['function.mjs', `export default function create() { return {}; }`, './function.mjs: default export is a function without a create() function; export an object { type, create }'],
      ['number.mjs', `export default 42;`, './number.mjs: default export is number 42; expected an AppletFactory object'],
      ['nothing.mjs', `export const unrelated = 1;`, './nothing.mjs: exports no applet; expected `export default { type, create }`'],
      ['not-array.mjs', `export const applets = ${FACTORY('x')};`, './not-array.mjs: export applets is an object; expected an array of AppletFactory objects'],
      ['empty-array.mjs', `export const applets = [];`, './empty-array.mjs: export applets is an empty array'],
      ['bad-element.mjs', `export const applets = [${FACTORY('a')}, { type: 'b' }];`, './bad-element.mjs: applets[1] has no create() function'],
      ['bad-named.mjs', `export const applet = { create: 1, type: 'a' };`, './bad-named.mjs: export applet.create is number 1'],
      ['same-type.mjs', `export const applets = [${FACTORY('a')}, ${FACTORY('a')}];`, './same-type.mjs: applets[0] and applets[1] both have type "a"'],
    ];
    const d = moduleDir(Object.fromEntries(cases.map(([name, text]) => [name, text])));
    for (const [name, , message] of cases) {
      const e = await loadError([`./${name}`], d);
      expect(e.module).toBe(`./${name}`);
      expect(e.message, name).toContain(message);
    }
  });

  it('reports modules that cannot be imported: missing, a directory, throwing at load, bad syntax', async () => {
    const d = moduleDir({
      'throws.mjs': `throw new Error('boom at load');`,
      'syntax.mjs': `export default {{;`,
      'sub/keep.txt': '',
    });
    expect((await loadError(['./missing.mjs'], d)).message).toBe(`./missing.mjs: no such file (${join(d, 'missing.mjs')})`);
    expect((await loadError(['./sub'], d)).message).toMatch(/^\.\/sub: is a directory \(.*\); name the module file in it$/);
    const t = await loadError(['./throws.mjs'], d);
    expect(t.message).toBe('./throws.mjs: cannot import it: Error: boom at load');
    expect((t.cause as Error).message).toBe('boom at load');
    // Under vitest, import() goes through Vite's transform, so the wording of a syntax error is
    // Vite's; Node's own (and the TypeScript / CommonJS hints) are checked through the CLI below.
    expect((await loadError(['./syntax.mjs'], d)).message).toMatch(/^\.\/syntax\.mjs: cannot import it: /);
    expect((await loadError([''], d)).message).toContain('expected a module file path or a package name');
  });

  it('a type defined by two modules is an error naming both', async () => {
    const d = moduleDir({ 'other-echo.mjs': `export default ${FACTORY('echo')};` });
    const e = await loadError([join(ROOT, ECHO), './other-echo.mjs'], d);
    expect(e.module).toBe('./other-echo.mjs');
    expect(e.message).toBe(
      `./other-echo.mjs: applet type "echo" is already defined by ${join(ROOT, ECHO)}; a type name may come from one module only (rename one of them)`,
    );
  });
});

// --- the CLI, end to end --------------------------------------------------------------------------

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const env: NodeJS.ProcessEnv = { ...process.env };
delete env.CHIPWRIGHT_DEBUG;

/** Runs the built CLI in the repository root, so `test/fixtures/...` resolves against the cwd. */
function cli(args: readonly string[], input = ''): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

function expectOneErrorLine(r: Result): void {
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^chipwright: /);
}

/** A new blank card image in the temp directory; returns its path. */
async function newCard(name: string): Promise<string> {
  const path = join(dir, name);
  const r = await cli(['card', 'new', '--out', path]);
  expect(r.code, r.stderr).toBe(0);
  return path;
}

describe('CLI: --applet and card install', () => {
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
      throw new Error('dist/ is missing: run `npm run build` first (npm test does it in pretest)');
    }
  });

  it('card new → card install → send with --applet echoes; without --applet send exits 3 with the hint', async () => {
    const card = await newCard('echo.json');
    const i = await cli(['card', 'install', '--card', card, '--applet', ECHO, '--aid', AID, '--params', 'CAFE']);
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout).toBe(
      `${card}\n  applet  ${AID}\n  type    echo (${ECHO})\n  DF      7F00\n  params  CAFE\n  select  ${SELECT}  (pass --applet ${ECHO} to send, sim and script run)\n`,
    );
    const image = JSON.parse(readFileSync(card, 'utf8')) as { applets: unknown[] };
    expect(image.applets).toEqual([{ aid: AID, type: 'echo', params: 'CAFE', lifeCycle: 'selectable', store: {} }]);

    const s = await cli(['send', '--card', card, '--applet', ECHO, SELECT, '8001000003AABBCC00', '8002000000', '8001010000']);
    expect(s.code, s.stderr).toBe(0);
    // The applet's StatusWordError (6A86 on P1 != 0) crosses the module boundary as its SW.
    expect(s.stdout).toBe('9000\nAABBCC9000\nCAFE9000\n6A86\n');

    const without = await cli(['send', '--card', card, SELECT]);
    expect(without.code).toBe(EXIT.INPUT);
    expectOneErrorLine(without);
    expect(without.stderr).toContain(`applet ${AID} has type "echo", which is not registered`);
    expect(without.stderr).toContain('pass --applet MODULE');
    expect(without.stdout).toBe('');
  });

  it('sim and script run take --applet too', async () => {
    const card = await newCard('sim.json');
    expect((await cli(['card', 'install', '--card', card, '--applet', ECHO, '--aid', AID])).code).toBe(0);
    const sim = await cli(['sim', '--stdio', '--card', card, '--applet', ECHO], `${SELECT}\n8001000002BEEF00\n`);
    expect(sim.code, sim.stderr).toBe(0);
    expect(sim.stdout).toBe('9000\nBEEF9000\n');
    const noSim = await cli(['sim', '--stdio', '--card', card], `${SELECT}\n`);
    expect(noSim.code).toBe(EXIT.INPUT);
    expect(noSim.stderr).toContain('pass --applet MODULE');

    const script = join(dir, 'echo.apdu');
    writeFileSync(script, `# talk to the echo applet\n${SELECT} => 9000\n80 01 00 00 02 12 34 00 => 1234 9000\n`);
    const run = await cli(['script', 'run', script, '--card', card, '--applet', ECHO]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('2 passed, 0 failed');
    const noRun = await cli(['script', 'run', script, '--card', card]);
    expect(noRun.code).toBe(EXIT.INPUT);
    expect(noRun.stderr).toContain('pass --applet MODULE');
  });

  it('several types: --type picks one, every type the card uses needs its module, applet state persists', async () => {
    const card = await newCard('multi.json');
    const both = ['--applet', ECHO, '--applet', COUNTERS];
    const ambiguous = await cli(['card', 'install', '--card', card, ...both, '--aid', 'F000000002']);
    expect(ambiguous.code).toBe(EXIT.USAGE);
    expectOneErrorLine(ambiguous);
    expect(ambiguous.stderr).toContain('--type is required');
    expect(ambiguous.stderr).toContain('"echo", "counter", "reverse"');
    const unknown = await cli(['card', 'install', '--card', card, ...both, '--aid', 'F000000002', '--type', 'wallet']);
    expect(unknown.code).toBe(EXIT.USAGE);
    expect(unknown.stderr).toContain('--type wallet: no applet module given defines it');

    expect((await cli(['card', 'install', '--card', card, '--applet', ECHO, '--aid', AID])).code).toBe(0);
    const j = await cli(['card', 'install', '--card', card, ...both, '--aid', 'F000000002', '--type', 'counter', '--fid', '7F20', '--json']);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({ path: card, aid: 'F000000002', type: 'counter', module: COUNTERS, fid: '7F20', params: '' });

    // Loading the card needs the module of every applet type on it, not only the one used now.
    const partial = await cli(['send', '--card', card, '--applet', COUNTERS, '00A4040C05F000000002']);
    expect(partial.code).toBe(EXIT.INPUT);
    expect(partial.stderr).toContain('(the --applet modules given define "counter", "reverse")');
    const inc = await cli(['send', '--card', card, ...both, '00A4040C05F000000002', '8002000000', '8002000000']);
    expect(inc.stdout).toBe('9000\n9000\n9000\n');
    const read = await cli(['send', '--card', card, ...both, '00A4040C05F000000002', '8003000000']);
    expect(read.stdout).toBe('9000\n029000\n');
  });

  it('card install refuses a duplicate AID or FID, a bad AID length, a reserved FID (exit 2)', async () => {
    const card = await newCard('dup.json');
    expect((await cli(['card', 'install', '--card', card, '--applet', ECHO, '--aid', AID])).code).toBe(0);
    const before = readFileSync(card, 'utf8');
    const cases: [string[], string][] = [
      [['--aid', AID], `--aid ${AID}: ${card} already has an applet or DF with this AID; choose another AID`],
      [['--aid', 'F000000003', '--fid', '7F00'], `--fid 7F00: ${card} already has a file with this FID under the MF`],
      [['--aid', 'F0000000'], '--aid: expected 5..16 bytes, got 4'],
      [['--aid', '00'.repeat(17)], '--aid: expected 5..16 bytes, got 17'],
      [['--aid', 'F000000003', '--fid', '3F00'], '--fid 3F00: reserved'],
      [['--aid', 'F000000003', '--fid', '7F0'], '--fid'],
      [['--aid', 'F000000003', '--params', 'XY'], '--params'],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['card', 'install', '--card', card, '--applet', ECHO, ...args]);
      expect(r.code, args.join(' ')).toBe(EXIT.USAGE);
      expectOneErrorLine(r);
      expect(r.stderr).toContain(message);
    }
    const noApplet = await cli(['card', 'install', '--card', card, '--aid', 'F000000003']);
    expect(noApplet.code).toBe(EXIT.USAGE);
    expect(noApplet.stderr).toContain('--applet');
    expect(readFileSync(card, 'utf8')).toBe(before);
  });

  it('a bad applet module exits 3 naming the module and the problem (Node\'s own import errors included); a missing card exits 3', async () => {
    const d = moduleDir({
      'no-create.mjs': `export default { type: 'x' };`,
      'install-fails.mjs': `export default { type: 'bad', create: () => ({ install: () => { throw new Error('no room'); } }) };`,
      'other-echo.mjs': `export default { type: 'echo', create: () => ({}) };`,
      'syntax.mjs': `export default {{;`,
      'esm-in-cjs/package.json': JSON.stringify({ type: 'commonjs' }),
      'esm-in-cjs/applet.js': `const x = 1;\nexport default { type: 'x', create: () => x };`,
      'applet.ts': `export default { type: 'ts' as string, create: () => ({}) };`,
      'imports-chipwright.mjs': `import { defineInsTable } from 'chipwright';\nexport default { type: 'x', create: () => ({ commands: defineInsTable() }) };`,
    });
    const card = await newCard('bad.json');
    const before = readFileSync(card, 'utf8');
    const shape = await cli(['card', 'install', '--card', card, '--applet', join(d, 'no-create.mjs'), '--aid', AID]);
    expect(shape.code).toBe(EXIT.INPUT);
    expectOneErrorLine(shape);
    expect(shape.stderr).toBe(`chipwright: applet module ${join(d, 'no-create.mjs')}: default export has no create() function; expected create(params: Uint8Array) returning an Applet\n`);
    const missing = await cli(['send', '--card', card, '--applet', 'test/fixtures/nope.mjs', SELECT]);
    expect(missing.code).toBe(EXIT.INPUT);
    expect(missing.stderr).toContain(`applet module test/fixtures/nope.mjs: no such file (${join(ROOT, 'test', 'fixtures', 'nope.mjs')})`);
    const dup = await cli(['send', '--card', card, '--applet', ECHO, '--applet', join(d, 'other-echo.mjs'), SELECT]);
    expect(dup.code).toBe(EXIT.INPUT);
    expect(dup.stderr).toContain(`applet type "echo" is already defined by ${ECHO}`);
    const failing = await cli(['card', 'install', '--card', card, '--applet', join(d, 'install-fails.mjs'), '--aid', AID]);
    expect(failing.code).toBe(EXIT.INPUT);
    expect(failing.stderr).toContain(`applet module ${join(d, 'install-fails.mjs')}: install() of applet type "bad" failed: Error: no room`);
    expect(readFileSync(card, 'utf8')).toBe(before);
    const syntax = await cli(['send', '--card', card, '--applet', join(d, 'syntax.mjs'), SELECT]);
    expect(syntax.code).toBe(EXIT.INPUT);
    expectOneErrorLine(syntax);
    expect(syntax.stderr).toContain(`applet module ${join(d, 'syntax.mjs')}: cannot import it: SyntaxError: `);
    const cjs = await cli(['send', '--card', card, '--applet', join(d, 'esm-in-cjs', 'applet.js'), SELECT]);
    expect(cjs.code).toBe(EXIT.INPUT);
    expect(cjs.stderr).toContain('(an ES module needs the .mjs extension or "type": "module" in its package.json)');
    const ts = await cli(['send', '--card', card, '--applet', join(d, 'applet.ts'), SELECT]);
    if (Number(process.versions.node.split('.')[0]) < 22) {
      expect(ts.code).toBe(EXIT.INPUT);
      expect(ts.stderr).toContain('Node cannot import TypeScript here; compile the module to JavaScript (.js or .mjs)');
    }
    const outside = await cli(['send', '--card', card, '--applet', join(d, 'imports-chipwright.mjs'), SELECT]);
    expect(outside.code).toBe(EXIT.INPUT);
    expect(outside.stderr).toContain('it imports "chipwright", which is not installed where the module lives');
    const noCard = await cli(['card', 'install', '--card', join(dir, 'none.json'), '--applet', ECHO, '--aid', AID]);
    expect(noCard.code).toBe(EXIT.INPUT);
    expect(noCard.stderr).toContain('card new');
  });

  it('--help documents card install and --applet on every command that loads a card', async () => {
    const install = await cli(['card', 'install', '--help']);
    expect(install.code).toBe(0);
    expect(install.stdout).toContain('Usage: chipwright card install');
    for (const opt of ['--card <file>', '--applet <module>', '--aid <hex>', '--type <name>', '--params <hex>', '--fid <hex>', '--json']) {
      expect(install.stdout).toContain(opt);
    }
    expect((await cli(['card', '--help'])).stdout).toContain('install');
    for (const args of [['send'], ['sim'], ['script', 'run']]) {
      const r = await cli([...args, '--help']);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toContain('--applet <module>');
    }
  });
});
