/**
 * `--web-config-file`: TLS and basic auth for the metrics endpoint, in the format of the Prometheus
 * exporter-toolkit (github.com/prometheus/exporter-toolkit, web/tls_config.go), so a file written
 * for node_exporter works here unchanged:
 *
 *   tls_server_config:
 *     cert_file: server.crt          # or cert: inline PEM
 *     key_file: server.key           # or key: inline PEM
 *     min_version: TLS12             # TLS10..TLS13; default TLS12 (max_version default TLS13)
 *     client_auth_type: RequireAndVerifyClientCert   # optional, with client_ca_file / client_ca
 *     client_ca_file: ca.crt
 *     client_allowed_sans: [prometheus.example]      # optional
 *   http_server_config:
 *     headers: { Strict-Transport-Security: max-age=31536000 }
 *   basic_auth_users:
 *     prometheus: $2y$10$...         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\n')
 *
 * Relative file paths are relative to the web config file, as upstream. Keys upstream knows but
 * pollscope cannot honour with Node's TLS (cipher_suites, curve_preferences, rate_limit) are refused
 * with a message saying so, rather than silently ignored; unknown keys are refused like upstream's
 * strict YAML decoding does. Everything is checked when the file is read, so a bad file fails at
 * start, never at the first scrape.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import path from 'node:path';
import { createSecureContext, type SecureVersion, type TLSSocket, type TlsOptions } from 'node:tls';
import bcrypt from 'bcryptjs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config-error.js';

/** A ConfigError, so `run` reports it like any bad setting (exit 2). */
export class WebConfigError extends ConfigError {}

export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';

export interface WebTlsConfig {
  cert: string;
  key: string;
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  clientAuth: ClientAuthType;
  /** PEM of the CAs client certificates must chain to; null without one. */
  clientCa: string | null;
  /** A client certificate must carry one of these SANs (DNS, email, IP or URI); null = any. */
  clientAllowedSans: string[] | null;
}

export interface WebConfig {
  /** The file it was read from (absolute). */
  file: string;
  tls: WebTlsConfig | null;
  /** user → bcrypt hash; empty = no authentication. */
  users: Map<string, string>;
  /** Extra response headers (the few upstream allows). */
  headers: Record<string, string>;
  /** Every file it was read from (the web config, certificate, key, client CA): watched for changes. */
  files: string[];
}

const TLS_VERSIONS: Record<string, SecureVersion> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
const CLIENT_AUTH: Record<string, ClientAuthType> = {
  '': 'NoClientCert',
  NoClientCert: 'NoClientCert',
  RequestClientCert: 'RequestClientCert',
  RequireAnyClientCert: 'RequireAnyClientCert',
  RequireClientCert: 'RequireAnyClientCert', // upstream keeps this old spelling
  VerifyClientCertIfGiven: 'VerifyClientCertIfGiven',
  RequireAndVerifyClientCert: 'RequireAndVerifyClientCert',
};
/** Headers upstream lets a web config set, with the values it allows (empty = any). */
const ALLOWED_HEADERS: Record<string, string[]> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};
/** $2a$/$2b$/$2y$, cost, 22 salt + 31 hash characters: what bcrypt (and upstream's bcrypt.Cost) accepts. */
const BCRYPT_HASH = /^\$2[aby]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;
const TLS_KEYS = new Set([
  'cert',
  'key',
  'client_ca',
  'cert_file',
  'key_file',
  'client_auth_type',
  'client_ca_file',
  'min_version',
  'max_version',
  'prefer_server_cipher_suites',
  'client_allowed_sans',
]);
/** Upstream keys Node's TLS cannot honour as upstream means them: refused, with the reason. */
const UNSUPPORTED: Record<string, string> = {
  'tls_server_config.cipher_suites': 'Go cipher suite names; pollscope uses OpenSSL/Node defaults',
  'tls_server_config.curve_preferences': 'Go curve names; pollscope uses OpenSSL/Node defaults',
  rate_limit: 'no request rate limiter in pollscope',
};

/** Reads and checks a web config file; throws WebConfigError naming the file and the key. */
export function loadWebConfig(file: string): WebConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new WebConfigError(`web config ${file}: ${(err as Error).message}`);
  }
  return parseWebConfig(text, abs);
}

