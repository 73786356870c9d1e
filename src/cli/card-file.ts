/**
 * Card images as the CLI uses them: load with file errors — an applet type no `--applet` module
 * defines included — turned into {@link InputFileError} (exit 3), save atomically only when the
 * card's non-volatile state changed (`card.nv.generation`), with write errors as
 * {@link OutputFileError} (exit 5).
 */
import { withBuiltinApplets } from '../apps/builtin.js';
import { readFileSync } from 'node:fs';
import { CardImageError, loadCard, serializeCard } from '../card/image.js';
import type { Card, CardOptions } from '../card/os.js';
import type { AppletFactory } from '../card/applet.js';
import { InputFileError, OutputFileError, UsageError } from './errors.js';
import { debugEnabled, type CliIo } from './io.js';
import { writeOutputFile } from './output-file.js';

/** Reads a file the user named, with a message that says what to do when it is not there. */
export function readInputFile(path: string, what: string, hint?: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputFileError(`${what} ${path}: no such file${hint ? `; ${hint}` : ''}`);
    if (code === 'EISDIR') throw new InputFileError(`${what} ${path}: is a directory, expected a file`);
    if (code === 'EACCES' || code === 'EPERM') throw new InputFileError(`${what} ${path}: permission denied`);
    throw new InputFileError(`${what} ${path}: cannot read (${code ?? (e instanceof Error ? e.message : String(e))})`);
  }
}

/** The variable holding the key card images' storage keys are wrapped under (64 hex digits). */
export const IMAGE_KEY_VARIABLE = 'CHIPWRIGHT_IMAGE_KEY';

/**
 * The image key from the environment ({@link IMAGE_KEY_VARIABLE}), or undefined when it is not
 * set. A malformed value is a usage error that names the variable, never the value.
 */
export function imageKeyOf(env: CliIo['env']): Uint8Array | undefined {
  const v = env[IMAGE_KEY_VARIABLE];
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9A-Fa-f]{64}$/.test(v.trim())) throw new UsageError(`${IMAGE_KEY_VARIABLE}: expected 64 hex digits (a 32-byte key), got ${v.trim().length} characters`);
  return Uint8Array.from(Buffer.from(v.trim(), 'hex'));
}

/** `{ imageKey }` from the environment, or `{}`: for options that take an image key. */
export function imageKeyOption(io: Pick<CliIo, 'env'>): { imageKey?: Uint8Array } {
  const imageKey = imageKeyOf(io.env);
  return imageKey !== undefined ? { imageKey } : {};
}

/**
 * Saves atomically, mapping file-system failures to {@link OutputFileError}; the storage key is
 * wrapped under `imageKey` when given (else under the key the card was loaded with, if any).
 */
export function writeCardImage(card: Card, path: string, imageKey?: Uint8Array): void {
  writeOutputFile(path, serializeCard(card, imageKey !== undefined ? { imageKey } : {}), 'card image');
}

/**
 * The CLI's message for an image whose applet type is not registered (the library's message
 * names `CardOptions.applets`; a CLI user passes `--applet`). Decided from the image itself, not
 * from the library's wording: only a well-formed string type that no factory defines qualifies.
 */
function unregisteredApplet(e: unknown, text: string, path: string, applets: readonly AppletFactory[]): InputFileError | undefined {
  if (!(e instanceof CardImageError)) return undefined;
  const m = /^applets\[(\d+)\]\.type$/.exec(e.field);
  if (m === null) return undefined;
  // The image parsed up to this check, so this JSON.parse succeeds; it runs only on this error path.
  const record = (JSON.parse(text) as { applets: { aid?: unknown; type?: unknown }[] }).applets[Number(m[1])];
  const type = record?.type;
  if (typeof type !== 'string' || applets.some((f) => f.type === type)) return undefined;
  const known = applets.length === 0 ? '' : ` (the --applet modules given define ${applets.map((f) => `"${f.type}"`).join(', ')})`;
  return new InputFileError(
    `card image ${path}: ${e.field}: applet ${String(record?.aid)} has type "${type}", which is not registered${known}; pass --applet MODULE naming the module that defines "${type}"`,
  );
}

/** A card loaded from an image file, saved back when its non-volatile state changed. */
export class CardFile {
  private savedGeneration: number;

  private constructor(
    readonly card: Card,
    readonly path: string,
  ) {
    this.savedGeneration = card.nv.generation;
  }

  /**
   * Loads `path` with the applet types of `opts.applets` (from `--applet` modules); a missing
   * file, a corrupt image or an applet type no module defines is an input error naming it.
   */
  static open(path: string, io: CliIo, opts: Pick<CardOptions, 'rng' | 'applets'> = {}): CardFile {
    const text = readInputFile(path, 'card image', `create one with "chipwright card new --out ${path}"`);
    const debug = debugEnabled(io);
    const imageKey = imageKeyOf(io.env);
    let card: Card;
    try {
      card = loadCard(
        text,
        {
          ...opts,
          applets: withBuiltinApplets(opts.applets),
          ...(imageKey !== undefined ? { imageKey } : {}),
          // Card events never contain secrets (see CardEvent); they are shown only when debugging.
          onEvent: (e) => {
            if (debug) io.stderr(`chipwright: card event: ${JSON.stringify(e)}\n`);
          },
        },
        path,
      );
    } catch (e) {
      throw unregisteredApplet(e, text, path, opts.applets ?? []) ?? e;
    }
    return new CardFile(card, path);
  }

  /** True when non-volatile state changed since the last save (or load). */
  get changed(): boolean {
    return this.card.nv.generation !== this.savedGeneration;
  }

  /** Saves atomically if anything changed; returns whether it wrote. */
  saveIfChanged(): boolean {
    if (!this.changed) return false;
    writeCardImage(this.card, this.path);
    this.savedGeneration = this.card.nv.generation;
    return true;
  }
}
