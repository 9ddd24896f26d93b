/* eslint-disable @typescript-eslint/no-explicit-any -- documents parsed from YAML/JSON (compose, Prometheus configs and API answers): their shape is what these tests check. */
/**
 * Jaeger's config and Grafana's provisioning and dashboard: parsed with the `yaml` package and
 * JSON.parse, and checked for what the services need — every pipeline component defined, the
 * memory store bounded, datasource uids that exist, exemplar links to Jaeger, the panels the
 * issue asks for, and the panel names the alert descriptions send people to.
 */
import { describe, expect, it } from 'vitest';
import { DASHBOARD, RULE_FILES, dashboardPanels, readJson, readYaml } from './support.js';

describe('deploy/jaeger/config.yaml (Jaeger v2)', () => {
  const config = readYaml('deploy/jaeger/config.yaml');

  it('every component a pipeline or the service uses is defined', () => {
    const { extensions, pipelines } = config.service;
    for (const ext of extensions) expect(config.extensions, ext).toHaveProperty([ext]);
    for (const [name, p] of Object.entries<any>(pipelines)) {
      for (const r of p.receivers) expect(config.receivers, `${name} receiver ${r}`).toHaveProperty([r]);
      for (const r of p.processors ?? []) expect(config.processors, `${name} processor ${r}`).toHaveProperty([r]);
      for (const r of p.exporters) expect(config.exporters, `${name} exporter ${r}`).toHaveProperty([r]);
    }
    expect(Object.keys(pipelines)).toEqual(['traces']);
  });

  it('receives OTLP over HTTP and gRPC', () => {
    expect(config.service.pipelines.traces.receivers).toEqual(['otlp']);
    expect(config.receivers.otlp.protocols.http.endpoint).toBe('${env:JAEGER_LISTEN_HOST:-127.0.0.1}:4318');
    expect(config.receivers.otlp.protocols.grpc.endpoint).toBe('${env:JAEGER_LISTEN_HOST:-127.0.0.1}:4317');
  });

  it('host-safe: without JAEGER_LISTEN_HOST (a Jaeger run on a host) every endpoint is on loopback', () => {
    const endpoints: string[] = [];
    const walk = (v: any, key: string) => {
      if (key === 'endpoint' && typeof v === 'string') endpoints.push(v);
      else if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, k);
    };
    walk(config, '');
    expect(endpoints.length).toBe(4); // OTLP gRPC and HTTP, query UI, health check
    for (const e of endpoints) expect(e).toMatch(/^\$\{env:JAEGER_LISTEN_HOST:-127\.0\.0\.1\}:\d+$/);
  });

  it('stores traces in Badger on disk with a 72 h retention; the query UI and exporter use that store', () => {
    // Keys as in Jaeger v2.10.0: internal/storage/v1/badger/config.go (ttl.spans, directories.keys/values,
    // ephemeral, maintenance_interval) under jaeger_storage.backends.<name>.badger.
    const backends = config.extensions.jaeger_storage.backends;
    const store = config.extensions.jaeger_query.storage.traces;
    expect(Object.keys(backends)).toEqual([store]);
    const badger = backends[store].badger;
    expect(Object.keys(badger).sort()).toEqual(['directories', 'ephemeral', 'maintenance_interval', 'ttl']);
    expect(badger.ephemeral).toBe(false); // upstream's default is true: a temporary directory
    expect(badger.ttl).toEqual({ spans: '72h' });
    expect(Object.keys(badger.directories).sort()).toEqual(['keys', 'values']);
    expect(badger.directories.keys).not.toBe(badger.directories.values);
    expect(config.exporters.jaeger_storage_exporter.trace_storage).toBe(store);
  });
});

