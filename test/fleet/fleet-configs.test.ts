/* eslint-disable @typescript-eslint/no-explicit-any -- parsed compose, collector, Prometheus and dashboard documents: their shape is what these tests check. */
/**
 * deploy/fleet/, checked without Docker: docker-compose validates and resolves the central node's
 * compose file; promtool checks its Prometheus config (with the repository's rules and the example
 * relay list through file_sd) and the fleet dashboard's queries; amtool the Alertmanager config it
 * mounts; systemd-analyze the relay's drop-in on top of the unit; the OpenTelemetry Collector
 * config is checked key by key against the keys of the pinned version's sources (docs/fleet.md
 * lists the files read) and for the pipeline the issue asks for.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadWebConfig } from '../../src/export/web-config.js';
import {
  ROOT,
  dashboardPanels,
  hasTool,
  readJson,
  readYaml,
  repo,
  substituteGrafanaVariables,
  tool,
} from '../deploy/support.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-fleetcfg-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const FLEET = 'deploy/fleet';

function composeEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(COMPOSE_|DOCKER_|GRAFANA_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}
const resolvedRun = tool(
  'docker-compose',
  ['-f', repo(FLEET, 'docker-compose.yml'), '--project-directory', repo(FLEET), 'config'],
  { env: composeEnv({ GRAFANA_ADMIN_PASSWORD: 'only-for-this-test' }) },
);
const resolved = resolvedRun.status === 0 ? parseYaml(resolvedRun.stdout) : { services: {} };
const services: Record<string, any> = resolved.services;
/** The host path behind a path inside a service's container (bind mounts). */
function hostPath(service: string, inContainer: string): string | undefined {
  for (const v of services[service].volumes as string[]) {
    const [source, target] = v.split(':');
    if (!source.startsWith('/')) continue;
    if (inContainer === target || inContainer.startsWith(target + '/'))
      return source + inContainer.slice(target.length);
  }
  return undefined;
}

describe('deploy/fleet/docker-compose.yml (the central node)', () => {
  it('is valid for docker-compose and has the five services plus the Badger init step, pinned', () => {
    expect(resolvedRun.status, resolvedRun.output).toBe(0);
    expect(Object.keys(services).sort()).toEqual([
      'alertmanager',
      'grafana',
      'jaeger',
      'jaeger-init',
      'otel-collector',
      'prometheus',
    ]);
    expect(services['otel-collector'].image).toBe('otel/opentelemetry-collector-contrib:0.132.0');
    for (const [name, s] of Object.entries(services)) expect(s.image, name).toMatch(/:v?\d+\.\d+\.\d+$/);
  });

  it("publishes only the collector's OTLP port beyond loopback; every mounted file exists, read-only", () => {
    for (const [name, s] of Object.entries(services)) {
      for (const p of (s.ports ?? []) as string[]) {
        if (name === 'otel-collector') expect(p).toBe('0.0.0.0:4318:4318/tcp');
        else expect(p, name).toMatch(/^127\.0\.0\.1:/);
      }
      for (const v of (s.volumes ?? []) as string[]) {
        const [source, , mode] = v.split(':');
        if (!source.startsWith('/')) continue;
        expect(existsSync(source), `${name}: ${source}`).toBe(true);
        expect(mode, `${name}: ${source}`).toBe('ro');
        expect(source.startsWith(ROOT + '/'), `${name}: ${source}`).toBe(true);
      }
    }
  });

  it('the services agree with the files they load', () => {
    // Collector → Jaeger's OTLP gRPC receiver (the bundled stack's Jaeger config, Badger on the volume).
    const otel = readYaml(`${FLEET}/otelcol/config.yaml`);
    expect(hostPath('jaeger', '/etc/jaeger/config.yaml')).toBe(repo('deploy/jaeger/config.yaml'));
    const jaeger = readYaml('deploy/jaeger/config.yaml');
    const grpcPort = jaeger.receivers.otlp.protocols.grpc.endpoint.split(':').pop();
    expect(otel.exporters['otlp/jaeger'].endpoint).toBe(`jaeger:${grpcPort}`);
    expect(services.jaeger.environment.JAEGER_LISTEN_HOST).toBe('0.0.0.0');
    expect(services.jaeger.depends_on['jaeger-init'].condition).toBe('service_completed_successfully');
    // The collector's secrets and Prometheus' come from ./secrets.
    expect(hostPath('otel-collector', otel.extensions.bearertokenauth.filename)).toBe(
      repo(FLEET, 'secrets/otlp-token'),
    );
    const prom = readYaml(`${FLEET}/prometheus/prometheus.yml`);
    const job = prom.scrape_configs.find((j: any) => j.job_name === 'pollscope');
    expect(hostPath('prometheus', job.tls_config.ca_file)).toBe(repo(FLEET, 'secrets/relays-ca.crt'));
    expect(hostPath('prometheus', path.dirname(job.file_sd_configs[0].files[0]) + '/relays.yml')).toBe(
      repo(FLEET, 'prometheus/relays.yml'),
    );
    expect(hostPath('prometheus', path.dirname(prom.rule_files[0]))).toBe(repo('deploy/prometheus/rules'));
    expect(hostPath('alertmanager', '/etc/alertmanager/alertmanager.yml')).toBe(
      repo('deploy/alertmanager/alertmanager.yml'),
    );
    const home = services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(hostPath('grafana', home)).toBe(repo('grafana/dashboards/pollscope-fleet.json'));
    // Secrets stay out of git.
    expect(readFileSync(repo(FLEET, 'secrets/.gitignore'), 'utf8')).toMatch(/^\*$/m);
  });
});

