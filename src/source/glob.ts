/**
 * Which files a `--log` source means: a path, or a glob whose wildcards are in the file name only
 * (`/var/log/relays/*.log`), matched against the directory's names at every look; and which
 * names beside a followed path are its rotated generations (`relay.log.1`, `relay.log-20260101`).
 * The sources' directories are watched (chokidar) only as a hint to look now.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export interface LogSpec {
  /** A path, or a glob whose wildcards (`*`, `?`, `[…]`) are in the file name only. */
  pattern: string;
  /** Relay name for everything read from it; null = from each file's name. */
  relay: string | null;
}

export function hasGlob(p: string): boolean {
  return /[*?[]/.test(path.basename(p));
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re +=
          '[' +
          glob
            .slice(i + 1, end)
            .replace(/^!/, '^')
            .replace(/\\/g, '\\\\') +
          ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The absolute paths a source names now: itself, or the glob's current matches (sorted). */
export function expandSpec(spec: LogSpec): string[] {
  if (!hasGlob(spec.pattern)) return [path.resolve(spec.pattern)];
  const dir = path.resolve(path.dirname(spec.pattern));
  const re = globToRegExp(path.basename(spec.pattern));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

export function isGlobMatchOfAny(file: string, specs: readonly LogSpec[]): boolean {
  for (const s of specs) {
    if (!hasGlob(s.pattern)) continue;
    if (
      path.resolve(path.dirname(s.pattern)) === path.dirname(file) &&
      globToRegExp(path.basename(s.pattern)).test(path.basename(file))
    )
      return true;
  }
  return false;
}

/** `relay-a.log` → `relay-a`; `/var/log/relay/current` → `current`. */
export function relayFromFileName(file: string): string {
  const base = path.basename(file);
  const stripped = base.replace(/(\.\d+)?(\.log|\.txt|\.out)?(\.\d+)?$/, '');
  return stripped === '' ? base : stripped;
}

const COMPRESSED = /\.(gz|xz|bz2|zst|lz4)$/;

/**
 * Paths beside `file` that look like its rotated generations: `relay.log.1`, `relay.log-20260101`
 * (logrotate's numbered and dated names), not compressed ones (they hold nothing unread: a
 * generation is compressed only after the next rotation).
 */
export function rotatedSiblings(file: string): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    if (n.length <= base.length || !n.startsWith(base)) continue;
    const sep = n[base.length];
    if ((sep === '.' || sep === '-') && !COMPRESSED.test(n)) out.push(path.join(dir, n));
  }
  return out;
}

/**
 * Change hints for the sources' directories: any event calls `look` (coalesced to one call per
 * turn of the event loop). Hints only: inotify can overflow and network file systems send
 * nothing, so the tailer's stat poll stays the truth.
 */
export class DirectoryHints {
  private watcher: FSWatcher | null = null;
  private readonly dirs = new Set<string>();
  private queued = false;
  private closed = false;

  constructor(private readonly look: () => void) {}

  /** Watches the directories of `specs` not watched yet. */
  watchDirsOf(specs: readonly LogSpec[]): void {
    if (this.closed) return;
    const added: string[] = [];
    for (const s of specs) {
      const d = path.resolve(path.dirname(s.pattern));
      if (!this.dirs.has(d)) {
        this.dirs.add(d);
        added.push(d);
      }
    }
    if (added.length === 0) return;
    if (this.watcher !== null) {
      this.watcher.add(added);
      return;
    }
    this.watcher = watch(added, { ignoreInitial: true, depth: 0, persistent: false });
    this.watcher.on('all', () => this.queue());
    this.watcher.on('error', () => {
      /* hints only: the stat poll carries on */
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.watcher;
    this.watcher = null;
    await w?.close();
  }

  private queue(): void {
    if (this.queued || this.closed) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      if (!this.closed) this.look();
    });
  }
}
