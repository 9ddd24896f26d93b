/**
 * Running without Docker: the systemd unit (systemd-analyze verify and its offline security
 * assessment) and the logrotate example (a real logrotate rotating a real file twice).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTool, repo, tool } from './support.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-host-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const UNIT = 'deploy/systemd/pollscope.service';
const unitText = readFileSync(repo(UNIT), 'utf8');

/** Key → values of the unit's [Service] section (continuation lines joined). */
function serviceSection(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const line of unitText.replace(/\\\n\s*/g, ' ').split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (section === 'Service' && kv) out.set(kv[1], [...(out.get(kv[1]) ?? []), kv[2]]);
  }
  return out;
}

describe('deploy/systemd/pollscope.service', () => {
  const service = serviceSection();
  const one = (k: string) => service.get(k)?.at(-1);

  it("runs `pollscope run` with the daemon's flags, metrics on loopback", () => {
    const exec = one('ExecStart')!.split(/\s+/);
    expect(exec.slice(0, 3)).toEqual(['/usr/bin/node', '/opt/pollscope/dist/cli.js', 'run']);
    const flag = (name: string) => exec[exec.indexOf(name) + 1];
    for (const f of ['--log', '--relay', '--metrics-listen', '--otlp-endpoint', '--checkpoint'])
      expect(exec, f).toContain(f);
    expect(flag('--metrics-listen')).toBe('127.0.0.1:9464');
    expect(path.dirname(flag('--checkpoint'))).toBe(`/var/lib/${one('StateDirectory')}`);
    expect(new URL(flag('--otlp-endpoint')).hostname).toBe('127.0.0.1');
  });

  it('is locked down: DynamicUser, read-only system, no new privileges, memory cap, restart policy', () => {
    expect(one('DynamicUser')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('MemoryMax')).toMatch(/^\d+M$/);
    expect(one('Restart')).toBe('on-failure');
    expect(one('CapabilityBoundingSet')).toBe('');
  });

  it("the header's build command installs tsc before building and matches docs/deploy.md", () => {
    // `npm ci --omit=dev && npm run build` fails: tsc comes from typescript, a dev dependency.
    // (Checked by hand in a temp clone: the command below builds dist/ and leaves no typescript.)
    const pkg = JSON.parse(readFileSync(repo('package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg.scripts.build).toMatch(/^tsc\b/);
    expect(pkg.devDependencies).toHaveProperty('typescript');
    const command = /`(npm ci[^`]*)`/.exec(unitText.split('\n[')[0])?.[1];
    expect(command).toBeDefined();
    const steps = command!.split('&&').map((s) => s.trim());
    const build = steps.indexOf('npm run build');
    expect(build, command).toBeGreaterThan(0);
    const installs = steps.slice(0, build).filter((s) => /^npm (ci|install)\b/.test(s));
    expect(installs.length, command).toBeGreaterThan(0);
    for (const s of installs) expect(s, 'an install before the build keeps dev dependencies').not.toMatch(/omit=dev/);
    expect(steps.slice(build + 1), 'dev dependencies are pruned after the build').toContain('npm prune --omit=dev');
    const docs = readFileSync(repo('docs/deploy.md'), 'utf8').replace(/sudo /g, '');
    expect(docs).toContain(command);
  });

  it.runIf(hasTool('systemd-analyze'))('systemd-analyze verify: no errors and no warnings', () => {
    const r = tool('systemd-analyze', ['verify', repo(UNIT)]);
    expect(r.status, r.output).toBe(0);
    expect(r.output.trim()).toBe('');
  });

  it.runIf(hasTool('systemd-analyze'))(
    'systemd-analyze verify reports a broken unit (the check above can fail)',
    () => {
      const broken = path.join(tmp, 'pollscope.service');
      writeFileSync(
        broken,
        unitText
          .replace('MemoryMax=', 'MemoryMaximum=')
          .replace('ExecStart=/usr/bin/node ', 'ExecStart=/usr/bin/no-such-node '),
      );
      const r = tool('systemd-analyze', ['verify', broken]);
      expect(r.status).not.toBe(0);
      expect(r.output).toContain("Unknown key 'MemoryMaximum'");
      expect(r.output).toContain('/usr/bin/no-such-node is not executable');
    },
  );

  it.runIf(hasTool('systemd-analyze'))('systemd-analyze security (offline) rates its exposure OK', () => {
    const r = tool('systemd-analyze', ['security', '--offline=true', '--no-pager', repo(UNIT)]);
    const m = /Overall exposure level for pollscope\.service: (\d+\.\d+) (\w+)/.exec(r.output);
    expect(m, r.output.slice(-400)).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(2.5);
    expect(m![2]).toBe('OK');
  });
});

describe('deploy/logrotate/relay', () => {
  it('logrotate renames (no copy), keeps the newest rotated file uncompressed for pollscope, and loses no line', () => {
    const dir = path.join(tmp, 'logs');
    mkdirSync(dir, { recursive: true });
    const log = path.join(dir, 'relay.log');
    const user = userInfo();
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    const config = readFileSync(repo('deploy/logrotate/relay'), 'utf8')
      .replace('/var/log/relay/relay.log', log)
      .replace('create 0640 relay adm', `create 0640 ${user.username} ${group}`);
    expect(config).toContain(log);
    const conf = path.join(tmp, 'logrotate.conf');
    writeFileSync(conf, config, { mode: 0o644 });
    const rotate = () => {
      const r = tool('logrotate', ['--force', '--state', path.join(tmp, 'state'), conf]);
      expect(r.status, r.output).toBe(0);
    };
    const lines = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => `line ${from + i}\n`).join('');

    writeFileSync(log, lines(0, 100));
    const firstInode = statSync(log).ino;
    rotate();
    // Renamed, not copied: relay.log.1 is the same file (inode) a reader already has open.
    expect(statSync(`${log}.1`).ino).toBe(firstInode);
    expect(statSync(log).size).toBe(0);
    expect(statSync(log).mode & 0o777).toBe(0o640);

    writeFileSync(log, lines(100, 200), { flag: 'a' });
    rotate();
    // delaycompress: the newest rotated file stays plain text, the older one is gzipped.
    expect(readFileSync(`${log}.1`, 'utf8')).toBe(lines(100, 200));
    expect(gunzipSync(readFileSync(`${log}.2.gz`)).toString('utf8')).toBe(lines(0, 100));
    expect(existsSync(`${log}.2`)).toBe(false);
  });
});
