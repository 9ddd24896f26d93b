/**
 * Which decoders read which target. Per line: one Map lookup by target, then each decoder of that
 * target in order until one recognises the message (each starts with charCodeAt/startsWith).
 */
import type { Decoder } from './events.js';
import { AsyncIoDecoder } from './async-io.js';
import { PollingForkDecoder } from './polling-fork.js';
import { Polling2Decoder } from './polling2.js';
import { Polling3Decoder } from './polling3.js';
import { SwarmDecoder } from './swarm.js';
import { ConnectionContexts, Libp2pDecoder, SpanContextDecoder } from './libp2p.js';

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

const NONE: readonly Decoder[] = [];
/** Distinct unknown targets remembered; past this an unknown target costs a walk of its `::` prefixes. */
const MAX_CACHED_TARGETS = 4096;

/**
 * One run's decoders by target. Decoders keep state between lines (FmtSpan pairing, fork react
 * counts, connection span contexts), so each run (each relay's Ingest) makes its own registry.
 */
export class DecoderRegistry {
  private readonly byTarget = new Map<string, readonly Decoder[]>();
  private readonly exact = new Map<string, readonly Decoder[]>();

  /**
   * Tried for a line with a span context that its target's decoders did not recognise (any
   * target): a line inside a libp2p connection's root span is that connection's activity.
   */
  readonly context: Decoder;

  constructor() {
    // One ConnectionContexts for the libp2p decoder and the span-context fallback: the
    // connections the one sees opening are the ones the other attributes lines to.
    const contexts = new ConnectionContexts();
    this.context = new SpanContextDecoder(contexts);
    for (const d of createDecoders(contexts)) {
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
