// Plain-text rendering of a ReplayReport for a terminal (`pollscope replay` without --json).

import { STALL_KINDS, WAKE_REASONS } from '../reactor/observations.js';
import { formatDuration } from '../time.js';
import type { DistributionSummary } from './quantiles.js';
import { formatConnections } from './connections-report.js';
import { LIST_ALL_WAITS, type ReplayReport, type WaitDetail } from './report.js';

const d = (ns: number | null | undefined): string => (ns === null || ns === undefined ? '—' : formatDuration(ns));

function dist(s: DistributionSummary | null): string {
  if (s === null) return 'none';
  return `n=${s.count}  p50 ${d(s.p50Ns)}  p90 ${d(s.p90Ns)}  p99 ${d(s.p99Ns)}  max ${d(s.maxNs)}`;
}

/** Plain-text report for a terminal. */
export function formatReport(r: ReplayReport): string {
  const out: string[] = [];
  formatInput(r, out);
  out.push('');
  formatWaits(r, out);
  out.push('');
  formatPollCycles(r, out);
  out.push('');
  formatStalls(r, out);
  formatNotes(r, out);
  return out.join('\n') + '\n';
}

function formatInput(r: ReplayReport, out: string[]): void {
  const total = r.lines.decoded + r.lines.ignored + r.lines.malformed + r.lines.oversize;
  out.push('pollscope replay');
  for (const f of r.files) {
    out.push(
      `  ${f.path}: ${f.lines} lines, ${f.envelope ?? 'no known layout'}` +
        (f.firstTime ? `, ${f.firstTime} … ${f.lastTime}` : '') +
        (f.timestampDigits !== null ? `, ${f.timestampDigits}-digit timestamps` : ''),
    );
  }
  out.push('');
  out.push(
    `Lines: ${total}  decoded ${r.lines.decoded}  ignored ${r.lines.ignored}  malformed ${r.lines.malformed}  oversize ${r.lines.oversize}`,
  );
  const targets = Object.entries(r.lines.byTarget);
  for (const [t, c] of targets.slice(0, 15)) {
    out.push(
      `  ${t.padEnd(40)} ${String(c.decoded + c.ignored).padStart(9)}  ${c.decoded ? `decoded by ${c.decoder}` : 'ignored'}`,
    );
  }
  if (targets.length > 15) out.push(`  … ${targets.length - 15} more targets (--json lists all)`);
  for (const p of r.problems.slice(0, 5)) out.push(`  ! ${p.file}:${p.line}: ${p.reason}`);
}

function formatWaits(r: ReplayReport, out: string[]): void {
  const waitNotes = [
    r.waits.startUnknown && `${r.waits.startUnknown} with start not in the log`,
    r.waits.belowTimestampResolution && `${r.waits.belowTimestampResolution} shorter than the timestamp resolution`,
  ].filter(Boolean);
  out.push(`Epoll waits: ${r.waits.count}` + (waitNotes.length ? ` (${waitNotes.join(', ')})` : ''));
  out.push(`  latency (start → wake): ${dist(r.waits.latency)}`);
  const reasons = WAKE_REASONS.filter((k) => r.wakeups[k] > 0).map((k) => `${k} ${r.wakeups[k]}`);
  out.push(`  wakeups by reason: ${reasons.length ? reasons.join(', ') : 'none'}`);
  const flags = Object.entries(r.readyEvents)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  if (flags.length) out.push(`  ready events by flag: ${flags.join(', ')}`);
  if (r.waits.notable.length) {
    out.push(r.waits.count <= LIST_ALL_WAITS ? '  waits:' : `  longest waits:`);
    for (const w of r.waits.notable) out.push(...formatWait(w));
  }
}