describe('grafana/provisioning', () => {
  const datasources = readYaml('grafana/provisioning/datasources/pollscope.yml');
  const dashboards = readYaml('grafana/provisioning/dashboards/pollscope.yml');
  const byUid = new Map<string, any>(datasources.datasources.map((d: any) => [d.uid, d]));

  it('datasources: Prometheus (default) and Jaeger with fixed, distinct uids', () => {
    expect(datasources.apiVersion).toBe(1);
    expect(byUid.size).toBe(datasources.datasources.length);
    expect(byUid.get('pollscope-prometheus')).toMatchObject({ type: 'prometheus', isDefault: true, access: 'proxy' });
    expect(byUid.get('pollscope-jaeger')).toMatchObject({ type: 'jaeger', access: 'proxy' });
    expect(datasources.datasources.filter((d: any) => d.isDefault)).toHaveLength(1);
  });

  it('Prometheus exemplars link to an existing Jaeger datasource through the traceId label', () => {
    const links = byUid.get('pollscope-prometheus').jsonData.exemplarTraceIdDestinations;
    expect(links).toEqual([{ name: 'traceId', datasourceUid: 'pollscope-jaeger' }]);
    for (const l of links) expect(byUid.get(l.datasourceUid)?.type).toBe('jaeger');
  });

  it('dashboards: one file provider, not editable from the UI', () => {
    expect(dashboards.apiVersion).toBe(1);
    expect(dashboards.providers).toHaveLength(1);
    expect(dashboards.providers[0]).toMatchObject({ type: 'file', allowUiUpdates: false, disableDeletion: true });
  });

  describe('grafana/dashboards/pollscope.json', () => {
    const dashboard = readJson(DASHBOARD);
    const panels = dashboardPanels(dashboard);
    const titles = new Set(panels.map((p) => p.title));

    it('every datasource it references is a provisioned uid', () => {
      let refs = 0;
      const check = (ds: any, where: string) => {
        if (!ds) return;
        refs++;
        expect(byUid.has(ds.uid), `${where}: ${JSON.stringify(ds)}`).toBe(true);
        expect(byUid.get(ds.uid).type, where).toBe(ds.type);
      };
      for (const p of panels) {
        check(p.datasource, p.title);
        for (const t of p.targets ?? []) check(t.datasource, `${p.title} ${t.refId}`);
      }
      for (const v of dashboard.templating.list) check(v.datasource, `variable ${v.name}`);
      expect(refs).toBeGreaterThan(25);
    });

    it('has a fixed uid, unique panel ids, and every panel on a 24-column grid without overlaps', () => {
      expect(dashboard.uid).toBe('pollscope');
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const cells = new Set<string>();
      for (const p of panels) {
        const { x, y, w, h } = p.gridPos;
        expect(x + w, p.title).toBeLessThanOrEqual(24);
        for (let cx = x; cx < x + w; cx++)
          for (let cy = y; cy < y + h; cy++) {
            const key = `${cx},${cy}`;
            expect(cells.has(key), `${p.title} overlaps at ${key}`).toBe(false);
            cells.add(key);
          }
      }
    });

    it('a multi-value relay variable that every relay query filters on', () => {
      const relay = dashboard.templating.list.find((v: any) => v.name === 'relay');
      expect(relay).toMatchObject({ type: 'query', multi: true, includeAll: true, allValue: '.*' });
      for (const p of panels) {
        for (const t of p.targets ?? []) {
          if (
            /\b(relay_\w+|pollscope_(lines|bytes_read|file_rotations|file_truncations)_total|pollscope_log_lag_seconds)\b/.test(
              t.expr,
            )
          )
            expect(t.expr, `${p.title} ${t.refId}`).toContain('relay=~"$relay"');
        }
      }
    });

    it('has the panels the stack promises, with exemplars on every histogram query', () => {
      const kinds = new Map(panels.map((p) => [p.title, p.type]));
      expect(kinds.get('Epoll wait latency')).toBe('heatmap');
      expect(kinds.get('Swarm poll duration')).toBe('heatmap');
      for (const t of [
        'Epoll wait latency p50 / p99',
        'Wakeups per second by reason',
        'Events per wakeup',
        'Wake to poll delay',
        'Stalls by kind',
        'Active stall',
        'Time waiting vs. running',
        'Lines per second by outcome',
        'Log lag',
        'Rotations',
        'Spans exported / dropped',
      ])
        expect(titles.has(t), t).toBe(true);
      for (const p of panels) {
        for (const t of p.targets ?? [])
          if (/_bucket\b/.test(t.expr)) expect(t.exemplar, `${p.title} ${t.refId}`).toBe(true);
      }
      for (const p of panels.filter((q) => q.type === 'heatmap')) {
        expect(p.targets[0].format).toBe('heatmap');
        expect(p.options.calculate).toBe(false);
      }
    });

    it('every panel or row an alert description names exists on the dashboard', () => {
      const rules = readYaml(RULE_FILES[0]).groups.flatMap((g: any) => g.rules);
      let named = 0;
      for (const r of rules) {
        for (const m of String(r.annotations.description).matchAll(/"([^"]+)"/g)) {
          named++;
          expect(titles.has(m[1]), `${r.alert} names "${m[1]}"`).toBe(true);
        }
      }
      expect(named).toBeGreaterThanOrEqual(8);
    });
  });
});
