/**
 * Epoll waits and swarm poll cycles made in-process, as the reactor model would observe them: the
 * timeline sink's test (sink.test.ts) and the page benchmark's --synthetic page (tti-bench.mjs,
 * plain node: hence JavaScript here, the types in synthetic-observations.d.mts) feed them to a
 * TimelineSink without a log. One relay thread ('7') waiting on epoll fd 4.
 */

/** Log time of offset 0: 2022-04-21T22:30:01Z, the e3-micros envelope's start. */
export const T0_SEC = 1_650_580_201;

/** The log time `ns` after T0_SEC, with microsecond digits (an e3-micros timestamp). */
export const logTimeAt = (ns) => ({ sec: T0_SEC + Math.floor(ns / 1e9), nsec: ns % 1e9, digits: 6 });

/** A wait blocked from `startNs` for `durationNs`, ended `endAfterWakeNs` after its wake. */
export function syntheticWait(startNs, durationNs, { endAfterWakeNs, timeoutNs, reason, pos }) {
  return {
    poller: 'epoll',
    fd: 4,
    start: logTimeAt(startNs),
    wake: logTimeAt(startNs + durationNs),
    end: logTimeAt(startNs + durationNs + endAfterWakeNs),
    durationNs,
    gapBeforeNs: null,
    sincePollEndNs: null,
    timeoutNs,
    res: 1,
    reasons: [reason],
    ready: [],
    notifierRearm: null,
    thread: '7',
    threadMismatch: false,
    imprecise: false,
    pos,
  };
}

/** A swarm poll cycle from `startNs` for `durationNs`. */
export function syntheticPoll(startNs, durationNs, ready, pos) {
  return {
    start: logTimeAt(startNs),
    end: logTimeAt(startNs + durationNs),
    durationNs,
    ready,
    thread: '7',
    imprecise: false,
    pos,
  };
}
