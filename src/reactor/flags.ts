/** epoll event masks (Linux include/uapi/linux/eventpoll.h), log-formats.md 6.4. */
const EPOLL_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x40000000, 'ONESHOT'],
  [0x80000000, 'ET'],
  [0x10000000, 'EXCLUSIVE'],
  [0x20000000, 'WAKEUP'],
  [0x2000, 'RDHUP'],
  [0x400, 'MSG'],
  [0x200, 'WRBAND'],
  [0x100, 'WRNORM'],
  [0x80, 'RDBAND'],
  [0x40, 'RDNORM'],
  [0x20, 'NVAL'],
  [0x10, 'HUP'],
  [0x8, 'ERR'],
  [0x4, 'OUT'],
  [0x2, 'PRI'],
  [0x1, 'IN'],
];

/** 0x4000201b → "ONESHOT|RDHUP|HUP|ERR|PRI|IN" (high bits first, as the seed's notes read them). */
export function formatEpollFlags(mask: number): string {
  const names: string[] = [];
  for (const [bit, name] of EPOLL_FLAGS) if ((mask & bit) >>> 0 === bit) names.push(name);
  const known = EPOLL_FLAGS.reduce((m, [b]) => (m | b) >>> 0, 0);
  const rest = (mask & ~known) >>> 0;
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join('|') : '0';
}

/** The metric-friendly flags of a returned mask: in, out, err, hup, rdhup, pri. */
export const READY_FLAG_LABELS: ReadonlyArray<readonly [number, string]> = [
  [0x1, 'in'],
  [0x4, 'out'],
  [0x8, 'err'],
  [0x10, 'hup'],
  [0x2000, 'rdhup'],
  [0x2, 'pri'],
];

/** polling 2.x requests: ONESHOT | read_flags (IN|RDHUP|HUP|ERR|PRI) | write_flags (OUT|HUP|ERR). */
export function requestedMask(readable: boolean, writable: boolean): number {
  return (0x40000000 | (readable ? 0x201b : 0) | (writable ? 0x1c : 0)) >>> 0;
}
