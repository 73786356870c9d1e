/**
 * `chipwright card install --card card.json --applet MODULE --aid HEX`: installs an applet of a
 * type defined by an applet module (`src/apps/modules.ts`) into a card image — its DF under the MF,
 * named by the AID (ISO/IEC 7816-4 §7.1.1), with whatever its `install` creates — and saves the
 * image. The image stores the applet's type, not the module: later commands on this card need the
 * same `--applet MODULE`.
 */
import type { Command } from 'commander';
import { bytesToHex, u16Hex } from '../../bytes/index.js';
import { SW, StatusWordError } from '../../apdu/status.js';
import type { AppletFactory } from '../../card/applet.js';
import { childByFid, dfByExactName } from '../../card/fs/tree.js';
import { AppletModuleError, combineAppletModules, importAppletModule, type AppletModule } from '../../apps/modules.js';
import { CardFile } from '../card-file.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../errors.js';
import { appletOption, hexOption } from '../options.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';

interface RawOptions {
  card: string;
  applet: string[];
  aid: string;
  type?: string;
  params?: string;
  fid?: string;
  json?: boolean;
}

export interface CardInstallContext {
  readonly cardPath: string;
  readonly appletModules: readonly string[];
  readonly aid: Uint8Array;
  /** `--type`; undefined: the one type the modules define. */
  readonly type: string | undefined;
  readonly params: Uint8Array;
  /** `--fid`; undefined: the card picks the first free FID from 7F00. */
  readonly fid: number | undefined;
  readonly json: boolean;
}

/**
 * FIDs no DF can take (ISO/IEC 7816-4 §7.1.1): 3F00 is the MF, 3FFF stands for the current DF
 * in paths, FFFF is reserved for future use.
 */
const RESERVED_FIDS: readonly number[] = [0x3f00, 0x3fff, 0xffff];

/** Validates the options before any module is loaded (exit 2 on a bad value). */
export function cardInstallContext(o: RawOptions): CardInstallContext {
  let fid: number | undefined;
  if (o.fid !== undefined) {
    const b = hexOption(o.fid, '--fid', 2, 2);
    fid = (b[0]! << 8) | b[1]!;
    if (RESERVED_FIDS.includes(fid)) {
      throw new UsageError(`--fid ${u16Hex(fid)}: reserved (3F00 is the MF, 3FFF and FFFF are reserved); choose another, e.g. 7F10`);
    }
  }
  if (o.type !== undefined && o.type.trim() === '') throw new UsageError('--type: expected an applet type name, got an empty string');
  return {
    cardPath: o.card,
    appletModules: o.applet,
    // An application identifier (ISO/IEC 7816-5) is a 5-byte RID and a PIX of up to 11 bytes.
    aid: hexOption(o.aid, '--aid', 5, 16),
    type: o.type,
    params: o.params === undefined ? new Uint8Array(0) : hexOption(o.params, '--params'),
    fid,
    json: o.json === true,
  };
}

/** The factory to install: `--type`, or the only type the modules define. */
function pickFactory(ctx: CardInstallContext, modules: readonly AppletModule[], factories: readonly AppletFactory[]): AppletFactory {
  const types = factories.map((f) => `"${f.type}"`).join(', ');
  const given = modules.map((m) => m.specifier).join(', ');
  if (ctx.type === undefined) {
    if (factories.length === 1) return factories[0]!;
    throw new UsageError(`--type is required: the applet modules (${given}) define several types: ${types}`);
  }
  const f = factories.find((x) => x.type === ctx.type);
  if (f === undefined) {
    throw new UsageError(`--type ${ctx.type}: no applet module given defines it; ${given} define${modules.length === 1 ? 's' : ''} ${types}`);
  }
  return f;
}

export interface CardInstallResult {
  readonly path: string;
  readonly aid: string;
  readonly type: string;
  readonly module: string;
  readonly fid: string;
  readonly params: string;
}

export async function runCardInstall(ctx: CardInstallContext, io: CliIo): Promise<number> {
  const modules: AppletModule[] = [];
  for (const s of ctx.appletModules) modules.push(await importAppletModule(s));
  const factories = combineAppletModules(modules);
  const factory = pickFactory(ctx, modules, factories);
  const module = modules.find((m) => m.factories.includes(factory))!.specifier;
  const file = CardFile.open(ctx.cardPath, io, { applets: factories });
  const card = file.card;
  const aidHex = bytesToHex(ctx.aid);
  try {
    card.install(ctx.aid, factory.type, ctx.params, ctx.fid);
  } catch (e) {
    // The card rolled the install back, so a DF or FID found now was there before: the conflict
    // is the command line's. Anything else was thrown by the applet's own install().
    if (e instanceof StatusWordError && e.sw === SW.DF_NAME_EXISTS && dfByExactName(card.state.mf, ctx.aid) !== undefined) {
      throw new UsageError(`--aid ${aidHex}: ${ctx.cardPath} already has an applet or DF with this AID; choose another AID`);
    }
    if (e instanceof StatusWordError && e.sw === SW.FILE_EXISTS && ctx.fid !== undefined && childByFid(card.state.mf, ctx.fid) !== undefined) {
      throw new UsageError(`--fid ${u16Hex(ctx.fid)}: ${ctx.cardPath} already has a file with this FID under the MF; choose another or leave --fid out`);
    }
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new AppletModuleError(module, `install() of applet type "${factory.type}" failed: ${why}`, { cause: e });
  }
  file.saveIfChanged();
  const df = dfByExactName(card.state.mf, ctx.aid)!;
  const result: CardInstallResult = {
    path: ctx.cardPath,
    aid: aidHex,
    type: factory.type,
    module,
    fid: u16Hex(df.fid),
    params: bytesToHex(ctx.params),
  };
  if (ctx.json) {
    io.stdout(JSON.stringify(result, null, 2) + '\n');
  } else {
    io.stdout(
      `${result.path}\n  applet  ${result.aid}\n  type    ${result.type} (${result.module})\n  DF      ${result.fid}\n` +
        (result.params === '' ? '' : `  params  ${result.params}\n`) +
        `  select  00A4040C${bytesToHex(Uint8Array.of(ctx.aid.length))}${aidHex}  (pass --applet ${result.module} to send, sim and script run)\n`,
    );
  }
  return EXIT.OK;
}

export function registerCardInstall(card: Command, cli: CliContext): Command {
  return card
    .command('install')
    .description('install an applet defined by an applet module into a card image')
    .requiredOption('--card <file>', 'card image (saved after the install)')
    .addOption(
      appletOption('applet module (file path or package name) defining the type to install, and any other applet types the card already uses; repeatable').makeOptionMandatory(),
    )
    .requiredOption('--aid <hex>', 'the applet\'s AID, 5..16 bytes (also its DF name)')
    .option('--type <name>', 'applet type to install (default: the only type the modules define)')
    .option('--params <hex>', 'install parameters handed to the applet\'s create() (default: none)')
    .option('--fid <hex>', 'FID of the applet\'s DF under the MF (default: the first free one from 7F00)')
    .option('--json', 'print path, aid, type, module, fid and params as JSON')
    .addHelpText(
      'after',
      '\nAn applet module is a JavaScript module exporting an AppletFactory { type, create }\n' +
        '(default export), `applet`, or `applets: [...]`. The card image records the applet\'s\n' +
        'type only: pass the same --applet MODULE to send, sim and script run for this card.',
    )
    .action(async (opts: RawOptions) => {
      cli.exit(await runCardInstall(cardInstallContext(opts), cli.io));
    });
}
