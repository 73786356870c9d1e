/**
 * `chipwright purse install|balance|log|debit|credit`, run in-process through `main(argv, io)`:
 * outputs, JSON, exit codes, and that no key or PIN ever reaches the output.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from './helpers/cli.js';
import { EXIT } from '../src/cli/exit-codes.js';

const PURCHASE = '000102030405060708090A0B0C0D0E0F';
const LOAD = '101112131415161718191A1B1C1D1E1F';
const SECRETS = [PURCHASE, LOAD, PURCHASE.toLowerCase(), LOAD.toLowerCase(), '4321'];

let dir: string;

async function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const r = await runCli(args, env);
  for (const s of SECRETS) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
  return r;
}

const path = (name: string): string => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chipwright-purse-'));
  writeFileSync(
    path('spec.json'),
    JSON.stringify({
      currency: 978,
      maximum: 10_000,
      initialBalance: 1_000,
      pinThreshold: 500,
      pin: { value: '4321', maxTries: 3 },
      purchaseKey: PURCHASE,
      loadKey: LOAD,
      contracts: [{ product: 1, zones: [1], validFrom: '2025-01-01', validUntil: '2025-12-31', trips: 10 }],
    }),
  );
  writeFileSync(path('keys.json'), JSON.stringify({ purchase: PURCHASE, load: LOAD }));
  writeFileSync(path('keys-pin.json'), JSON.stringify({ purchase: PURCHASE, pin: '4321' }));
  writeFileSync(path('purchase.hex'), `${PURCHASE}\n`);
  writeFileSync(path('wrong.hex'), 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF');
  expect((await cli(['card', 'new', '--out', path('card.json')])).code).toBe(0);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('chipwright purse', () => {
  it('install from a JSON spec, printing no secret', async () => {
    const r = await cli(['purse', 'install', '--card', path('card.json'), '--spec', path('spec.json'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ aid: 'F043575055525345', currency: 978, maximum: 10000, keys: ['load', 'purchase'], pin: true, contracts: 1 });
    // The image holds the keys in the applet's store only, not in its install parameters.
    const image = JSON.parse(readFileSync(path('card.json'), 'utf8')) as { applets: { params: string }[] };
    expect(image.applets[0]!.params).not.toContain(PURCHASE);
    const again = await cli(['purse', 'install', '--card', path('card.json'), '--spec', path('spec.json')]);
    expect(again.code).toBe(EXIT.USAGE);
    expect(again.stderr).toMatch(/--aid F043575055525345: .* already has an applet/);
  });

  it('balance', async () => {
    const r = await cli(['purse', 'balance', '--card', path('card.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('balance  10.00 (currency 978)\nmaximum  100.00\ncounter  0\n');
    const j = await cli(['purse', 'balance', '--card', path('card.json'), '--json']);
    expect(JSON.parse(j.stdout)).toEqual({ balance: 1000, maximum: 10000, currency: 978, exponent: 2, transactionCounter: 0, formatted: '10.00' });
  });

  it('debit with a key file, credit with the environment; the image is saved', async () => {
    const d = await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '250', '--key-file', path('keys.json'), '--terminal-id', 'CAFE0001']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toBe('debited 2.50; balance 7.50 (currency 978); transaction 1, card MAC verified\n');
    const c = await cli(['purse', 'credit', '--card', path('card.json'), '--amount', '5000', '--json'], { CHIPWRIGHT_PURSE_LOAD_KEY: LOAD });
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ operation: 'credit', amount: 5000, balance: 5750, transactionCounter: 2, verified: true });
    const h = await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '1', '--key-file', path('purchase.hex')]);
    expect(h.code, h.stderr).toBe(0);
  });

  it('log, newest first', async () => {
    const r = await cli(['purse', 'log', '--card', path('card.json'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const log = JSON.parse(r.stdout) as { sequence: number; type: string; amount: number; after: number; terminalId: string }[];
    expect(log.map((e) => [e.sequence, e.type, e.amount, e.after])).toEqual([[3, 'debit', 1, 5749], [2, 'credit', 5000, 5750], [1, 'debit', 250, 750]]);
    expect(log[2]!.terminalId).toBe('CAFE0001');
    const text = await cli(['purse', 'log', '--card', path('card.json')]);
    expect(text.stdout.split('\n')[3]).toMatch(/^\s+1 {2}\d{4}-\d{2}-\d{2} \d{2}:\d{2} {2}debit \s+2\.50 \s+7\.50 {2}CAFE0001 {2}1$/);
  });

  it('refusals exit 1 with the status word and its meaning; nothing changes', async () => {
    const big = await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '600', '--key-file', path('keys.json')]);
    expect(big.code).toBe(EXIT.CHECK_FAILED);
    expect(big.stderr).toMatch(/^chipwright: purse debit: DEBIT refused: 6982 .*holder PIN/);
    const pinned = await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '600', '--key-file', path('keys-pin.json')]);
    expect(pinned.code, pinned.stderr).toBe(0);
    const low = await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '9999', '--key-file', path('keys-pin.json'), '--json']);
    expect(low.code).toBe(EXIT.CHECK_FAILED);
    expect(JSON.parse(low.stdout)).toMatchObject({ error: 'refused', sw: '6A84' });
    const wrong = await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '1', '--key-file', path('wrong.hex')]);
    expect(wrong.code).toBe(EXIT.CHECK_FAILED);
    expect(wrong.stderr).toMatch(/CLOSE SESSION refused: 6988 .*wrong key/);
    const b = await cli(['purse', 'balance', '--card', path('card.json'), '--json']);
    expect(JSON.parse(b.stdout).balance).toBe(5149);
  });

  it('usage and input errors name the problem, never the secret', async () => {
    const noKey = await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '1']);
    expect(noKey.code).toBe(EXIT.USAGE);
    expect(noKey.stderr).toMatch(/needs the purchase key: --key-file FILE .* or CHIPWRIGHT_PURSE_PURCHASE_KEY/);
    expect((await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '0', '--key-file', path('keys.json')])).code).toBe(EXIT.USAGE);
    expect((await cli(['purse', 'credit', '--card', path('card.json'), '--key-file', path('keys.json')])).stderr).toMatch(/needs --amount N/);
    writeFileSync(path('bad.json'), JSON.stringify({ purchase: `${PURCHASE}ZZ` }));
    const bad = await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '1', '--key-file', path('bad.json')]);
    expect(bad.code).toBe(EXIT.INPUT);
    expect(bad.stderr).toMatch(/key file .*bad\.json: "purchase": not hex/);
    const env = await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '1'], { CHIPWRIGHT_PURSE_PURCHASE_KEY: '0011' });
    expect(env.code).toBe(EXIT.USAGE);
    expect(env.stderr).toMatch(/expected an AES key of 16, 24 or 32 bytes, got 2/);
    const missing = await cli(['purse', 'balance', '--card', path('nope.json')]);
    expect(missing.code).toBe(EXIT.INPUT);
    writeFileSync(path('bad-spec.json'), JSON.stringify({ currency: 978, maximum: 10, initialBalance: 20, loadKey: LOAD }));
    const spec = await cli(['purse', 'install', '--card', path('card.json'), '--spec', path('bad-spec.json'), '--aid', 'F0000000AA']);
    expect(spec.code).toBe(EXIT.INPUT);
    expect(spec.stderr).toMatch(/spec file .*bad-spec\.json: purse\.initialBalance: 20 is above purse\.maximum 10/);
    expect((await cli(['purse', 'balance'])).code).toBe(EXIT.USAGE);
  });

  it('--trace shows the exchanges with the PIN redacted', async () => {
    const r = await cli(['purse', 'debit', '--card', path('card.json'), '--amount', '1', '--key-file', path('keys-pin.json'), '--trace']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/→ 80 8A 00 03 10 /);
    expect(r.stderr).toMatch(/→ 00 20 00 81 04 \*\* \*\* \*\* \*\*/);
  });

  it('a card without a purse: 6A82 from SELECT, exit 1', async () => {
    expect((await cli(['card', 'new', '--out', path('blank.json')])).code).toBe(0);
    const r = await cli(['purse', 'balance', '--card', path('blank.json')]);
    expect(r.code).toBe(EXIT.CHECK_FAILED);
    expect(r.stderr).toMatch(/SELECT refused: 6A82 .*no purse application/);
  });
});
