/**
 * The PC/SC stack the end-to-end tests and `bench/pcsc.ts` run on: pcscd with vsmartcard's vpcd
 * driver, opensc and pcsc-tools, and the `pcsclite` package. {@link ensurePcscStack} finds out
 * whether it is there, starts pcscd if it is installed but not running (and we may: root), and
 * reports what is missing in words a person can act on.
 *
 * pcscd is started as `pcscd --foreground` with the TCP_NODELAY preload library
 * (`test/pcsc/nodelay/`, built on the fly with the system C compiler) unless asked not to, and
 * stopped by its PID — never by name. A pcscd that was already running is used as it is.
 *
 * Linux only, like the stack: listening ports come from /proc/net/tcp{,6} (probing a vpcd port
 * with a connection would insert a card into that reader).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apt packages of the stack (what `.ci/run` installs). */
export const PCSC_APT_PACKAGES = ['pcscd', 'libpcsclite-dev', 'vsmartcard-vpcd', 'opensc', 'pcsc-tools'] as const;

/** The repository root: above test/pcsc/ (source) or dist/test/pcsc/ (compiled for bench/). */
const REPO = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'test', 'pcsc', 'nodelay', 'build.sh'))) return dir;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
})();
const PCSCD_PID_FILE = '/run/pcscd/pcscd.pid';
const PCSCD_SOCKET = '/run/pcscd/pcscd.comm';
const READER_CONF_DIR = '/etc/reader.conf.d';

/** What the PC/SC tests get to know (serializable: it goes from the global setup to the tests). */
export interface PcscStackInfo {
  readonly ready: boolean;
  /** Why the stack cannot be used, and what to do about it (when not ready). */
  readonly reason: string | undefined;
  /** Listening vpcd ports, slot 0 first ("Virtual PCD 00 00", "... 00 01"). */
  readonly ports: readonly number[];
  readonly pcscdPid: number | undefined;
  /** pcscd was started for this run (and will be stopped by it). */
  readonly started: boolean;
  /** pcscd runs with the TCP_NODELAY preload (undefined: cannot tell). */
  readonly nodelay: boolean | undefined;
}

/** The full path of an executable on PATH (plus the sbin directories pcscd lives in). */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    if (d === '') continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Ports in LISTEN state on this host (IPv4 and IPv6). */
export function listeningPorts(): Set<number> {
  const out = new Set<number>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== '0A') continue; // TCP_LISTEN
      const port = parseInt(cols[1]?.split(':')[1] ?? '', 16);
      if (Number.isInteger(port)) out.add(port);
    }
  }
  return out;
}

/**
 * vpcd's first ports from the reader configuration (`DEVICENAME /dev/null:0x8C7B` or
 * `CHANNELID 0x8C7B`); each entry also serves the next port (vsmartcard builds two slots).
 */
export function vpcdBasePorts(dir = READER_CONF_DIR): number[] {
  const ports: number[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    return ports;
  }
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(join(dir, f), 'utf8');
    } catch {
      continue;
    }
    if (!/LIBPATH\s+\S*libifdvpcd/.test(text)) continue;
    const m = /CHANNELID\s+(0x[0-9a-f]+|\d+)/i.exec(text) ?? /DEVICENAME\s+\S*:(0x[0-9a-f]+|\d+)/i.exec(text);
    if (m !== null) ports.push(Number(m[1]));
  }
  return ports.sort((a, b) => a - b);
}

