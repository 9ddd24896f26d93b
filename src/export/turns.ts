/**
 * Turn grouping (docs/spans.md, "One trace per reactor turn"): one relay's observations sorted
 * into reactor turns — a wait's start to the next wait's start on the same epoll fd. The grouper
 * only places observations; what a closed turn becomes (kept or dropped, spans, forwarding) is
 * the trace sink's business, through the `close` callback.
 */
import type {
  PollCycleObservation,
  StallObservation,
  UnfinishedObservation,
  WaitObservation,
  WakeToPollObservation,
} from '../reactor/observations.js';
import { addNs, compareTime, type LogTime } from '../time.js';
import { IdTag, type FileIds } from './trace-ids.js';

export interface PollItem {
  obs: PollCycleObservation;
  delay: WakeToPollObservation | null;
  stall: StallObservation | null;
  spanId: string;
}

/** One reactor turn on an epoll fd, while it is open. */
export class Turn {
  polls: PollItem[] = [];
  /** Wake→poll delays whose poll cycle has not ended yet (or was not seen). */
  delays: WakeToPollObservation[] = [];
  stalls: StallObservation[] = [];
  unfinished: UnfinishedObservation[] = [];
  /** Poll cycles past maxSpansPerTrace: passed on at once, counted on the root. */
  pollsOmitted = 0;
  /** Latest log time any observation of the turn reached (the end of a turn closed by end of input). */
  last: LogTime;

  constructor(
    readonly wait: WaitObservation,
    readonly start: LogTime,
    readonly ids: FileIds,
    readonly traceId: string,
    public prev: Turn | null,
  ) {
    this.last = wait.end;
  }

  get rootSpanId(): string {
    return this.ids.spanId(this.wait.pos.offset, IdTag.Turn);
  }

  /** Spans the turn makes when exported (root, wait, poll cycles, stalls of their own). */
  get spanCount(): number {
    return 2 + this.polls.length + this.stalls.length;
  }

  see(t: LogTime): void {
    if (compareTime(t, this.last) > 0) this.last = t;
  }
}

/** Where an observation went: into an open turn, nowhere (no turn yet), or past the per-trace bound. */
export type Placement = 'held' | 'no_turn' | 'over_limit';

export class TurnGrouper {
  private readonly turns = new Map<number, Turn>();
  /** Last turn per fd, open or closed: the next turn links to its root (ids made only if it is exported). */
  private readonly lastTurn = new Map<number, Turn>();
  private current: Turn | null = null;

  constructor(
    /** Spans in one trace at most (poll cycles and stalls past it are not held). */
    private readonly maxSpansPerTrace: number,
    private readonly idsFor: (file: string) => FileIds,
    /** A turn is complete: decide it and pass its observations on. */
    private readonly close: (turn: Turn, end: LogTime) => void,
  ) {}

  /** A wait opens a turn on its fd and closes the one open there. */
  wait(w: WaitObservation): LogTime {
    const start = turnStart(w);
    const ids = this.idsFor(w.pos.file);
    const open = this.turns.get(w.fd);
    const turn = new Turn(w, start, ids, ids.traceId(w.pos.offset), this.lastTurn.get(w.fd) ?? null);
    this.lastTurn.set(w.fd, turn);
    this.turns.set(w.fd, turn);
    if (open !== undefined) {
      // Poll cycles (and what goes with them) that began after this wait began belong to the new turn.
      moveLate(open, turn);
      this.closeTurn(open, start);
    }
    this.current = turn;
    return start;
  }

  pollCycle(p: PollCycleObservation): Placement {
    const turn = this.turnAt(p.start);
    if (turn === null) return 'no_turn';
    turn.see(p.end);
    if (turn.polls.length + 2 >= this.maxSpansPerTrace) {
      turn.pollsOmitted++;
      return 'over_limit';
    }
    let delay: WakeToPollObservation | null = null;
    for (let i = turn.delays.length - 1; i >= 0; i--) {
      if (turn.delays[i].pos.offset === p.pos.offset && turn.delays[i].pos.file === p.pos.file) {
        delay = turn.delays[i];
        turn.delays.splice(i, 1);
        break;
      }
    }
    const ids = p.pos.file === turn.wait.pos.file ? turn.ids : this.idsFor(p.pos.file);
    turn.polls.push({ obs: p, delay, stall: null, spanId: ids.spanId(p.pos.offset, IdTag.Poll) });
    return 'held';
  }