/** Parses web config text; `file` names it in errors and anchors relative paths. */
export function parseWebConfig(text: string, file: string): WebConfig {
  const fail = (msg: string): never => {
    throw new WebConfigError(`web config ${file}: ${msg}`);
  };
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    fail(`not valid YAML: ${(err as Error).message}`);
  }
  const dir = path.dirname(file);
  const cfg: WebConfig = { file, tls: null, users: new Map(), headers: {}, files: [file] };
  if (doc === null || doc === undefined) return cfg; // an empty file: plain HTTP, as upstream
  const top = mapping(doc, '(top level)', fail);
  for (const [k, v] of Object.entries(top)) {
    if (k === 'tls_server_config') {
      if (v !== null) cfg.tls = tlsConfig(mapping(v, k, fail), dir, fail, cfg.files);
    } else if (k === 'basic_auth_users') {
      if (v === null) continue;
      for (const [user, hash] of Object.entries(mapping(v, k, fail))) {
        if (typeof hash !== 'string') fail(`basic_auth_users.${user}: a bcrypt hash string is expected`);
        if (!BCRYPT_HASH.test(hash as string))
          fail(`basic_auth_users.${user}: not a bcrypt hash (expected $2y$10$..., e.g. from htpasswd -nBC 10)`);
        cfg.users.set(user, hash as string);
      }
    } else if (k === 'http_server_config') {
      if (v === null) continue;
      for (const [hk, hv] of Object.entries(mapping(v, k, fail))) {
        if (hk === 'http2') {
          if (typeof hv !== 'boolean') fail('http_server_config.http2: true or false expected');
          // Accepted for compatibility: the endpoint speaks HTTP/1.1, which every scraper does.
        } else if (hk === 'headers') {
          if (hv === null) continue;
          for (const [name, value] of Object.entries(mapping(hv, 'http_server_config.headers', fail))) {
            const allowed = ALLOWED_HEADERS[name];
            if (!allowed) fail(`http_server_config.headers: HTTP header '${name}' can not be configured`);
            if (typeof value !== 'string') fail(`http_server_config.headers.${name}: a string is expected`);
            if (allowed.length > 0 && !allowed.includes(value as string))
              fail(`http_server_config.headers.${name}: expected one of ${allowed.join(', ')}, got '${String(value)}'`);
            cfg.headers[name] = value as string;
          }
        } else fail(`unknown key http_server_config.${hk} (known: http2, headers)`);
      }
    } else if (UNSUPPORTED[k]) fail(`${k} is not supported: ${UNSUPPORTED[k]}`);
    else fail(`unknown key '${k}' (known: tls_server_config, http_server_config, basic_auth_users)`);
  }
  return cfg;
}

