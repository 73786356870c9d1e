/**
 * Reading vector files of any supported format: the format from the extension (`.vec`
 * chipwright, `.etsi` ETSI TS 101 955, `.scr` apdutool, `.scriptor` scriptor) or, for other
 * names, from the content; directories expand to the vector files below them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseApdutoolScript } from './apdutool.js';
import { parseEtsiScript } from './etsi-ts-101-955.js';
import { parseScriptorScript } from './scriptor.js';
import { parseVectorText } from './vector-format.js';
import { VectorError, type Vector, type VectorFormat } from './vector.js';

/** File extensions of each format (directories expand to files with these). */
export const FORMAT_EXTENSIONS: Readonly<Record<string, VectorFormat>> = Object.freeze({
  '.vec': 'chipwright',
  '.etsi': 'etsi',
  '.scr': 'apdutool',
  '.scriptor': 'scriptor',
});

/**
 * Guesses the format of a file whose extension says nothing, from its first significant line:
 * `CMD`/`RST`/`REM`/`OFF`/`INI` → ETSI; a `;`-terminated statement or `0x` bytes → apdutool;
 * a header field, `=>` or a chipwright keyword → chipwright; otherwise scriptor.
 */
export function detectFormat(text: string, path = ''): VectorFormat {
  const byExt = FORMAT_EXTENSIONS[extname(path).toLowerCase()];
  if (byExt !== undefined) return byExt;
  if (/=>/.test(text)) return 'chipwright';
  for (const raw of text.split(/\r?\n/)) {
    const t = raw.trim();
    if (t === '') continue;
    if (/^(CMD|RST|OFF|REM|INI)(\s|$)/i.test(t)) return 'etsi';
    if (t.startsWith('//') || t.startsWith('/*') || /;\s*$/.test(t) || /\b0x[0-9a-f]/i.test(t)) return 'apdutool';
    if (t.startsWith('#')) continue;
    if (/^(name|source|clause|card|requires|rng|applet)\s*:/.test(t) || /^(power|session|auth|let|end|check)\b/.test(t)) return 'chipwright';
    return 'scriptor';
  }
  return 'scriptor';
}

/** Parses vector text of a given (or detected) format; `source` names the file in errors. */
export function parseVectorFile(text: string, source: string, format: VectorFormat = detectFormat(text, source)): Vector {
  switch (format) {
    case 'chipwright':
      return parseVectorText(text, source);
    case 'etsi':
      return parseEtsiScript(text, source);
    case 'apdutool':
      return parseApdutoolScript(text, source);
    case 'scriptor':
      return parseScriptorScript(text, source);
  }
}

/** Reads and parses a vector file; a missing or unreadable file is a {@link VectorError}. */
export function readVectorFile(path: string, format?: VectorFormat): Vector {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : `cannot read (${code ?? String(e)})`;
    throw new VectorError(path, 0, why);
  }
  return parseVectorFile(text, path, format ?? detectFormat(text, path));
}

/**
 * The vector files a list of paths names: files as given, directories expanded (recursively, in
 * name order) to the files whose extension a format claims.
 */
export function expandVectorPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (FORMAT_EXTENSIONS[extname(name).toLowerCase()] !== undefined) out.push(p);
    }
  };
  for (const p of paths) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory() === true) walk(p);
    else out.push(p);
  }
  return out;
}
