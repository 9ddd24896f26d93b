/**
 * OTLP export across a network: an https collector whose certificate a CA made here signed, and
 * auth headers — from the config file's CA and headers files, or from the standard OTEL_*
 * variables (which the exporter reads itself). The receiver decodes every request and records its
 * headers. A wrong CA fails with one clear message naming the endpoint and the TLS error, and
 * every span of the failed requests is counted as export_failed.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpReceiver } from './otlp-receiver.js';
import { makeTestPki, type TestPki } from './test-pki.js';
import { ROOT } from '../helpers.js';
import { TurnTraceSink, type TraceOptions } from '../../src/export/traces.js';
import { otlpTransport, readHeadersFile } from '../../src/export/otlp-transport.js';
import { ConfigError } from '../../src/config.js';
import { replay } from '../../src/replay.js';

const SAMPLE = path.join(ROOT, 'samples/relay-stall.log');
const CLI = path.join(ROOT, 'dist/cli.js');
const TOKEN = 'Bearer s3cr3t,with=odd;chars';
let tmp: string;
let pki: TestPki;
let receiver: OtlpReceiver;
let headersFile: string;
/** Spans the sample makes with every turn kept (set by the first test, which exports them all). */
let spansOfSample = 0;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-otlp-tls-'));
  pki = makeTestPki(tmp);
  receiver = new OtlpReceiver(pki.server);
  await receiver.start();
  headersFile = path.join(tmp, 'otlp-headers');
  writeFileSync(headersFile, `# collector auth\r\nAuthorization: ${TOKEN}\r\n\r\nX-Scope-OrgID:  tenant-a  \r\n`);
  chmodSync(headersFile, 0o600);
});
afterAll(async () => {
  await receiver?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

let runNo = 0;
/** Replays the sample through a trace sink keeping every turn; returns what it logged and the spans received for it. */
async function tracedReplay(opts: TraceOptions) {
  const relay = `tls-${++runNo}`;
  const logged: string[] = [];
  const sink = new TurnTraceSink(relay, {
    keepFraction: 1,
    maxSpansPerSec: Infinity,
    maxExportBatchSize: 20,
    scheduledDelayMs: 10,
    log: (m) => logged.push(m),
    ...opts,
  });
  const requestsBefore = receiver.requestInfo.length;
  await replay([SAMPLE], { sinks: [sink], relay });
  await sink.shutdown(20_000);
  const spans = receiver.spans.filter((s) => s.service === relay);
  return { sink, logged, spans, requests: receiver.requestInfo.slice(requestsBefore) };
}

describe('https collector with a CA of our own, auth headers', () => {
  it('caFile and headersFile: every span arrives, every request carries the headers', async () => {
    const { sink, spans, requests, logged } = await tracedReplay({
      endpoint: receiver.url,
      caFile: pki.caFile,
      headersFile,
    });
    expect(receiver.url.startsWith('https://127.0.0.1:')).toBe(true);
    expect(sink.counters.turnsKept).toBeGreaterThan(20);
    expect(spans.length).toBeGreaterThan(60);
    expect(spans).toHaveLength(sink.counters.spansExported);
    expect(sink.counters.exportErrors).toBe(0);
    expect(spans.filter((s) => s.name === 'reactor.stall' || s.status.code === 2).length).toBeGreaterThan(0);
    expect(requests.length).toBeGreaterThan(1);
    for (const r of requests) {
      expect(r.headers.authorization).toBe(TOKEN);
      expect(r.headers['x-scope-orgid']).toBe('tenant-a');
    }
    expect(logged).toEqual([]);
    spansOfSample = spans.length;
  });

  it('the standard variables alone (OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE, OTEL_EXPORTER_OTLP_HEADERS), read by the exporter', async () => {
    const names = ['OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE', 'OTEL_EXPORTER_OTLP_HEADERS'] as const;
    const saved = names.map((n) => process.env[n]);
    process.env.OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE = pki.caFile;
    // The spec's format: k=v pairs, comma-separated, URL-encoded.
    process.env.OTEL_EXPORTER_OTLP_HEADERS = `authorization=${encodeURIComponent(TOKEN)},x-scope-orgid=tenant-b`;
    try {
      const { sink, spans, requests } = await tracedReplay({ endpoint: receiver.url });
      expect(spans.length).toBeGreaterThan(60);
      expect(spans).toHaveLength(sink.counters.spansExported);
      expect(sink.transport.caSource).toContain('OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE');
      for (const r of requests) {
        expect(r.headers.authorization).toBe(TOKEN);
        expect(r.headers['x-scope-orgid']).toBe('tenant-b');
      }
    } finally {
      names.forEach((n, i) => {
        if (saved[i] === undefined) delete process.env[n];
        else process.env[n] = saved[i];
      });
    }
  });

  it('a wrong CA: one clear message naming the endpoint and the TLS error, every span counted as export_failed', async () => {
    const tlsErrorsBefore = receiver.tlsErrors;
    const { sink, spans, logged, requests } = await tracedReplay({
      endpoint: receiver.url,
      caFile: pki.wrongCaFile,
      headersFile,
    });
    expect(spans).toHaveLength(0);
    expect(requests).toHaveLength(0); // refused at the handshake: no header ever left
    expect(receiver.tlsErrors).toBeGreaterThan(tlsErrorsBefore);
    const c = sink.counters;
    expect(c.spansExported).toBe(0);
    expect(c.exportErrors).toBeGreaterThan(1); // several batches failed…
    expect(c.spansDropped.export_failed).toBe(spansOfSample); // …and all their spans are counted
    expect(sink.queuedSpans).toBe(0);
    const tlsLines = logged.filter((m) => m.startsWith('OTLP export failed: TLS'));
    expect(tlsLines).toHaveLength(1); // …but said once
    expect(tlsLines[0]).toContain(`TLS with ${receiver.url}/v1/traces failed`);
    expect(tlsLines[0]).toMatch(/unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    expect(tlsLines[0]).toContain(`traces.ca_file (${pki.wrongCaFile})`);
    expect(logged.at(-1)).toMatch(/^spans dropped so far: .*export_failed [1-9]\d*.*last export error/);
  });

  it('no CA given: Node rejects the self-signed chain, and the message says where a CA can be set', async () => {
    const { sink, logged } = await tracedReplay({ endpoint: receiver.url, headersFile });
    expect(sink.counters.spansExported).toBe(0);
    expect(sink.counters.spansDropped.export_failed).toBeGreaterThan(0);
    const tlsLines = logged.filter((m) => m.startsWith('OTLP export failed: TLS'));
    expect(tlsLines).toHaveLength(1);
    expect(tlsLines[0]).toContain("Node's built-in CAs (set traces.ca_file or OTEL_EXPORTER_OTLP_CERTIFICATE)");
  });

  it('https:// to a port that speaks plain HTTP: said once, as such', async () => {
    const plain = new OtlpReceiver();
    await plain.start();
    try {
      const { sink, logged } = await tracedReplay({
        endpoint: plain.url.replace('http:', 'https:'),
        caFile: pki.caFile,
      });
      expect(plain.requests).toBe(0);
      expect(sink.counters.spansDropped.export_failed).toBe(spansOfSample);
      const lines = logged.filter((m) => m.startsWith('OTLP export failed:'));
      expect(lines).toEqual([
        `OTLP export failed: TLS with https://127.0.0.1:${plain.port}/v1/traces failed: write EPROTO wrong version number (EPROTO); the port does not speak TLS (use http://, or the collector's TLS port); ${lines[0]?.match(/; (\d+) spans dropped/)?.[1]} spans dropped (export_failed), further errors of this kind are only counted`,
      ]);
    } finally {
      await plain.stop();
    }
  });

  it('a wrong token: the collector answers 401, said once with where the headers came from', async () => {
    receiver.requireHeaders = { authorization: 'Bearer the-right-one' };
    try {
      const { sink, logged, spans } = await tracedReplay({ endpoint: receiver.url, caFile: pki.caFile, headersFile });
      expect(spans).toHaveLength(0);
      expect(sink.counters.spansDropped.export_failed).toBeGreaterThan(0);
      const lines = logged.filter((m) => m.startsWith('OTLP export failed:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`${receiver.url}/v1/traces answered HTTP 401`);
      expect(lines[0]).toContain(`traces.headers_file ${headersFile} (Authorization, X-Scope-OrgID)`);
      expect(lines.join('\n')).not.toContain('s3cr3t'); // names, never values
    } finally {
      receiver.requireHeaders = null;
    }
  });
});

describe('`pollscope replay` over https with the standard variables (needs npm run build)', () => {
  const run = promisify(execFile);
  async function cli(args: string[], env: NodeJS.ProcessEnv) {
    try {
      const r = await run(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
      return { code: 0, ...r };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('right CA: the report lists the stall traces the collector received; wrong CA: one TLS line and export_failed', async () => {
    const env = {
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=${encodeURIComponent(TOKEN)}`,
      OTEL_EXPORTER_OTLP_CERTIFICATE: pki.caFile,
    };
    const ok = await cli(['replay', SAMPLE, '--otlp-endpoint', receiver.url, '--relay', 'tls-cli'], env);
    expect(ok.code).toBe(0);
    const received = receiver.spans.filter((s) => s.service === 'tls-cli');
    const traceIds = [...ok.stdout.matchAll(/trace ([0-9a-f]{32})/g)].map((m) => m[1]);
    expect(traceIds).toHaveLength(4);
    for (const id of traceIds) expect(received.some((s) => s.traceId === id)).toBe(true);
    expect(ok.stdout).toMatch(/export_failed 0; export errors 0/);

    const bad = await cli(['replay', SAMPLE, '--otlp-endpoint', receiver.url, '--relay', 'tls-cli-bad'], {
      ...env,
      OTEL_EXPORTER_OTLP_CERTIFICATE: pki.wrongCaFile,
    });
    expect(bad.code).toBe(0);
    const tlsLines = bad.stderr.split('\n').filter((l) => l.includes('OTLP export failed: TLS'));
    expect(tlsLines).toHaveLength(1);
    expect(tlsLines[0]).toContain(`TLS with ${receiver.url}/v1/traces failed`);
    expect(tlsLines[0]).toContain(`OTEL_EXPORTER_OTLP_CERTIFICATE (${pki.wrongCaFile})`);
    expect(bad.stdout).toMatch(/0 spans exported .*export_failed [1-9]\d*; export errors [1-9]/);
  });
});

describe('the transport settings', () => {
  it('headers file: Name: value lines, comments and blanks skipped, value taken literally', () => {
    expect(readHeadersFile(headersFile)).toEqual({ Authorization: TOKEN, 'X-Scope-OrgID': 'tenant-a' });
  });

  it('headers file errors name the file and line, never the value', () => {
    const bad = (text: string): string => {
      const f = path.join(tmp, `bad-headers-${++runNo}`);
      writeFileSync(f, text, { mode: 0o600 });
      try {
        readHeadersFile(f);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as Error).message).not.toContain('s3cr3t');
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad('# ok\nAuthorization Bearer s3cr3t\n')).toMatch(/bad-headers-\d+:2: expected 'Name: value'/);
    expect(bad('Bad Name: s3cr3t\n')).toMatch(/:1: 'Bad Name' is not a header name/);
    expect(bad('Authorization:\n')).toMatch(/:1: header Authorization has no value/);
    expect(bad('authorization: s3cr3t\nAuthorization: s3cr3t\n')).toMatch(/:2: header Authorization appears twice/);
    expect(bad('# nothing\n\n')).toMatch(/holds no 'Name: value' line/);
    expect(() => readHeadersFile(path.join(tmp, 'missing'))).toThrow(/traces.headers_file: cannot read .*missing/);
  });

  it('a headers file others can read is used, with a warning', () => {
    const f = path.join(tmp, 'open-headers');
    writeFileSync(f, 'Authorization: Bearer x\n');
    chmodSync(f, 0o644);
    const warnings: string[] = [];
    expect(readHeadersFile(f, warnings)).toEqual({ Authorization: 'Bearer x' });
    expect(warnings).toEqual([`${f} holds secrets and is readable by every user (chmod 600 it)`]);
  });

  it('the variables win over the files: CA as a whole, headers name by name', () => {
    const t = otlpTransport(
      { endpoint: 'https://collector.example:4318', caFile: pki.wrongCaFile, headersFile },
      {
        OTEL_EXPORTER_OTLP_CERTIFICATE: pki.caFile,
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'AUTHORIZATION=Bearer%20from-env',
      },
    );
    expect(t.url).toBe('https://collector.example:4318/v1/traces');
    expect(t.caSource).toBe(`OTEL_EXPORTER_OTLP_CERTIFICATE (${pki.caFile})`);
    expect(t.exporterConfig.httpAgentOptions).toBeUndefined(); // the exporter builds its agent from the variable
    expect(t.exporterConfig.headers).toEqual({ 'X-Scope-OrgID': 'tenant-a' }); // Authorization: the variable's
    expect(t.headerSources).toEqual([
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS (AUTHORIZATION)',
      `traces.headers_file ${headersFile} (X-Scope-OrgID)`,
    ]);
  });

  it('unusable CA files fail at start, naming the setting; plain http with secrets is warned about', () => {
    expect(() => otlpTransport({ caFile: path.join(tmp, 'nope.pem') }, {})).toThrow(
      /^traces.ca_file: cannot read '.*nope.pem'/,
    );
    expect(() => otlpTransport({ caFile: headersFile }, {})).toThrow(/holds no PEM certificate/);
    expect(() => otlpTransport({}, { OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: path.join(tmp, 'nope.pem') })).toThrow(
      /^OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: cannot read/,
    );
    const t = otlpTransport({ endpoint: 'http://127.0.0.1:4318', caFile: pki.caFile, headersFile }, {});
    expect(t.warnings).toEqual([
      `traces.ca_file (${pki.caFile}) is not used: the endpoint http://127.0.0.1:4318/v1/traces is plain http`,
      `auth headers from ${headersFile} are sent in clear text to http://127.0.0.1:4318/v1/traces`,
    ]);
  });
});