function mapping(v: unknown, where: string, fail: (m: string) => never): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${where}: a mapping (key: value) is expected`);
  return v as Record<string, unknown>;
}

function tlsConfig(t: Record<string, unknown>, dir: string, fail: (m: string) => never, files: string[]): WebTlsConfig {
  for (const k of Object.keys(t)) {
    const full = `tls_server_config.${k}`;
    if (UNSUPPORTED[full]) fail(`${full} is not supported: ${UNSUPPORTED[full]}`);
    if (!TLS_KEYS.has(k)) fail(`unknown key ${full} (known: ${[...TLS_KEYS].join(', ')})`);
  }
  const str = (k: string): string | null => {
    const v = t[k];
    if (v === undefined || v === null || v === '') return null;
    if (typeof v !== 'string') fail(`tls_server_config.${k}: a string is expected`);
    return v;
  };
  const read = (k: string, what: string): string | null => {
    const p = str(k);
    if (p === null) return null;
    const abs = path.resolve(dir, p);
    files.push(abs);
    try {
      return readFileSync(abs, 'utf8');
    } catch (err) {
      return fail(`tls_server_config.${k}: cannot read ${what} ${abs}: ${(err as Error).message}`);
    }
  };
  const cert = read('cert_file', 'the certificate') ?? str('cert');
  const key = read('key_file', 'the key') ?? str('key');
  if (cert === null) fail('tls_server_config: missing one of cert or cert_file');
  if (key === null) fail('tls_server_config: missing one of key or key_file');
  const version = (k: string, dflt: SecureVersion): SecureVersion => {
    const v = str(k);
    if (v === null) return dflt;
    const mapped = TLS_VERSIONS[v];
    if (!mapped) fail(`tls_server_config.${k}: '${v}' is not one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
    return mapped;
  };
  const minVersion = version('min_version', 'TLSv1.2');
  const maxVersion = version('max_version', 'TLSv1.3');
  const rank = (v: SecureVersion) => Object.values(TLS_VERSIONS).indexOf(v);
  if (rank(minVersion) > rank(maxVersion)) fail('tls_server_config: min_version is above max_version');
  const authText = str('client_auth_type') ?? '';
  const clientAuth = CLIENT_AUTH[authText];
  if (!clientAuth)
    fail(
      `tls_server_config.client_auth_type: '${authText}' is not one of ${Object.keys(CLIENT_AUTH).slice(1).join(', ')}`,
    );
  const clientCa = read('client_ca_file', 'the client CA') ?? str('client_ca');
  if (clientCa !== null && clientAuth === 'NoClientCert')
    fail("tls_server_config: client CA's have been configured without a client_auth_type");
  if ((clientAuth === 'RequireAndVerifyClientCert' || clientAuth === 'VerifyClientCertIfGiven') && clientCa === null)
    fail(`tls_server_config: client_auth_type ${clientAuth} needs client_ca_file (or client_ca)`);
  let clientAllowedSans: string[] | null = null;
  if (t.client_allowed_sans !== undefined && t.client_allowed_sans !== null) {
    if (!Array.isArray(t.client_allowed_sans) || !t.client_allowed_sans.every((s) => typeof s === 'string'))
      fail('tls_server_config.client_allowed_sans: a list of strings is expected');
    clientAllowedSans = t.client_allowed_sans;
  }
  if (t.prefer_server_cipher_suites !== undefined && typeof t.prefer_server_cipher_suites !== 'boolean')
    fail('tls_server_config.prefer_server_cipher_suites: true or false expected');
  const tls: WebTlsConfig = { cert: cert, key: key, minVersion, maxVersion, clientAuth, clientCa, clientAllowedSans };
  try {
    createSecureContext(tlsServerOptions(tls)); // the pair must load now, not at the first handshake
  } catch (err) {
    fail(`tls_server_config: the certificate and key do not load: ${(err as Error).message}`);
  }
  return tls;
}

/** Options for https.createServer. Client certificates are checked further in `clientCertProblem`. */
export function tlsServerOptions(tls: WebTlsConfig): TlsOptions {
  const wantCert = tls.clientAuth !== 'NoClientCert';
  return {
    cert: tls.cert,
    key: tls.key,
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    honorCipherOrder: true,
    requestCert: wantCert,
    // Only RequireAndVerifyClientCert lets OpenSSL refuse the handshake itself; the laxer modes
    // need a look at the certificate after it (clientCertProblem).
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
    ...(tls.clientCa !== null ? { ca: tls.clientCa } : {}),
  };
}

/** Why a TLS connection's client certificate is not acceptable under the config; null = fine. */
export function clientCertProblem(tls: WebTlsConfig, socket: TLSSocket): string | null {
  if (tls.clientAuth === 'NoClientCert' || tls.clientAuth === 'RequestClientCert') return null;
  const peer = socket.getPeerX509Certificate();
  if (!peer) return tls.clientAuth === 'VerifyClientCertIfGiven' ? null : 'a client certificate is required';
  if (tls.clientAuth !== 'RequireAnyClientCert' && !socket.authorized)
    return `client certificate not verified: ${String(socket.authorizationError)}`;
  if (tls.clientAllowedSans !== null && !sansOf(peer).some((s) => tls.clientAllowedSans!.includes(s)))
    return 'client certificate carries none of client_allowed_sans';
  return null;
}

function sansOf(cert: X509Certificate): string[] {
  // "DNS:a, IP Address:127.0.0.1, email:x@y, URI:spiffe://…" → the values.
  return (cert.subjectAltName ?? '')
    .split(', ')
    .map((s) => s.slice(s.indexOf(':') + 1))
    .filter((s) => s !== '');
}

