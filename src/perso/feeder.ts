/**
 * A card feeder for a virtual reader: blank simulated cards of a profile, one after another, in
 * one slot of pcscd's vpcd reader — what a stack of blank cards in a real encoder's hopper is for
 * `chipwright batch --reader`. The card in the slot stays until it has been personalized (its life
 * cycle is operational) and the host has left it alone for `idleMs`; then it is taken out (TCP
 * connection closed: vpcd reports the slot empty), handed to `onDone`, and after `gapMs` — long
 * enough for pcscd to see the slot empty, as `batch` waits for that before the next card — the next
 * blank card goes in. A card still blank is never taken out.
 *
 * @example
 * const feeder = new VpcdCardFeeder({ profile, port: 35963, onDone: (card) => saveCardImage(card, `${dir}/${n++}.json`) });
 * feeder.start(); … await feeder.close();
 */
import type { Card } from '../card/os.js';
import { VpcdCardServer, type VpcdEvent } from '../transport/vpcd.js';
import { createBlankCard } from './applications.js';
import type { OperatorKeys } from './operator-keys.js';
import type { Profile } from './profile.js';

export interface FeederOptions {
  readonly profile: Profile;
  readonly operatorKeys?: OperatorKeys;
  /** vpcd slot address (default 127.0.0.1:35963). */
  readonly host?: string;
  readonly port?: number;
  /** Quiet time after the card became operational before it is taken out (default 150 ms). */
  readonly idleMs?: number;
  /** Time the slot stays empty between cards (default 700 ms; pcscd polls vpcd's slots at 400 ms). */
  readonly gapMs?: number;
  /** Stop after this many cards (default: no limit). */
  readonly count?: number;
  /** A personalized card, just taken out. */
  readonly onDone?: (card: Card, index: number) => void;
  readonly onEvent?: (event: VpcdEvent | { readonly type: 'inserted' | 'removed'; readonly index: number }) => void;
}

/** Feeds blank cards into one vpcd slot (module comment). */
export class VpcdCardFeeder {
  private server: VpcdCardServer | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private gapTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private index = 0;
  private done = 0;
  private settle!: () => void;
  /** Resolves when the feeder stops: after {@link close}, or after `count` cards. */
  readonly finished: Promise<void>;

  constructor(private readonly opts: FeederOptions) {
    this.finished = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  /** Cards personalized and taken out so far. */
  get fed(): number {
    return this.done;
  }

  /** Inserts the first blank card (returns at once). */
  start(): this {
    this.insert();
    return this;
  }

  /** Takes the card in the slot out (personalized or not) and stops. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.gapTimer);
    await this.server?.close();
    this.server = undefined;
    this.settle();
  }

  private insert(): void {
    if (this.closed) return;
    const card = createBlankCard(this.opts.profile, this.opts.operatorKeys !== undefined ? { operatorKeys: this.opts.operatorKeys } : {});
    const index = this.index++;
    const server = new VpcdCardServer(card, {
      ...(this.opts.host !== undefined ? { host: this.opts.host } : {}),
      ...(this.opts.port !== undefined ? { port: this.opts.port } : {}),
      afterCommand: () => this.watch(card, index),
      ...(this.opts.onEvent !== undefined ? { onEvent: this.opts.onEvent } : {}),
    });
    this.server = server;
    server.start();
    this.opts.onEvent?.({ type: 'inserted', index });
  }

  /** After each command: once the card is operational, take it out when the host goes quiet. */
  private watch(card: Card, index: number): void {
    clearTimeout(this.idleTimer);
    if (card.state.lifeCycle !== 'operational') return;
    this.idleTimer = setTimeout(() => void this.remove(card, index), this.opts.idleMs ?? 150);
  }

  private async remove(card: Card, index: number): Promise<void> {
    const server = this.server;
    if (this.closed || server === undefined || server.card !== card) return;
    this.server = undefined;
    await server.close();
    this.done++;
    this.opts.onEvent?.({ type: 'removed', index });
    this.opts.onDone?.(card, index);
    if (this.opts.count !== undefined && this.done >= this.opts.count) {
      await this.close();
      return;
    }
    this.gapTimer = setTimeout(() => this.insert(), this.opts.gapMs ?? 700);
  }
}
