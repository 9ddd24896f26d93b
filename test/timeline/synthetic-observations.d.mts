// Types of synthetic-observations.mjs (JavaScript, so that plain-node scripts can import it too).
import type { PollCycleObservation, SourcePos, WaitObservation, WakeReason } from '../../src/reactor/observations.js';
import type { LogTime } from '../../src/time.js';

/** Log time of offset 0: 2022-04-21T22:30:01Z, the e3-micros envelope's start. */
export declare const T0_SEC: number;

/** The log time `ns` after T0_SEC, with microsecond digits (an e3-micros timestamp). */
export declare function logTimeAt(ns: number): LogTime;

/** A wait on epoll fd 4 by thread '7', blocked from `startNs` for `durationNs`, ended `endAfterWakeNs` after its wake. */
export declare function syntheticWait(
  startNs: number,
  durationNs: number,
  opts: { endAfterWakeNs: number; timeoutNs: number | null | undefined; reason: WakeReason; pos: SourcePos },
): WaitObservation;

/** A swarm poll cycle of thread '7' from `startNs` for `durationNs`. */
export declare function syntheticPoll(
  startNs: number,
  durationNs: number,
  ready: boolean | null,
  pos: SourcePos,
): PollCycleObservation;
