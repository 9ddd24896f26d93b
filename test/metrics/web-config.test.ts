/**
 * `--web-config-file`: the exporter-toolkit format is read and checked (unknown keys, bad hashes,
 * missing or unloadable certificates are clear errors), and the endpoint then serves over real TLS
 * with basic auth: right credentials → 200, wrong or none → 401 with `WWW-Authenticate: Basic`,
 * `/healthz` open without credentials, plain HTTP to the TLS port gets no HTTP answer, a client
 * trusting another CA fails the handshake, and client certificates are enforced as configured.
 * Certificates are made here with openssl.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PollscopeMetrics } from '../../src/export/metrics.js';
import { startMetricsServer, type MetricsServer } from '../../src/export/metrics-server.js';
import { loadWebConfig, parseWebConfig, WebConfigError } from '../../src/export/web-config.js';
import { ROOT } from '../helpers.js';
import { makeCerts, type Certs } from '../fleet/support.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-webcfg-'));
let certs: Certs;
// htpasswd writes $2y$; bcryptjs writes $2b$ — the same algorithm, both must be accepted.
const HASH = bcrypt.hashSync('s3cret', 10).replace(/^\$2b\$/, '$2y$');

function webConfig(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
function get(url: string, opts: { ca?: string; auth?: string; cert?: string; key?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        headers: opts.auth ? { authorization: `Basic ${Buffer.from(opts.auth).toString('base64')}` } : {},
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Writes an HTTP request in plain text to the port; resolves with whatever came back before the close. */
function plainHttp(port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1', () => sock.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'));
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    sock.on('error', () => resolve(got));
    sock.on('close', () => resolve(got));
  });
}

const pem = (file: string) => readFileSync(file, 'utf8');

