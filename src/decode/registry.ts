/**
 * Which decoders read which target. Per line: one Map lookup by target, then each decoder of that
 * target in order until one recognises the message (each starts with charCodeAt/startsWith).
 */
import type { Decoder, ReactorEventSink } from './events.js';
import type { LogRecord } from '../parse/record.js';
import { AsyncIoDecoder } from './async-io.js';
import { PollingForkDecoder } from './polling-fork.js';
import { Polling2Decoder } from './polling2.js';
import { Polling3Decoder } from './polling3.js';
import { SwarmDecoder } from './swarm.js';
import { ConnectionContexts, Libp2pDecoder, SpanContextDecoder } from './libp2p.js';

/** A decoder that keeps state between lines (FmtSpan pairing, fork react counts). */
interface Resettable {
  reset(): void;
}

/**
 * Fresh decoder instances, in the order they are tried for a shared target: polling 2.x before the
 * fork (upstream logs are the common case; the fork's `:+`/`:-` shapes fail 2.x's prefix checks at
 * once), polling 3.x last on the polling targets.
 */
export function createDecoders(contexts = new ConnectionContexts()): Decoder[] {
  return [
    new Polling2Decoder(),
    new PollingForkDecoder(),
    new Polling3Decoder(),
    new AsyncIoDecoder(),
    new SwarmDecoder(),
    new Libp2pDecoder(contexts),
  ];
}

/** The default decoder set. Some decoders keep per-run state: use a DecoderRegistry (or createDecoders) per run. */
export const DECODERS: readonly Decoder[] = createDecoders();

const NONE: readonly Decoder[] = [];
/** Distinct unknown targets remembered; past this an unknown target costs a walk of its `::` prefixes. */
const MAX_CACHED_TARGETS = 4096;

export class DecoderRegistry {
  private readonly byTarget = new Map<string, readonly Decoder[]>();
  private readonly exact = new Map<string, readonly Decoder[]>();
  readonly decoders: readonly Decoder[];

  /**
   * Tried for a line with a span context that its target's decoders did not recognise (any
   * target): a line inside a libp2p connection's root span is that connection's activity.
   */
  readonly context: Decoder;

  constructor(decoders?: readonly Decoder[]) {
    const contexts = new ConnectionContexts();
    decoders ??= createDecoders(contexts);
    this.context = new SpanContextDecoder(contexts);
    this.decoders = decoders;
    for (const d of decoders) {
      for (const t of d.targets) this.exact.set(t, [...(this.exact.get(t) ?? NONE), d]);
    }
    for (const [t, ds] of this.exact) this.byTarget.set(t, ds);
  }

  /**
   * Decoders for `target`, or undefined when none reads it. A module path below a known target
   * (env_logger ≤0.8 shows the module path: `async_io::reactor::unix`, `polling::epoll::x`) falls
   * back to its longest known `::` prefix; the answer is cached per target.
   */
  forTarget(target: string): readonly Decoder[] | undefined {
    let ds = this.byTarget.get(target);
    if (ds === undefined) ds = this.resolve(target);
    return ds.length === 0 ? undefined : ds;
  }

  /**
   * Runs the decoders of `rec.target`: true if one recognised the record, false if none did,
   * undefined if no decoder reads the target (the caller counts the line as ignored either way).
   */
  decode(rec: LogRecord, sink: ReactorEventSink): boolean | undefined {
    let ds = this.byTarget.get(rec.target);
    if (ds === undefined) ds = this.resolve(rec.target);
    if (ds.length === 0) return undefined;
    for (let i = 0; i < ds.length; i++) if (ds[i].decode(rec, sink)) return true;
    return false;
  }

  /** Forget per-run decoder state (before reading an unrelated log). */
  reset(): void {
    for (const d of this.decoders) {
      const r = d as Partial<Resettable>;
      if (typeof r.reset === 'function') r.reset();
    }
  }

  private resolve(target: string): readonly Decoder[] {
    let ds: readonly Decoder[] = NONE;
    let end = target.lastIndexOf('::');
    while (end > 0) {
      const found = this.exact.get(target.slice(0, end));
      if (found !== undefined) {
        ds = found;
        break;
      }
      end = target.lastIndexOf('::', end - 1);
    }
    // Copy the key: a record's target may be a slice of a large chunk string it would keep alive.
    if (this.byTarget.size < MAX_CACHED_TARGETS) this.byTarget.set(Buffer.from(target, 'utf8').toString('utf8'), ds);
    return ds;
  }
}
