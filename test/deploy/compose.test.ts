/* eslint-disable @typescript-eslint/no-explicit-any -- documents parsed from YAML/JSON (compose, Prometheus configs and API answers): their shape is what these tests check. */
/**
 * docker-compose.yml, checked without a Docker engine: Debian's docker-compose validates it
 * against the Compose specification schema it ships and resolves it (`config`); the resolved
 * file is then checked for what the stack needs (mounted files exist, pinned images, loopback
 * ports, health checks) and against the files the services load (Prometheus scrape targets,
 * Jaeger's receivers, Grafana's datasources and dashboards).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ROOT, readYaml, repo, tool } from './support.js';

const logDir = mkdtempSync(path.join(tmpdir(), 'pollscope-compose-logs-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

/** The machine's environment minus anything that would change the resolved file. */
function composeEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(COMPOSE_|DOCKER_|RELAY_|POLLSCOPE_|GRAFANA_)/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

function composeConfig(extra: Record<string, string>, profile = true) {
  return tool(
    'docker-compose',
    ['-f', 'docker-compose.yml', '--project-directory', ROOT, ...(profile ? ['--profile', 'demo'] : []), 'config'],
    { env: composeEnv(extra) },
  );
}

const resolvedRun = composeConfig({ GRAFANA_ADMIN_PASSWORD: 'only-for-this-test', RELAY_LOG_DIR: logDir });
const resolved = resolvedRun.status === 0 ? parseYaml(resolvedRun.stdout) : { services: {} };
const services: Record<string, any> = resolved.services;

interface Bind {
  source: string;
  target: string;
  mode: string;
}
/** Bind mounts (absolute host path) of a service as docker-compose resolved them. */
function binds(service: string): Bind[] {
  return (services[service].volumes ?? [])
    .map((v: string) => {
      const [source, target, mode = 'rw'] = v.split(':');
      return { source, target, mode };
    })
    .filter((b: Bind) => b.source.startsWith('/'));
}
/** The host path behind a path inside a service's container. */
function hostPath(service: string, inContainer: string): string | undefined {
  for (const b of binds(service)) {
    if (inContainer === b.target || inContainer.startsWith(b.target + '/'))
      return b.source + inContainer.slice(b.target.length);
  }
  return undefined;
}
const flag = (args: string[], name: string): string => {
  const i = args.indexOf(name);
  expect(i, `${name} in ${args.join(' ')}`).toBeGreaterThanOrEqual(0);
  return args[i + 1];
};
/** A Jaeger config endpoint as the container resolves it (JAEGER_LISTEN_HOST from the jaeger service). */
const jaegerEndpoint = (v: string): string =>
  v.replace(/\$\{env:JAEGER_LISTEN_HOST:-[^}]*\}/, services.jaeger.environment.JAEGER_LISTEN_HOST);
const opt = (args: string[], name: string): string | undefined =>
  args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);

