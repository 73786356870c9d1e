/**
 * Records the transports another command creates, for `chipwright record -- <command>`: the
 * methods of the given transport classes (the in-process simulator's, the PC/SC reader's) are
 * wrapped for the duration of one run so every connect, transmit, reset and disconnect goes to a
 * {@link VectorRecorder} as well, then restored.
 *
 * Why patching rather than wrapping: the commands build their own transports, and the CLI has no
 * seam yet through which `record` could hand them a wrapper. Once `CliContext` carries a
 * `wrapTransport` that the commands apply, `record` should use that with a
 * {@link RecordingTransport} and this module can go.
 */
import type { Card } from '../card/os.js';
import type { Transport } from '../transport/types.js';
import type { VectorRecorder } from './recorder.js';

/** A transport class, by its prototype (constructors may be private, as PC/SC's is). */
export interface TransportClass {
  readonly prototype: Transport;
}

export interface InterceptOptions {
  /** Told about the simulated card behind an in-process transport when it is first powered. */
  readonly onCard?: (card: Card) => void;
}

/**
 * Wraps the transport methods of `classes` so they also record into `recorder`; returns the
 * function that restores them. Calls must not overlap (one recorded run at a time).
 */
export function interceptTransports(recorder: VectorRecorder, classes: readonly TransportClass[], opts: InterceptOptions = {}): () => void {
  const restore: (() => void)[] = [];
  for (const cls of classes) {
    const proto = cls.prototype as Transport & { card?: Card };
    const original = { connect: proto.connect, transmit: proto.transmit, reset: proto.reset, disconnect: proto.disconnect };
    proto.connect = async function (this: Transport & { card?: Card }): Promise<Uint8Array> {
      if (this.card !== undefined) opts.onCard?.(this.card);
      const at = recorder.now();
      const atr = await original.connect.call(this);
      recorder.powerOn(atr, at, recorder.now() - at);
      return atr;
    };
    proto.reset = async function (this: Transport): Promise<Uint8Array> {
      const at = recorder.now();
      const atr = await original.reset.call(this);
      recorder.reset(atr, at, recorder.now() - at);
      return atr;
    };
    proto.disconnect = async function (this: Transport): Promise<void> {
      recorder.powerOff();
      await original.disconnect.call(this);
    };
    proto.transmit = async function (this: Transport, apdu: Uint8Array): Promise<Uint8Array> {
      const at = recorder.now();
      let resp: Uint8Array;
      try {
        resp = await original.transmit.call(this, apdu);
      } catch (e) {
        recorder.noAnswer(apdu, e instanceof Error ? e.message : String(e), at, recorder.now() - at);
        throw e;
      }
      recorder.exchange(apdu, resp, at, recorder.now() - at);
      return resp;
    };
    restore.push(() => {
      proto.connect = original.connect;
      proto.transmit = original.transmit;
      proto.reset = original.reset;
      proto.disconnect = original.disconnect;
    });
  }
  return () => {
    for (const r of restore) r();
  };
}