beforeAll(() => {
  certs = makeCerts(tmp);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('web config file: parsing and validation', () => {
  const bad = (text: string) => () => parseWebConfig(text, path.join(tmp, 'web.yml'));

  it('reads the exporter-toolkit keys, relative paths beside the file, defaults TLS 1.2..1.3', () => {
    const cfg = loadWebConfig(
      webConfig(
        'ok.yml',
        [
          'tls_server_config:',
          '  cert_file: server.crt', // relative to the web config file, as upstream
          '  key_file: server.key',
          'http_server_config:',
          '  http2: true',
          '  headers:',
          '    X-Frame-Options: deny',
          'basic_auth_users:',
          `  prometheus: ${HASH}`,
        ].join('\n'),
      ),
    );
    expect(cfg.tls?.minVersion).toBe('TLSv1.2');
    expect(cfg.tls?.maxVersion).toBe('TLSv1.3');
    expect(cfg.tls?.clientAuth).toBe('NoClientCert');
    expect(cfg.tls?.cert).toBe(pem(certs.serverCert));
    expect([...cfg.users.keys()]).toEqual(['prometheus']);
    expect(cfg.headers).toEqual({ 'X-Frame-Options': 'deny' });
    expect(parseWebConfig('', 'x.yml')).toMatchObject({ tls: null, users: new Map() });
  });

  it('refuses unknown, unsupported and malformed settings with the key in the message', () => {
    const cases: [string, RegExp][] = [
      ['tls_server_config:\n  cert_fil: a\n', /unknown key tls_server_config\.cert_fil/],
      ['basic_auth_user:\n  a: b\n', /unknown key 'basic_auth_user'/],
      ['basic_auth_users:\n  prometheus: plaintext\n', /basic_auth_users\.prometheus: not a bcrypt hash/],
      ['tls_server_config:\n  key_file: server.key\n', /missing one of cert or cert_file/],
      [`tls_server_config:\n  cert_file: ${certs.serverCert}\n`, /missing one of key or key_file/],
      [
        `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.clientKey}\n`,
        /certificate and key do not load/,
      ],
      [`tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n`, /cert_file: cannot read the certificate/],
      [
        `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n  min_version: TLS14\n`,
        /min_version: 'TLS14' is not one of TLS10, TLS11, TLS12, TLS13/,
      ],
      [
        `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n  client_ca_file: ${certs.ca}\n`,
        /client CA's have been configured without a client_auth_type/,
      ],
      [
        `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n`,
        /cipher_suites is not supported/,
      ],
      ['http_server_config:\n  headers:\n    Server: x\n', /HTTP header 'Server' can not be configured/],
      ['- a\n', /a mapping/],
      ['a: [\n', /not valid YAML/],
    ];
    for (const [text, message] of cases) {
      expect(bad(text)).toThrow(WebConfigError);
      expect(bad(text)).toThrow(message);
    }
    expect(() => loadWebConfig(path.join(tmp, 'missing.yml'))).toThrow(/web config .*missing\.yml: ENOENT/);
  });
});

describe('the metrics endpoint with a web config', () => {
  const servers: MetricsServer[] = [];
  const metrics = new PollscopeMetrics({ live: true });
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  async function serve(text: string): Promise<MetricsServer> {
    const s = await startMetricsServer(metrics, {
      host: '127.0.0.1',
      port: 0,
      webConfig: loadWebConfig(webConfig(`srv-${servers.length}.yml`, text)),
    });
    servers.push(s);
    return s;
  }
  const tlsPart = () => `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n`;

  it('TLS + basic auth: 200 with the password, 401 without or with a wrong one, /healthz open', async () => {
    const s = await serve(`${tlsPart()}basic_auth_users:\n  prometheus: ${HASH}\n`);
    expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = pem(certs.ca);
    const ok = await get(`${s.url}/metrics`, { ca, auth: 'prometheus:s3cret' });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('pollscope_');
    const again = await get(`${s.url}/metrics`, { ca, auth: 'prometheus:s3cret' }); // from the cache
    expect(again.status).toBe(200);
    for (const auth of ['prometheus:wrong', 'nobody:s3cret', undefined]) {
      const r = await get(`${s.url}/metrics`, { ca, auth });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic');
      expect(r.body).not.toContain('pollscope_');
    }
    expect((await get(`${s.url}/readyz`, { ca })).status).toBe(401);
    expect((await get(`${s.url}/healthz`, { ca })).status).toBe(200);
    // Plain HTTP to the TLS port: no HTTP answer at all, the connection is dropped.
    const plain = await plainHttp(s.port);
    expect(plain).not.toMatch(/^HTTP\//);
    expect(plain).not.toContain('pollscope_');
    // A client trusting another CA refuses the server's certificate.
    await expect(get(`${s.url}/healthz`, { ca: pem(certs.otherCa) })).rejects.toThrow(/certificate/i);
  });

  it('min_version TLS13 refuses a TLS 1.2 client', async () => {
    const s = await serve(`${tlsPart()}  min_version: TLS13\n`);
    const ca = pem(certs.ca);
    expect((await get(`${s.url}/healthz`, { ca })).status).toBe(200);
    const tls12 = new Promise<Reply>((resolve, reject) => {
      const req = request(`${s.url}/healthz`, { ca, maxVersion: 'TLSv1.2', agent: false }, (res) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' }),
      );
      req.on('error', reject);
      req.end();
    });
    await expect(tls12).rejects.toThrow(/version|protocol|alert/i);
  });

  it('client certificates: RequireAndVerifyClientCert refuses none, client_allowed_sans refuses others', async () => {
    const ca = pem(certs.ca);
    const client = { ca, cert: pem(certs.clientCert), key: pem(certs.clientKey) };
    const strict = await serve(
      `${tlsPart()}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${certs.ca}\n`,
    );
    expect((await get(`${strict.url}/metrics`, client)).status).toBe(200);
    await expect(get(`${strict.url}/metrics`, { ca })).rejects.toThrow();
    const sans = await serve(
      `${tlsPart()}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${certs.ca}\n  client_allowed_sans: [someone.else]\n`,
    );
    const r = await get(`${sans.url}/metrics`, client);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/client_allowed_sans/);
    const allowed = await serve(
      `${tlsPart()}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${certs.ca}\n  client_allowed_sans: [prometheus.central]\n`,
    );
    expect((await get(`${allowed.url}/metrics`, client)).status).toBe(200);
  });

  it('a renewed certificate and a changed password apply without a restart; a broken file keeps the running config', async () => {
    const file = webConfig('rotating.yml', `${tlsPart()}basic_auth_users:\n  prometheus: ${HASH}\n`);
    const s = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0, webConfig: loadWebConfig(file) });
    servers.push(s);
    const watcher = s.webConfig!;
    expect(watcher.check()).toBe('unchanged');
    const ca = pem(certs.ca);
    expect((await get(`${s.url}/metrics`, { ca, auth: 'prometheus:s3cret' })).status).toBe(200);
    // New password, same file size: picked up at the next look.
    const newHash = bcrypt.hashSync('n3wpass', 10);
    writeFileSync(file, `${tlsPart()}basic_auth_users:\n  prometheus: ${newHash}\n`);
    expect(watcher.check()).toBe('reloaded');
    expect((await get(`${s.url}/metrics`, { ca, auth: 'prometheus:s3cret' })).status).toBe(401);
    expect((await get(`${s.url}/metrics`, { ca, auth: 'prometheus:n3wpass' })).status).toBe(200);
    // A certificate from another CA, renewed in place: new connections get it.
    const renewed = makeCerts(mkdtempSync(path.join(tmp, 'renewed-')));
    writeFileSync(certs.serverCert + '.bak', pem(certs.serverCert));
    writeFileSync(certs.serverKey + '.bak', pem(certs.serverKey));
    try {
      writeFileSync(certs.serverCert, pem(renewed.serverCert));
      writeFileSync(certs.serverKey, pem(renewed.serverKey));
      expect(watcher.check()).toBe('reloaded');
      expect((await get(`${s.url}/healthz`, { ca: pem(renewed.ca) })).status).toBe(200);
      await expect(get(`${s.url}/healthz`, { ca })).rejects.toThrow(/certificate/i);
    } finally {
      writeFileSync(certs.serverCert, pem(certs.serverCert + '.bak'));
      writeFileSync(certs.serverKey, pem(certs.serverKey + '.bak'));
    }
    expect(watcher.check()).toBe('reloaded');
    expect((await get(`${s.url}/healthz`, { ca })).status).toBe(200);
    // Broken, then TLS switched off: both refused, the running config goes on.
    writeFileSync(file, `${tlsPart()}basic_auth_users:\n  prometheus: plaintext\n`);
    expect(watcher.check()).toBe('kept');
    writeFileSync(file, `basic_auth_users:\n  prometheus: ${HASH}\n`);
    expect(watcher.check()).toBe('kept');
    expect((await get(`${s.url}/metrics`, { ca, auth: 'prometheus:n3wpass' })).status).toBe(200);
  });

  it('basic auth without TLS (behind a TLS-terminating proxy) and an empty file keep plain HTTP', async () => {
    const s = await serve(`basic_auth_users:\n  prometheus: ${HASH}\n`);
    expect(s.url).toMatch(/^http:\/\//);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    const auth = { authorization: `Basic ${Buffer.from('prometheus:s3cret').toString('base64')}` };
    expect((await fetch(`${s.url}/metrics`, { headers: auth })).status).toBe(200);
    const empty = await serve('');
    expect((await fetch(`${empty.url}/metrics`)).status).toBe(200);
  });

  it('`pollscope run` refuses a bad web config at start, exit 2, naming the key', async () => {
    const file = webConfig('bad.yml', 'basic_auth_users:\n  prometheus: plaintext\n');
    const log = path.join(tmp, 'r.log');
    writeFileSync(log, '');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          path.join(ROOT, 'dist/cli.js'),
          'run',
          '--log',
          log,
          '--checkpoint',
          path.join(tmp, 'cp.json'),
          '--metrics-listen',
          '127.0.0.1:0',
          '--web-config-file',
          file,
        ],
        { timeout: 20_000 },
        (err, _stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/bad\.yml: basic_auth_users\.prometheus: not a bcrypt hash/);
  });
});