describe('deploy/fleet/otelcol/config.yaml (OpenTelemetry Collector contrib 0.132.0)', () => {
  const config = readYaml(`${FLEET}/otelcol/config.yaml`);
  /**
   * The mapstructure keys of the pinned version's config structs, as read in the sources
   * (docs/fleet.md, "Sources checked"): a key not listed here is a key the collector would refuse.
   */
  const KNOWN: Record<string, string[]> = {
    bearertokenauth: ['header', 'scheme', 'token', 'tokens', 'filename'],
    health_check: ['endpoint', 'tls', 'path', 'check_collector_pipeline', 'response_body'],
    'otlp.protocols.http': [
      'endpoint',
      'tls',
      'cors',
      'auth',
      'max_request_body_size',
      'include_metadata',
      'response_headers',
      'traces_url_path',
    ],
    'otlp.protocols.http.tls': [
      'cert_file',
      'key_file',
      'min_version',
      'max_version',
      'client_ca_file',
      'reload_interval',
    ],
    'otlp.protocols.http.auth': ['authenticator'],
    memory_limiter: ['check_interval', 'limit_mib', 'spike_limit_mib', 'limit_percentage', 'spike_limit_percentage'],
    tail_sampling: [
      'decision_wait',
      'num_traces',
      'expected_new_traces_per_sec',
      'policies',
      'decision_cache',
      'sample_on_first_match',
    ],
    'tail_sampling.decision_cache': ['sampled_cache_size', 'non_sampled_cache_size'],
    'tail_sampling.policy': ['name', 'type', 'status_code', 'probabilistic'],
    batch: ['timeout', 'send_batch_size', 'send_batch_max_size', 'metadata_keys', 'metadata_cardinality_limit'],
    'otlp/jaeger': ['endpoint', 'tls', 'headers', 'compression', 'timeout', 'retry_on_failure', 'sending_queue'],
    'otlp/jaeger.tls': ['insecure', 'ca_file', 'insecure_skip_verify', 'server_name_override'],
  };
  const keysOk = (what: string, obj: any) => {
    for (const k of Object.keys(obj)) expect(KNOWN[what], `${what}.${k}`).toContain(k);
  };

  it('every key is one the pinned sources define', () => {
    keysOk('bearertokenauth', config.extensions.bearertokenauth);
    keysOk('health_check', config.extensions.health_check);
    const http = config.receivers.otlp.protocols.http;
    expect(Object.keys(config.receivers.otlp.protocols)).toEqual(['http']);
    keysOk('otlp.protocols.http', http);
    keysOk('otlp.protocols.http.tls', http.tls);
    keysOk('otlp.protocols.http.auth', http.auth);
    keysOk('memory_limiter', config.processors.memory_limiter);
    keysOk('tail_sampling', config.processors.tail_sampling);
    keysOk('tail_sampling.decision_cache', config.processors.tail_sampling.decision_cache);
    for (const p of config.processors.tail_sampling.policies) keysOk('tail_sampling.policy', p);
    keysOk('batch', config.processors.batch);
    keysOk('otlp/jaeger', config.exporters['otlp/jaeger']);
    keysOk('otlp/jaeger.tls', config.exporters['otlp/jaeger'].tls);
  });

  it('OTLP over TLS with a bearer token; memory limiter first; errors kept plus a small share; batch', () => {
    const http = config.receivers.otlp.protocols.http;
    expect(http.tls.cert_file).toMatch(/\.crt$/);
    expect(http.tls.key_file).toMatch(/\.key$/);
    expect(http.tls.min_version).toBe('1.2');
    expect(http.auth.authenticator).toBe('bearertokenauth');
    expect(config.service.extensions).toContain('bearertokenauth');
    const pipeline = config.service.pipelines.traces;
    expect(pipeline).toEqual({
      receivers: ['otlp'],
      processors: ['memory_limiter', 'tail_sampling', 'batch'],
      exporters: ['otlp/jaeger'],
    });
    for (const p of pipeline.processors) expect(config.processors).toHaveProperty([p]);
    const [errors, share] = config.processors.tail_sampling.policies;
    // pollscope marks reactor.stall spans ERROR (docs/spans.md): every trace with one is kept.
    expect(errors).toMatchObject({ type: 'status_code', status_code: { status_codes: ['ERROR'] } });
    expect(share.type).toBe('probabilistic');
    expect(share.probabilistic.sampling_percentage).toBeGreaterThan(0);
    expect(share.probabilistic.sampling_percentage).toBeLessThanOrEqual(10);
    expect(config.processors.memory_limiter.limit_percentage).toBeLessThanOrEqual(90);
  });
});

