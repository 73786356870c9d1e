/**
 * One INS, several protocols. MANAGE SECURITY ENVIRONMENT (22) serves PACE (P1-P2 C1A4), Chip
 * Authentication (41A6, 41A4 with a CA OID) and the key store (41B6 DST, 41B8 CT, 41A4 AT);
 * GENERAL AUTHENTICATE (86) serves PACE and Chip Authentication; INTERNAL AUTHENTICATE (88)
 * serves Active Authentication and client authentication. ISO/IEC 7816-4 §5.4 tells them apart by
 * P1-P2 and by the security environment an earlier MSE set up — so do the routes here, while each
 * protocol keeps its own frozen INS table (STYLE principle 4).
 *
 * - {@link routeIns} builds one handler from routes tried in order; the first whose `when` holds
 *   answers, its `access` and `run` are used. No route → 6A86 (or the `otherwise` status word).
 * - {@link composeTables} merges INS tables; an INS defined by several tables is routed. A handler
 *   states when it is meant with a `when` predicate ({@link RoutedHandler}); at most one handler of
 *   an INS may have none, and it is tried last — so a protocol written without routing in mind
 *   (PACE) keeps answering everything the others do not claim, exactly as before.
 * - {@link lastRoute}: the handler a routed INS was last given to on a channel. A GENERAL
 *   AUTHENTICATE belongs to the protocol whose MSE came last: Chip Authentication asks
 *   `lastRoute(channel, 0x22)` whether its MSE:Set AT is still the current one.
 *
 * Predicates must be pure: the OS asks a routed handler for `access` and then `run`, and each
 * call routes again from the same command and state.
 *
 * Chaining flags: the routed handler is step-chained (GENERAL AUTHENTICATE, `stepChaining`) when
 * any route is; a chained command for a route that is not then answers 6884. Routes that let the
 * OS collect chains (`chaining`) cannot be mixed with step-chained ones (an error when building),
 * and `personalization` must agree.
 *
 * @example
 * const commands = composeTables(paceCommands(passwords), chipAuthCommands(ca), activeAuthCommands(aa), keyStoreCommands());
 */
import { SW, StatusWordError } from '../apdu/status.js';
import type { CommandApdu } from '../apdu/command.js';
import { insName } from '../apdu/ins.js';
import type { Channel } from './channel.js';
import type { CommandContext } from './context.js';
import { defineInsTable, type AccessTarget, type CommandHandler, type HandlerResult, type InsTable } from './dispatch.js';
import type { FileNode } from './fs/file.js';

/** Decides from the command and the channel's state whether a route is meant. Pure. */
export type RoutePredicate = (cmd: CommandApdu, ctx: CommandContext) => boolean;

/** One protocol's handler for an INS and when it is meant. */
export interface Route {
  readonly when: RoutePredicate;
  readonly handler: CommandHandler;
}

/** A handler that knows when it is meant, for {@link composeTables}. */
export interface RoutedHandler extends CommandHandler {
  readonly when?: RoutePredicate;
}

export interface RouteOptions {
  /** Name of the routed handler (traces). */
  readonly name: string;
  /** Status word when no route holds (default 6A86, incorrect P1-P2). */
  readonly otherwise?: number;
}

const last = new WeakMap<Channel, Map<number, CommandHandler>>();

/**
 * The handler a routed INS was last run with on `channel`, or `undefined` (never routed there, or
 * the INS is not routed because one table alone defines it).
 *
 * @example lastRoute(ctx.channel, INS.MANAGE_SECURITY_ENVIRONMENT) === CA_MSE
 */
export function lastRoute(channel: Channel, ins: number): CommandHandler | undefined {
  return last.get(channel)?.get(ins);
}

/**
 * A handler that gives each command to the first route whose `when` holds.
 *
 * @example routeIns('INTERNAL AUTHENTICATE', { when: isClientAuth, handler: CLIENT_AUTH }, { when: () => true, handler: AA })
 */