function formatPollCycles(r: ReplayReport, out: string[]): void {
  out.push(
    `Swarm poll cycles: ${r.pollCycles.count}  (ready ${r.pollCycles.ready}, pending ${r.pollCycles.pending}` +
      (r.pollCycles.unknown ? `, not logged ${r.pollCycles.unknown}` : '') +
      ')',
  );
  out.push(`  duration: ${dist(r.pollCycles.duration)}`);
  if (r.pollCycles.lastEnd) {
    out.push(
      `  last poll ended ${r.pollCycles.lastEnd}` +
        (r.pollCycles.lastEndReady === null ? '' : ` (${r.pollCycles.lastEndReady ? 'Ready' : 'Pending'})`),
    );
  }
  out.push(`  wake → poll delay: ${dist(r.wakeToPoll)}`);
  if (r.connections !== null) {
    out.push('');
    out.push(...formatConnections(r.connections));
  }
}

function formatStalls(r: ReplayReport, out: string[]): void {
  const sc = STALL_KINDS.map((k) => `${k} ${r.stalls.counts[k]}`).join(', ');
  out.push(`Stalls: ${sc}`);
  for (const s of r.stalls.list.slice(0, 50)) {
    out.push(`  ${s.kind.padEnd(12)} ${s.start}  ${d(s.durationNs).padStart(12)}  ${s.at}  ${s.detail}`);
  }
  if (r.stalls.list.length > 50) out.push(`  … ${r.stalls.list.length - 50} more (--json lists them)`);

  if (r.unfinished.length) {
    out.push('');
    out.push('Unfinished at end of input (not stalls):');
    for (const u of r.unfinished) {
      out.push(
        `  ${u.what.padEnd(10)} since ${u.since}, followed by ${d(u.followedByNs)} of log  ${u.at}  ${u.detail}`,
      );
    }
  }
}

function formatNotes(r: ReplayReport, out: string[]): void {
  const m = r.model;
  const odd = [
    m.waitStartsWithoutEnd && `${m.waitStartsWithoutEnd} wait starts without an end`,
    m.pollEndsWithoutStart && `${m.pollEndsWithoutStart} poll ends without a start`,
    m.pollStartsWithoutEnd && `${m.pollStartsWithoutEnd} poll starts without an end`,
    m.threadMismatches && `${m.threadMismatches} waits started and ended on different threads`,
    m.clockJumpsBack &&
      `log time went back by more than 1 s ${m.clockJumpsBack} time(s) (clock set back, or logs joined out of order); followed`,
    m.clockJumpsForward &&
      `log time jumped ahead by more than a day ${m.clockJumpsForward} time(s); followed, nothing measured across a jump`,
    m.clockOutliers && `${m.clockOutliers} line(s) dated far from the lines around them: their time was not used`,
  ].filter(Boolean);
  if (odd.length || r.warnings.length) out.push('');
  if (odd.length) out.push(`Notes: ${odd.join('; ')}`);
  for (const w of r.warnings) out.push(`Warning: ${w}`);
}

function formatWait(w: WaitDetail): string[] {
  const lines: string[] = [];
  const head = w.start
    ? `    epoll_fd ${w.fd}: ${w.start} → woke ${w.wake} (${d(w.durationNs)})`
    : `    epoll_fd ${w.fd}: start not in the log (${d(w.gapBeforeNs)} quiet before the wake) → woke ${w.wake}`;
  lines.push(
    `${head}, ended ${w.end}, res=${w.res ?? '?'}, timeout ${w.timeout}, ${w.at}${w.thread ? `, thread ${w.thread}` : ''}`,
  );
  const why = w.ready.length
    ? w.ready
        .map(
          (e) =>
            `${e.key === 'NOTIFY_KEY' ? 'key usize::MAX (eventfd/timerfd)' : `key ${e.key}`}${e.fd !== null ? ` (fd ${e.fd})` : ''} with ${e.flags}`,
        )
        .join('; ')
    : '';
  lines.push(`      woken by ${w.reasons.join('+')}${why ? `: ${why}` : ''}`);
  if (w.notifierRearm) {
    lines.push(
      `      notifier${w.notifierRearm.fd !== null ? ` fd ${w.notifierRearm.fd}` : ''} re-armed with ${w.notifierRearm.flags ?? 'flags not logged'}${w.notifierRearm.mask ? ` (${w.notifierRearm.mask})` : ''}`,
    );
  }
  if (w.sincePollEndNs !== null)
    lines.push(`      swarm idle for ${d(w.sincePollEndNs)} before this wake (since its last poll ended)`);
  return lines;
}
