/**
 * Trust anchors given on the command line (`--csca PATH`, repeatable): PEM bundles, DER
 * certificates, or folders of them — what passive authentication (ICAO 9303-11 §5.1) checks the
 * document signer against. Used by `read` and `replay`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readCertificates } from '../lds/certificates.js';
import { InputFileError } from './errors.js';

const CERT_FILE = /\.(pem|crt|cer|der)$/i;

/** Certificates from `--csca` paths: PEM bundles, DER files, or folders of them. */
export function loadTrustAnchors(paths: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const load = (path: string): void => {
    let data: Uint8Array;
    try {
      data = new Uint8Array(readFileSync(path));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputFileError(`--csca ${path}: ${code === 'ENOENT' ? 'no such file or folder' : `cannot read (${code ?? String(e)})`}`);
    }
    try {
      out.push(...readCertificates(data, `--csca ${path}`));
    } catch (e) {
      throw new InputFileError(e instanceof Error ? e.message : String(e));
    }
  };
  for (const p of paths) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st === undefined) throw new InputFileError(`--csca ${p}: no such file or folder`);
    if (st.isDirectory()) {
      const files = readdirSync(p).filter((f) => CERT_FILE.test(f)).sort();
      if (files.length === 0) throw new InputFileError(`--csca ${p}: the folder holds no .pem, .crt, .cer or .der file`);
      for (const f of files) load(join(p, f));
    } else load(p);
  }
  return out;
}