describe('docker-compose.yml', () => {
  it('is valid for docker-compose (schema and interpolation) with the demo profile', () => {
    expect(resolvedRun.status, resolvedRun.output).toBe(0);
    expect(Object.keys(services).sort()).toEqual([
      'alertmanager',
      'demo',
      'grafana',
      'jaeger',
      'jaeger-init',
      'pollscope',
      'prometheus',
    ]);
    expect(services.demo.profiles).toEqual(['demo']);
  });

  it('refuses to start without GRAFANA_ADMIN_PASSWORD: no admin password is baked in', () => {
    const r = composeConfig({ RELAY_LOG_DIR: logDir }, false);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('set GRAFANA_ADMIN_PASSWORD');
    expect(readFileSync(repo('docker-compose.yml'), 'utf8')).not.toMatch(
      /GF_SECURITY_ADMIN_PASSWORD:\s*\$\{GRAFANA_ADMIN_PASSWORD:-/,
    );
  });

  it('a schema violation is reported (the validation above can fail)', () => {
    const bad = readFileSync(repo('docker-compose.yml'), 'utf8').replace(
      '    read_only: true\n',
      '    read_only: sometimes\n',
    );
    const r = tool('docker-compose', ['-f', '-', '--project-directory', ROOT, 'config', '-q'], {
      env: composeEnv({ GRAFANA_ADMIN_PASSWORD: 'x' }),
      input: bad,
    });
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/read_only/);
  });

  it('every image is pinned to a version (no latest, no bare name)', () => {
    const dockerfile = readFileSync(repo('deploy/Dockerfile'), 'utf8');
    const nodeImage = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)![1];
    for (const [name, s] of Object.entries(services)) {
      if (s.build) {
        expect(s.image, name).toBe('pollscope:local');
        continue;
      }
      expect(s.image, name).toMatch(/^[a-z0-9./-]+:v?\d+\.\d+\.\d+[\w.-]*$/);
    }
    expect(nodeImage).toMatch(/^node:\d+\.\d+\.\d+-\w+-slim$/);
    expect(Number(/^node:(\d+)/.exec(nodeImage)![1]) % 2, 'Node LTS lines are even').toBe(0);
    expect(services.demo.image).toBe(nodeImage);
    expect(services.jaeger.image).toMatch(/^jaegertracing\/jaeger:2\./);
  });

  it('every published port is bound to 127.0.0.1', () => {
    let published = 0;
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? []) {
        published++;
        expect(String(p), name).toMatch(/^127\.0\.0\.1:\d+:\d+(\/tcp)?$/);
      }
    }
    expect(published).toBeGreaterThanOrEqual(5);
  });

  it('every service has a health check and a restart policy (one-shot init steps: run once, awaited)', () => {
    const oneShot = new Set<string>();
    for (const s of Object.values(services))
      for (const [dep, d] of Object.entries<any>(s.depends_on ?? {}))
        if (d.condition === 'service_completed_successfully') oneShot.add(dep);
    expect([...oneShot]).toEqual(['jaeger-init']);
    for (const [name, s] of Object.entries(services)) {
      if (oneShot.has(name)) {
        expect(s.restart, name).toBe('no');
        continue;
      }
      expect(s.healthcheck?.test?.length, name).toBeGreaterThan(1);
      expect(s.healthcheck.disable, name).toBeFalsy();
      expect(s.restart, name).toBe('unless-stopped');
    }
  });

  it("every file and directory it mounts exists in the repository (the relay log directory is the operator's)", () => {
    let checked = 0;
    for (const name of Object.keys(services)) {
      for (const b of binds(name)) {
        if (b.source === logDir) continue;
        expect(existsSync(b.source), `${name}: ${b.source}`).toBe(true);
        expect(b.source.startsWith(ROOT + '/'), `${name}: ${b.source} is in the repository`).toBe(true);
        expect(b.mode, `${name}: ${b.source} read-only`).toBe('ro');
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
    expect(services.pollscope.build.context).toBe(ROOT);
    expect(existsSync(path.join(ROOT, services.pollscope.build.dockerfile))).toBe(true);
  });

  it('pollscope: run with the relay log read-only, metrics for Prometheus, OTLP to Jaeger, checkpoint on a volume', () => {
    const s = services.pollscope;
    const cmd: string[] = s.command;
    expect(cmd[0]).toBe('run');
    expect(flag(cmd, '--log')).toBe('/logs/relay.log');
    expect(binds('pollscope')).toContainEqual({ source: logDir, target: '/logs', mode: 'ro' });
    expect(flag(cmd, '--relay')).toBe('relay');
    expect(flag(cmd, '--metrics-listen')).toBe('0.0.0.0:9464');
    expect(s.ports).toContain('127.0.0.1:9464:9464/tcp');
    const checkpoint = flag(cmd, '--checkpoint');
    const stateVolume = (s.volumes as string[]).find((v) => !v.startsWith('/'))!.split(':');
    expect(Object.keys(resolved.volumes)).toContain(stateVolume[0]);
    expect(path.dirname(checkpoint)).toBe(stateVolume[1]);
    expect(s.read_only).toBe(true);
    expect(s.user).toBe('1000:1000');
    expect(s.cap_drop).toEqual(['ALL']);
    // The Dockerfile prepares the checkpoint directory for the unprivileged user.
    expect(readFileSync(repo('deploy/Dockerfile'), 'utf8')).toContain(`chown node:node ${stateVolume[1]}`);

    const otlp = new URL(flag(cmd, '--otlp-endpoint'));
    expect(otlp.hostname).toBe('jaeger');
    const jaeger = readYaml('deploy/jaeger/config.yaml');
    expect(jaegerEndpoint(jaeger.receivers.otlp.protocols.http.endpoint)).toBe(`0.0.0.0:${otlp.port}`);
    expect(otlp.pathname).toBe('/'); // pollscope appends /v1/traces
  });

  it("Prometheus scrapes pollscope where it listens, loads the rules and alerts the stack's Alertmanager", () => {
    const s = services.prometheus;
    const configPath = opt(s.command, '--config.file')!;
    const configFile = hostPath('prometheus', configPath)!;
    expect(configFile).toBe(repo('deploy/prometheus/prometheus.yml'));
    expect(s.command).toContain('--enable-feature=exemplar-storage');
    const config = parseYaml(readFileSync(configFile, 'utf8'));
    const pollscopeJob = config.scrape_configs.find((j: any) => j.job_name === 'pollscope');
    const listenPort = flag(services.pollscope.command, '--metrics-listen').split(':')[1];
    expect(pollscopeJob.static_configs[0].targets).toEqual([`pollscope:${listenPort}`]);
    // The rules glob resolves, through the mount, to the repository's rule files.
    const rulesDir = hostPath('prometheus', path.dirname(config.rule_files[0]))!;
    expect(rulesDir).toBe(repo('deploy/prometheus/rules'));
    expect(statSync(path.join(rulesDir, 'pollscope.rules.yml')).isFile()).toBe(true);
    const am = config.alerting.alertmanagers[0].static_configs[0].targets[0];
    expect(am).toBe('alertmanager:9093');
    expect(services.alertmanager.ports).toContain('127.0.0.1:9093:9093/tcp');
    expect(hostPath('alertmanager', opt(services.alertmanager.command, '--config.file')!)).toBe(
      repo('deploy/alertmanager/alertmanager.yml'),
    );
  });

  it("Jaeger loads the repository's config; its UI and health ports are the ones the stack uses", () => {
    const s = services.jaeger;
    expect(hostPath('jaeger', flag(s.command, '--config'))).toBe(repo('deploy/jaeger/config.yaml'));
    const jaeger = readYaml('deploy/jaeger/config.yaml');
    expect(jaegerEndpoint(jaeger.extensions.jaeger_query.http.endpoint)).toBe('0.0.0.0:16686');
    expect(s.ports).toContain('127.0.0.1:16686:16686/tcp');
    expect(s.healthcheck.test.join(' ')).toContain(
      `:${jaeger.extensions.healthcheckv2.http.endpoint.split(':').pop()}/status`,
    );
  });

  it('Jaeger keeps traces in Badger on the named volume, made writable for its uid by jaeger-init', () => {
    const s = services.jaeger;
    const jaeger = readYaml('deploy/jaeger/config.yaml');
    const badger = jaeger.extensions.jaeger_storage.backends[jaeger.extensions.jaeger_query.storage.traces].badger;
    const dir = (v: string) => v.replace(/\$\{env:JAEGER_BADGER_DIR:-[^}]*\}/, s.environment.JAEGER_BADGER_DIR);
    expect(dir(badger.directories.keys)).toBe('/badger/data/keys');
    expect(dir(badger.directories.values)).toBe('/badger/data/values');
    expect(s.volumes).toContain('jaeger-data:/badger:rw');
    expect(Object.keys(resolved.volumes)).toContain('jaeger-data');
    const init = services['jaeger-init'];
    expect(init.image).toBe(s.image);
    expect(init.volumes).toEqual(['jaeger-data:/badger:rw']);
    expect(init.entrypoint.join(' ')).toContain('chown -R 10001:10001 /badger/data');
    expect(s.depends_on['jaeger-init']).toEqual({ condition: 'service_completed_successfully' });
  });

  it("Grafana: provisioning and dashboards mounted where the provisioning files say; datasource URLs are the stack's services", () => {
    const provisioning = hostPath('grafana', '/etc/grafana/provisioning');
    expect(provisioning).toBe(repo('grafana/provisioning'));
    const provider = readYaml('grafana/provisioning/dashboards/pollscope.yml').providers[0];
    expect(hostPath('grafana', provider.options.path)).toBe(repo('grafana/dashboards'));
    const home = services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(hostPath('grafana', home)).toBe(repo('grafana/dashboards/pollscope.json'));
    expect(services.grafana.environment.GF_AUTH_ANONYMOUS_ENABLED).toBe('true');
    expect(services.grafana.environment.GF_AUTH_ANONYMOUS_ORG_ROLE).toBe('Viewer');
    for (const ds of readYaml('grafana/provisioning/datasources/pollscope.yml').datasources) {
      const url = new URL(ds.url);
      expect(Object.keys(services)).toContain(url.hostname);
      const published = (services[url.hostname].ports as string[]).map((p) => p.split(':')[2].replace('/tcp', ''));
      expect(published, ds.name).toContain(url.port);
    }
  });

  it('demo: writes the bundled sample into the same log directory and file pollscope tails', () => {
    const s = services.demo;
    const cmd: string[] = s.command;
    expect(cmd[0]).toBe('node');
    expect(hostPath('demo', cmd[1])).toBe(repo('deploy/demo/write-demo-log.mjs'));
    expect(hostPath('demo', flag(cmd, '--sample'))).toBe(repo('samples/relay-stall.log'));
    const out = flag(cmd, '--out');
    expect(out).toBe(flag(services.pollscope.command, '--log'));
    expect(hostPath('demo', out)).toBe(path.join(logDir, 'relay.log'));
    expect(binds('demo').find((b) => b.target === '/logs')!.mode).toBe('rw');
  });
});