  /** Held only while its poll cycle may still come into the turn's spans (bounded like them). */
  wakeToPoll(d: WakeToPollObservation): boolean {
    const turn = this.turnAt(d.pollStart);
    if (turn === null || turn.delays.length >= this.maxSpansPerTrace) return false;
    turn.see(d.pollStart);
    turn.delays.push(d);
    return true;
  }

  stall(s: StallObservation): Placement {
    const isPollStall = s.kind === 'slow_poll' || s.kind === 'blocked_poll';
    const turn = this.turnAt(isPollStall ? s.start : s.end);
    if (turn === null) return 'no_turn';
    turn.see(s.end);
    if (isPollStall) {
      // Reported right after its poll cycle: mark that cycle's span.
      for (let i = turn.polls.length - 1; i >= 0; i--) {
        const item = turn.polls[i];
        if (item.obs.pos.offset === s.pos.offset && item.obs.pos.file === s.pos.file) {
          item.stall = s;
          return 'held';
        }
      }
    }
    if (turn.stalls.length + turn.polls.length + 2 >= this.maxSpansPerTrace) return 'over_limit';
    turn.stalls.push(s);
    return 'held';
  }

  unfinished(u: UnfinishedObservation): boolean {
    const turn = (u.fd !== undefined ? this.turns.get(u.fd) : undefined) ?? this.turnAt(u.since);
    if (turn === null) return false;
    turn.unfinished.push(u);
    return true;
  }

  /** End of input: close every open turn at the last log time it reached. */
  closeAll(): void {
    for (const turn of this.turns.values()) this.closeTurn(turn, turn.last);
    this.turns.clear();
    this.current = null;
  }

  private closeTurn(turn: Turn, end: LogTime): void {
    this.close(turn, compareTime(end, turn.start) < 0 ? turn.start : end);
    turn.prev = null; // only the open turn's predecessor is needed: no chain of closed turns is kept
  }

  /** The open turn an observation at `t` belongs to: the latest-starting one that began by then. */
  private turnAt(t: LogTime): Turn | null {
    if (this.turns.size <= 1) return this.current;
    let best: Turn | null = null;
    for (const turn of this.turns.values()) {
      if (compareTime(turn.start, t) <= 0 && (best === null || compareTime(turn.start, best.start) > 0)) best = turn;
    }
    return best ?? this.current;
  }
}

/** A wait whose start was not logged: its turn starts at the quiet time before the wake, else the wake. */
export function turnStart(w: WaitObservation): LogTime {
  if (w.start !== null) return w.start;
  if (w.gapBeforeNs !== null && w.gapBeforeNs > 0) return addNs(w.wake, -w.gapBeforeNs);
  return w.wake;
}

/** What began at or after `to` started, in `from`, belongs to `to`. */
function moveLate(from: Turn, to: Turn): void {
  const s = to.start;
  if (from.polls.length > 0 && compareTime(from.polls[from.polls.length - 1].obs.start, s) >= 0) {
    const keep: PollItem[] = [];
    for (const item of from.polls) {
      if (compareTime(item.obs.start, s) >= 0) {
        to.polls.push(item);
        to.see(item.obs.end);
      } else keep.push(item);
    }
    from.polls = keep;
  }
  if (from.delays.length > 0) {
    const keep: WakeToPollObservation[] = [];
    for (const d of from.delays) (compareTime(d.pollStart, s) >= 0 ? to.delays : keep).push(d);
    from.delays = keep;
  }
  if (from.stalls.length > 0) {
    const keep: StallObservation[] = [];
    // A starved stall goes with the late poll that ended it; a silence with where it began.
    for (const st of from.stalls)
      (compareTime(st.kind === 'silent' ? st.start : st.end, s) >= 0 &&
      st.kind !== 'slow_poll' &&
      st.kind !== 'blocked_poll'
        ? to.stalls
        : keep
      ).push(st);
    from.stalls = keep;
  }
}