export function routeIns(nameOrOptions: string | RouteOptions, ...routes: readonly Route[]): CommandHandler {
  const opts: RouteOptions = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions;
  if (routes.length === 0) throw new Error(`routeIns(${opts.name}): no routes`);
  const stepChaining = routes.some((r) => r.handler.stepChaining === true);
  const chaining = routes.some((r) => r.handler.chaining === true);
  if (stepChaining && chaining) {
    throw new Error(`routeIns(${opts.name}): step-chained and OS-chained handlers (${routes.map((r) => r.handler.name).join(', ')}) cannot share an INS`);
  }
  const personalization = routes[0]!.handler.personalization === true;
  if (routes.some((r) => (r.handler.personalization === true) !== personalization)) {
    throw new Error(`routeIns(${opts.name}): personalization and other commands cannot share an INS`);
  }
  const pick = (cmd: CommandApdu, ctx: CommandContext): Route => {
    for (const r of routes) if (r.when(cmd, ctx)) return r;
    throw new StatusWordError(opts.otherwise ?? SW.INCORRECT_P1P2, `${opts.name}: no protocol here takes P1-P2 ${hex2(cmd.p1)}${hex2(cmd.p2)} now`);
  };
  const anyAccess = routes.some((r) => r.handler.access !== undefined);
  const handler: CommandHandler = {
    name: opts.name,
    // Meant when one of its routes is: otherwise the OS may look past this table.
    when: (cmd: CommandApdu, ctx: CommandContext): boolean => routes.some((r) => r.when(cmd, ctx)),
    ...(stepChaining ? { stepChaining: true } : {}),
    ...(chaining ? { chaining: true } : {}),
    ...(personalization ? { personalization: true } : {}),
    ...(anyAccess
      ? {
          access: (cmd: CommandApdu, ctx: CommandContext): AccessTarget | undefined => pick(cmd, ctx).handler.access?.(cmd, ctx),
        }
      : {}),
    run: (cmd: CommandApdu, ctx: CommandContext, target: FileNode | undefined): HandlerResult => {
      const r = pick(cmd, ctx);
      let m = last.get(ctx.channel);
      if (m === undefined) {
        m = new Map();
        last.set(ctx.channel, m);
      }
      m.set(cmd.ins, r.handler);
      if (stepChaining && cmd.cla.chaining && r.handler.stepChaining !== true) {
        throw new StatusWordError(SW.CHAINING_NOT_SUPPORTED, `${r.handler.name} does not take chained commands`);
      }
      return r.handler.run(cmd, ctx, target);
    },
  };
  return handler;
}

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

const ALWAYS_ROUTE: RoutePredicate = () => true;

/**
 * Merges INS tables into one frozen table. An INS in one table keeps its handler; an INS in
 * several is routed ({@link routeIns}) over the handlers' `when` predicates in table order, the one
 * handler without `when` (if any) last. Two handlers of an INS without `when` are a programming
 * error, as a duplicate INS is for `defineInsTable`.
 *
 * @example composeTables(paceCommands(source), chipAuthCommands(config))
 */
export function composeTables(...tables: readonly InsTable[]): InsTable {
  const byIns = new Map<number, RoutedHandler[]>();
  for (const t of tables) {
    for (const [k, v] of Object.entries(t)) {
      if (v === undefined) continue;
      const ins = Number(k);
      const list = byIns.get(ins) ?? [];
      list.push(v);
      byIns.set(ins, list);
    }
  }
  const entries: [number, CommandHandler][] = [];
  for (const [ins, handlers] of byIns) {
    if (handlers.length === 1) {
      entries.push([ins, handlers[0]!]);
      continue;
    }
    const open = handlers.filter((h) => h.when === undefined);
    if (open.length > 1) {
      throw new Error(`composeTables: INS ${hex2(ins)} is defined by ${open.map((h) => h.name).join(' and ')} without a route predicate (when)`);
    }
    const routes: Route[] = handlers.filter((h) => h.when !== undefined).map((h) => ({ when: h.when!, handler: h }));
    if (open.length === 1) routes.push({ when: ALWAYS_ROUTE, handler: open[0]! });
    entries.push([ins, routeIns(insName(ins), ...routes)]);
  }
  return defineInsTable(...entries);
}