/** The vpcd driver library, if installed. */
export function vpcdDriver(): string | undefined {
  for (const p of ['/usr/lib/pcsc/drivers/serial/libifdvpcd.so', '/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so']) {
    if (existsSync(p)) return p;
  }
  return undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running pcscd's PID (from its pid file), if it is alive. */
export function runningPcscd(): number | undefined {
  try {
    // pcscd writes the PID, a newline and a NUL.
    const pid = parseInt(readFileSync(PCSCD_PID_FILE, 'latin1'), 10);
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process runs with the TCP_NODELAY preload (undefined when its environment is unreadable). */
export function hasNodelay(pid: number): boolean | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').some((v) => v.startsWith('LD_PRELOAD=') && v.includes('tcpnodelay'));
  } catch {
    return undefined;
  }
}

/** Builds (if needed) the TCP_NODELAY preload library; its absolute path, or undefined without a compiler. */
export function buildNodelay(): string | undefined {
  const r = spawnSync('sh', [join(REPO, 'test', 'pcsc', 'nodelay', 'build.sh')], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return undefined;
  const path = r.stdout.trim().split('\n').pop();
  return path !== undefined && existsSync(path) ? path : undefined;
}

/** What is missing for the end-to-end tests, as apt packages / npm packages to install. */
export function missingParts(): string[] {
  const missing: string[] = [];
  if (which('pcscd') === undefined) missing.push('pcscd (apt: pcscd)');
  if (vpcdDriver() === undefined) missing.push('the vpcd reader driver (apt: vsmartcard-vpcd)');
  if (which('opensc-tool') === undefined || which('opensc-explorer') === undefined) missing.push('opensc-tool and opensc-explorer (apt: opensc)');
  if (which('scriptor') === undefined) missing.push('scriptor (apt: pcsc-tools)');
  try {
    createRequire(import.meta.url).resolve('pcsclite');
  } catch {
    missing.push('the npm package pcsclite (apt: libpcsclite-dev, then npm install)');
  }
  return missing;
}

async function until(pred: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (pred()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A pcscd this process started; {@link stop} ends it by PID. */
export interface StartedPcscd {
  readonly pid: number;
  readonly nodelay: boolean;
  stop(): Promise<void>;
}

/**
 * Starts `pcscd --foreground` (with the TCP_NODELAY preload when `nodelay`), waits until the
 * vpcd ports listen, and returns how to stop it. Throws with pcscd's own words when it fails.
 */
export async function startPcscd(opts: { nodelay: boolean; ports: readonly number[]; timeoutMs?: number }): Promise<StartedPcscd> {
  const pcscd = which('pcscd');
  if (pcscd === undefined) throw new Error('pcscd is not installed (apt: pcscd)');
  const env: NodeJS.ProcessEnv = { ...process.env };
  let nodelay = false;
  if (opts.nodelay) {
    const lib = buildNodelay();
    if (lib !== undefined) {
      env.LD_PRELOAD = lib;
      nodelay = true;
    }
  } else {
    delete env.LD_PRELOAD;
  }
  const child: ChildProcess = spawn(pcscd, ['--foreground'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  const up = await until(() => exited || opts.ports.every((p) => listeningPorts().has(p)), opts.timeoutMs ?? 5000);
  const pid = child.pid!;
  const stop = async (): Promise<void> => {
    if (exited) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  };
  if (exited || !up) {
    await stop();
    throw new Error(`pcscd did not ${exited ? 'stay up' : `open the vpcd ports ${opts.ports.join(', ')}`}: ${log.trim().split('\n').slice(-3).join(' / ') || '(no output)'}`);
  }
  return { pid, nodelay, stop };
}

/** The vpcd ports to expect: configured first ports and the slot after each. */
function expectedPorts(): number[] {
  const env = process.env.CHIPWRIGHT_VPCD_PORT;
  const bases = env !== undefined && /^\d+$/.test(env) ? [Number(env)] : vpcdBasePorts();
  return bases.length === 0 ? [] : [bases[0]!, bases[0]! + 1];
}

/**
 * Makes the stack usable if it can: uses a running pcscd whose vpcd ports listen, else (as root)
 * starts one. Never throws; `info.reason` says what is missing. `stop` ends what was started.
 */
export async function ensurePcscStack(opts: { start?: boolean; nodelay?: boolean } = {}): Promise<{ info: PcscStackInfo; stop: () => Promise<void> }> {
  const none = async (): Promise<void> => undefined;
  const notReady = (reason: string): { info: PcscStackInfo; stop: () => Promise<void> } => ({
    info: { ready: false, reason, ports: [], pcscdPid: runningPcscd(), started: false, nodelay: undefined },
    stop: none,
  });
  const missing = missingParts();
  if (missing.length > 0) return notReady(`missing ${missing.join('; ')}`);
  const ports = expectedPorts();
  if (ports.length === 0) return notReady(`no vpcd reader is configured in ${READER_CONF_DIR} (reinstall vsmartcard-vpcd, or set CHIPWRIGHT_VPCD_PORT)`);
  const listening = (): boolean => listeningPorts().has(ports[0]!);
  const slots = (): number[] => ports.filter((p) => listeningPorts().has(p));

  if (!listening() && runningPcscd() === undefined && existsSync(PCSCD_SOCKET)) {
    // A socket without a daemon: systemd socket activation. A client connection starts pcscd.
    spawnSync(which('opensc-tool') ?? 'opensc-tool', ['-l'], { stdio: 'ignore', timeout: 5000 });
    await until(listening, 2000);
  }
  if (listening()) {
    const pid = runningPcscd();
    return {
      info: { ready: true, reason: undefined, ports: slots(), pcscdPid: pid, started: false, nodelay: pid === undefined ? undefined : hasNodelay(pid) },
      stop: none,
    };
  }
  const pid = runningPcscd();
  if (pid !== undefined) {
    return notReady(`pcscd (pid ${pid}) is running but no vpcd reader listens on port ${ports[0]}: restart pcscd after installing vsmartcard-vpcd`);
  }
  if (opts.start === false) return notReady('pcscd is not running, and this run does not start it');
  if (process.getuid?.() !== 0) {
    return notReady(`pcscd is not running, and starting it needs root: sudo pcscd --foreground & (see test/pcsc/nodelay/ for the TCP_NODELAY preload)`);
  }
  try {
    const started = await startPcscd({ nodelay: opts.nodelay ?? true, ports });
    return {
      info: { ready: true, reason: undefined, ports: slots(), pcscdPid: started.pid, started: true, nodelay: started.nodelay },
      stop: started.stop,
    };
  } catch (e) {
    return notReady(e instanceof Error ? e.message : String(e));
  }
}

/** CI=true (or 1): missing pieces are failures, not skips. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}