/**
 * Wraps a request listener with the web config's headers and basic auth. `open` paths are served
 * without credentials (the metrics endpoint keeps `/healthz` open for probes; docs/metrics.md).
 * bcrypt is slow on purpose (tens of ms in pure JS), so results are cached per user, hash and
 * password digest, as upstream does; an unknown user is compared against a dummy hash so that
 * timing does not tell which users exist.
 */
export function withWebConfig(
  current: () => WebConfig,
  open: ReadonlySet<string>,
  next: RequestListener,
): RequestListener {
  const cache = new Map<string, boolean>();
  const DUMMY = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
  const deny = (res: ServerResponse, status: number, msg: string) => {
    const body = `${msg}\n`;
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      ...(status === 401 ? { 'WWW-Authenticate': 'Basic' } : {}),
    });
    res.end(body);
  };
  return (req: IncomingMessage, res: ServerResponse) => {
    const cfg = current();
    for (const [name, value] of Object.entries(cfg.headers)) res.setHeader(name, value);
    if (cfg.tls !== null) {
      const problem = clientCertProblem(cfg.tls, req.socket as TLSSocket);
      if (problem !== null) return deny(res, 403, `forbidden: ${problem}`);
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if (cfg.users.size === 0 || open.has(q < 0 ? url : url.slice(0, q))) return next(req, res);
    const creds = basicCredentials(req.headers.authorization);
    if (creds === null) return deny(res, 401, 'unauthorized');
    const hash = cfg.users.get(creds.user);
    const cacheKey = createHash('sha256')
      .update(`${creds.user}\0${hash ?? ''}\0${creds.password}`)
      .digest('base64');
    const known = cache.get(cacheKey);
    const decide = (ok: boolean) => (ok && hash !== undefined ? next(req, res) : deny(res, 401, 'unauthorized'));
    if (known !== undefined) return decide(known);
    bcrypt.compare(creds.password, hash ?? DUMMY).then(
      (ok) => {
        if (cache.size >= 1000) cache.clear(); // bounded: a flood of wrong passwords cannot grow it
        cache.set(cacheKey, ok);
        decide(ok);
      },
      () => deny(res, 401, 'unauthorized'),
    );
  };
}

function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  if (header === undefined || !/^basic /i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Certificates get renewed (certbot, cert-manager) and passwords changed while the daemon runs:
 * upstream re-reads its files at every request and handshake. Here a cheap stat of every file the
 * config came from, every `intervalMs`, re-reads it when one changed; the new certificate applies
 * to new connections, the new users to the next request. A file that no longer loads is reported
 * and the running config kept. Turning TLS on or off needs a restart (the listener's kind).
 */
export class WebConfigWatcher {
  private stamp: string;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    public config: WebConfig,
    private readonly tlsServer: { setSecureContext(options: TlsOptions): void } | null,
    private readonly warn: (message: string) => void = (m) => process.stderr.write(`pollscope: ${m}\n`),
  ) {
    this.stamp = fingerprint(config.files);
  }

  /** Looks now: 'unchanged', 'reloaded', or 'kept' (changed but not loadable; warned). */
  check(): 'unchanged' | 'reloaded' | 'kept' {
    const stamp = fingerprint(this.config.files);
    if (stamp === this.stamp) return 'unchanged';
    this.stamp = stamp;
    let next: WebConfig;
    try {
      next = loadWebConfig(this.config.file);
    } catch (err) {
      this.warn(`${(err as Error).message}; keeping the running web config`);
      return 'kept';
    }
    if ((next.tls === null) !== (this.config.tls === null)) {
      this.warn(
        `web config ${this.config.file}: turning TLS on or off needs a restart; keeping the running web config`,
      );
      return 'kept';
    }
    if (next.tls !== null) this.tlsServer?.setSecureContext(tlsServerOptions(next.tls));
    this.config = next;
    this.stamp = fingerprint(next.files); // a config may now name other files
    this.warn(`web config ${next.file}: reloaded`);
    return 'reloaded';
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

function fingerprint(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const st = statSync(f);
        return `${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}
