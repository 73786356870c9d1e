/**
 * `chipwright pki init --out DIR [--key-type ecdsa-p256|…] [--force] [--json]`: a test PKI for
 * personalization — a CSCA, a document signer it certifies (signs EF.SOD: `--signer`), and a card
 * issuer CA (certifies keys generated on cards: `--issuer`), every name marked TEST. Writes
 * `csca.pem` (certificate only: the trust anchor readers get), `csca-key.pem`,
 * `document-signer.pem` and `card-issuer.pem` (certificate + PKCS#8 key, mode 0600).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { derToPem } from '../../lds/certificates.js';
import { createTestPki, SIGNING_KEY_TYPES, type SigningKeyType } from '../../lds/pki.js';
import { createTestCardIssuer, signerPem } from '../../perso/signers.js';
import { pathExists } from '../output-file.js';
import { OutputFileError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  out: string;
  keyType?: string;
  force?: boolean;
  json?: boolean;
}

export const PKI_FILES = Object.freeze({ csca: 'csca.pem', cscaKey: 'csca-key.pem', documentSigner: 'document-signer.pem', cardIssuer: 'card-issuer.pem' } as const);

export function runPkiInit(o: RawOptions, io: CliIo): number {
  const keyType = (o.keyType ?? 'ecdsa-p256') as SigningKeyType;
  if (!(SIGNING_KEY_TYPES as readonly string[]).includes(keyType)) throw new UsageError(`--key-type: expected one of ${SIGNING_KEY_TYPES.join(', ')}, got "${keyType}"`);
  const paths = Object.fromEntries(Object.entries(PKI_FILES).map(([k, f]) => [k, join(o.out, f)])) as Record<keyof typeof PKI_FILES, string>;
  if (o.force !== true) {
    const taken = Object.values(paths).find((p) => pathExists(p));
    if (taken !== undefined) throw new OutputFileError(`${taken} exists; use --force to replace the test PKI`);
  }
  const pki = createTestPki({ keyType });
  const issuer = createTestCardIssuer();
  try {
    mkdirSync(o.out, { recursive: true });
    writeFileSync(paths.csca, derToPem(pki.csca.certificate));
    writeFileSync(paths.cscaKey, derToPem(pki.csca.privateKey, 'PRIVATE KEY'), { mode: 0o600 });
    writeFileSync(paths.documentSigner, signerPem(pki.documentSigner), { mode: 0o600 });
    writeFileSync(paths.cardIssuer, signerPem(issuer), { mode: 0o600 });
  } catch (e) {
    throw new OutputFileError(`--out ${o.out}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (o.json === true) io.stdout(JSON.stringify({ keyType, ...paths }, null, 2) + '\n');
  else {
    io.stdout(`TEST PKI in ${o.out} (${keyType}); not for real documents:\n`);
    io.stdout(`  ${paths.csca}             chipwright TEST CSCA (give it to readers)\n`);
    io.stdout(`  ${paths.documentSigner}  chipwright TEST Document Signer (--signer)\n`);
    io.stdout(`  ${paths.cardIssuer}      chipwright TEST Card Issuer CA (--issuer)\n`);
  }
  return EXIT.OK;
}

export function registerPki(program: Command, cli: CliContext): Command {
  const pki = program.command('pki').description('test PKI for personalization');
  pki
    .command('init')
    .description('create a TEST CSCA, document signer and card issuer CA')
    .requiredOption('--out <dir>', 'directory for the PEM files')
    .option('--key-type <type>', `CSCA and document signer keys: ${SIGNING_KEY_TYPES.join(', ')} (default ecdsa-p256)`)
    .option('--force', 'replace existing files')
    .option('--json', 'print the file paths as JSON')
    .action((opts: RawOptions) => {
      cli.exit(runPkiInit(opts, cli.io));
    });
  return pki;
}