describe('deploy/Dockerfile', () => {
  const text = readFileSync(repo('deploy/Dockerfile'), 'utf8');
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));

  it('builds from the pinned Node LTS slim image in both stages and runs as the unprivileged node user', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    expect(froms).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE}']);
    const users = instructions.filter((l) => l.startsWith('USER '));
    expect(users).toEqual(['USER node']);
    expect(instructions.indexOf('USER node')).toBeGreaterThan(
      instructions.findIndex((l) => l.startsWith('COPY --from=build')),
    );
  });

  it('copies only files that exist, and its entrypoint is what `npm run build` produces', () => {
    const copies = instructions.filter((l) => l.startsWith('COPY ') && !l.startsWith('COPY --from'));
    expect(copies.length).toBeGreaterThanOrEqual(3);
    for (const c of copies) {
      const parts = c.split(/\s+/).slice(1);
      for (const src of parts.slice(0, -1)) expect(existsSync(repo(src)), src).toBe(true);
    }
    expect(text).toContain('ENTRYPOINT ["node", "/app/dist/cli.js"]');
    expect(existsSync(repo('src/cli.ts'))).toBe(true);
    const ignore = readFileSync(repo('deploy/Dockerfile.dockerignore'), 'utf8');
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'src/**', 'samples/**'])
      expect(ignore).toContain(`!${needed}`);
  });
});