describe('deploy/fleet Prometheus, Alertmanager, dashboard and relay files', () => {
  it('promtool accepts the Prometheus config with the rules and the example relay list (file_sd)', () => {
    const dir = path.join(tmp, 'prom');
    mkdirSync(path.join(dir, 'secrets'), { recursive: true });
    writeFileSync(path.join(dir, 'secrets/scrape-password'), 'x\n');
    // A CA file as the operator makes it (promtool reads it).
    const ca = tool('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=relays-ca', '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'secrets/relays-ca.crt'),
    ]); // prettier-ignore
    expect(ca.status, ca.output).toBe(0);
    const text = readFileSync(repo(FLEET, 'prometheus/prometheus.yml'), 'utf8')
      .replaceAll('/etc/prometheus/secrets/', path.join(dir, 'secrets') + '/')
      .replaceAll('/etc/prometheus/relays/*.yml', repo(FLEET, 'prometheus/relays.yml'))
      .replaceAll('/etc/prometheus/rules/', repo('deploy/prometheus/rules') + '/');
    writeFileSync(path.join(dir, 'prometheus.yml'), text);
    const r = tool('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: 1 rule files found/);
    // The example relay list is what file_sd reads: a list of targets with labels, no `relay`
    // label (pollscope sets it; a target label would rename pollscope's to exported_relay).
    const relays = readYaml(`${FLEET}/prometheus/relays.yml`);
    expect(relays.length).toBe(3);
    for (const group of relays) {
      expect(group.targets[0]).toMatch(/^[\w.-]+:9464$/);
      expect(group.labels ?? {}).not.toHaveProperty('relay');
    }
    // A broken relay list is refused (the check above can fail).
    writeFileSync(path.join(dir, 'bad-relays.yml'), stringifyYaml([{ targets: 'not-a-list' }]));
    writeFileSync(
      path.join(dir, 'bad.yml'),
      text.replaceAll(repo(FLEET, 'prometheus/relays.yml'), path.join(dir, 'bad-relays.yml')),
    );
    expect(tool('promtool', ['check', 'config', path.join(dir, 'bad.yml')]).status).not.toBe(0);
  });

  it('amtool accepts the Alertmanager config the central node mounts; it groups per relay', () => {
    const r = tool('amtool', ['check-config', repo('deploy/alertmanager/alertmanager.yml')]);
    expect(r.status, r.output).toBe(0);
    expect(readYaml('deploy/alertmanager/alertmanager.yml').route.group_by).toContain('relay');
  });

  it('fleet dashboard: relay is a multi-value variable, every query parses, worst relays sorted first', () => {
    const dash = readJson('grafana/dashboards/pollscope-fleet.json');
    expect(dash.uid).toBe('pollscope-fleet');
    expect(dash.templating.list[0]).toMatchObject({ name: 'relay', multi: true, includeAll: true, allValue: '.*' });
    const panels = dashboardPanels(dash);
    const rules: any[] = [];
    for (const p of panels) {
      expect(p.datasource.uid).toBe('pollscope-prometheus');
      for (const t of p.targets)
        rules.push({ record: `fleet:${p.id}:${t.refId}`, expr: substituteGrafanaVariables(t.expr) });
    }
    writeFileSync(
      path.join(tmp, 'fleet-dashboard.rules.yml'),
      stringifyYaml({ groups: [{ name: 'dashboard', rules }] }),
    );
    const r = tool('promtool', ['check', 'rules', path.join(tmp, 'fleet-dashboard.rules.yml')]);
    expect(r.status, r.output).toBe(0);
    const titles = panels.map((p) => p.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Worst relays: stalls in the time range',
        'Worst relays: swarm poll p99 (5m)',
        'Worst relays: wake→poll delay p99 (5m)',
      ]),
    );
    for (const p of panels.filter((x) => x.title.startsWith('Worst relays')))
      expect(p.targets[0].expr).toMatch(/^sort_desc\(/);
    // The grid: 24 columns, no overlaps.
    const cells = new Set<string>();
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${p.title} overlaps`).toBe(false);
          cells.add(`${i},${j}`);
        }
    }
  });

  it("the relay's web config example is the exporter-toolkit format pollscope reads (promtool agrees)", () => {
    const dir = path.join(tmp, 'relay');
    mkdirSync(dir, { recursive: true });
    // Its cert and key are beside it (LoadCredential); here a real pair, and a real hash for the placeholder.
    tool('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=relay', '-keyout', path.join(dir, 'scrape.key'), '-out', path.join(dir, 'scrape.crt'),
    ]); // prettier-ignore
    const text = readFileSync(repo(FLEET, 'relay/web-config.yml'), 'utf8');
    const placeholder = /\$2y\$10\$REPLACE[^\n]*/.exec(text)![0];
    expect(placeholder.length).toBe(60); // a hash's length: promtool and pollscope both check the form
    writeFileSync(
      path.join(dir, 'web-config.yml'),
      text.replace(placeholder, '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi'),
    );
    const cfg = loadWebConfig(path.join(dir, 'web-config.yml'));
    expect(cfg.tls?.minVersion).toBe('TLSv1.2');
    expect([...cfg.users.keys()]).toEqual(['prometheus']);
    const r = tool('promtool', ['check', 'web-config', path.join(dir, 'web-config.yml')]);
    expect(r.status, r.output).toBe(0);
  });

  it.runIf(hasTool('systemd-analyze'))('the relay drop-in verifies on top of the unit (systemd-analyze)', () => {
    const dir = path.join(tmp, 'units');
    mkdirSync(path.join(dir, 'pollscope.service.d'), { recursive: true });
    cpSync(repo('deploy/systemd/pollscope.service'), path.join(dir, 'pollscope.service'));
    cpSync(repo(FLEET, 'relay/fleet.conf'), path.join(dir, 'pollscope.service.d/fleet.conf'));
    const env = { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` };
    const r = tool('systemd-analyze', ['verify', '--man=no', 'pollscope.service'], { cwd: dir, env });
    expect(r.status, r.output).toBe(0);
    expect(r.output.trim()).toBe('');
    // The check reads the drop-in: a wrong key in it is reported.
    writeFileSync(
      path.join(dir, 'pollscope.service.d/fleet.conf'),
      readFileSync(repo(FLEET, 'relay/fleet.conf'), 'utf8') + 'NoSuchKey=1\n',
    );
    const bad = tool('systemd-analyze', ['verify', '--man=no', 'pollscope.service'], { cwd: dir, env });
    expect(bad.output).toMatch(/NoSuchKey/);
    const fleet = readFileSync(repo(FLEET, 'relay/fleet.conf'), 'utf8');
    expect(fleet).toMatch(/--web-config-file \$\{CREDENTIALS_DIRECTORY\}\/web-config\.yml/);
    expect(fleet).toMatch(/--otlp-endpoint https:\/\//);
  });
});
