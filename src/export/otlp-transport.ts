/**
 * How the OTLP exporter reaches the collector (docs/otlp-tls.md): the endpoint, a custom CA for
 * https, and auth headers. @opentelemetry/exporter-trace-otlp-http (0.223) already reads the
 * standard variables itself — OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, …_HEADERS (`k=v,k2=v2`,
 * URL-encoded), …_CERTIFICATE, …_CLIENT_CERTIFICATE / …_CLIENT_KEY, …_TIMEOUT, …_COMPRESSION —
 * so this module only adds what the config file gives (a CA file, a headers file holding the
 * secret) and checks the files up front: the exporter would only note an unreadable file on its
 * silent diag channel and then fail every request with an obscure TLS error.
 *
 * Precedence, as for every setting (defaults → config file → env → flags): the variables win over
 * the files, header by header; `--otlp-endpoint` wins over the variables.
 */
import { readFileSync, statSync } from 'node:fs';
import type { AgentOptions } from 'node:https';
import path from 'node:path';
import { ConfigError } from '../config-error.js';

export interface OtlpTransportOptions {
  /** `--otlp-endpoint`: a base URL (`/v1/traces` is appended) or the full traces URL. */
  endpoint?: string;
  /** PEM file of the CA(s) that signed the collector's certificate (`traces.ca_file`). */
  caFile?: string;
  /** File of auth headers, one `Name: value` per line (`traces.headers_file`): see readHeadersFile. */
  headersFile?: string;
}

/** What the OTLP exporter is given beyond what it reads from the environment itself. */
export interface OtlpExporterConfig {
  url?: string;
  headers?: Record<string, string>;
  httpAgentOptions?: AgentOptions;
}

export interface OtlpTransport {
  /** The traces URL requests go to (for messages). */
  url: string;
  exporterConfig: OtlpExporterConfig;
  /** Where the trusted CA comes from (for messages), null = Node's built-in CAs. */
  caSource: string | null;
  /** Where auth headers come from (for messages), names only: values are secrets. */
  headerSources: string[];
  /** Worth telling the operator once (a world-readable secret, a CA for a plain http endpoint). */
  warnings: string[];
}

type Env = Record<string, string | undefined>;

/** Traces are off unless an endpoint is configured: the flag, or the standard OTLP variables. */
export function tracesConfigured(endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(endpoint || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/** `--otlp-endpoint http://host:4318` → `http://host:4318/v1/traces` (as OTEL_EXPORTER_OTLP_ENDPOINT is read). */
export function tracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (!u.pathname.endsWith('/v1/traces')) u.pathname = u.pathname.replace(/\/?$/, '/v1/traces');
  return u.toString();
}

/** The URL the exporter will post to, by its own rules (the signal variable as is, the generic one + `v1/traces`). */
function effectiveUrl(endpoint: string | undefined, env: Env): string {
  if (endpoint) return tracesUrl(endpoint);
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (specific) return specific;
  const generic = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (generic) return generic.replace(/\/?$/, '/v1/traces');
  return 'http://localhost:4318/v1/traces';
}

/** Resolves endpoint, CA and headers; throws ConfigError naming the file or variable at fault. */
export function otlpTransport(options: OtlpTransportOptions, env: Env = process.env): OtlpTransport {
  const url = effectiveUrl(options.endpoint, env);
  const warnings: string[] = [];
  const exporterConfig: OtlpExporterConfig = options.endpoint ? { url } : {};
  const https = url.startsWith('https:');

  // CA: the variable (which the exporter reads) wins; it is checked here so a typo fails at start.
  let caSource: string | null = null;
  const envCa = envVar(env, 'CERTIFICATE');
  if (envCa !== null) {
    readPem(env[envCa]!, envCa, 'CERTIFICATE');
    caSource = `${envCa} (${env[envCa]})`;
  } else if (options.caFile !== undefined) {
    const agent: AgentOptions = { keepAlive: true, ca: readPem(options.caFile, 'traces.ca_file', 'CERTIFICATE') };
    // Our agent replaces the one the exporter builds from the variables: keep their client certificate.
    const cert = envVar(env, 'CLIENT_CERTIFICATE');
    const key = envVar(env, 'CLIENT_KEY');
    if (cert !== null) agent.cert = readPem(env[cert]!, cert, 'CERTIFICATE');
    if (key !== null) agent.key = readPem(env[key]!, key, 'PRIVATE KEY');
    exporterConfig.httpAgentOptions = agent;
    caSource = `traces.ca_file (${options.caFile})`;
  }
  if (caSource !== null && !https) warnings.push(`${caSource} is not used: the endpoint ${url} is plain http`);

  // Headers: the exporter merges the variables and ours, ours winning; drop ours that a variable names.
  const headerSources: string[] = [];
  const envNames = new Set<string>();
  for (const v of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    const names = headerNames(env[v]);
    if (names.length > 0) headerSources.push(`${v} (${names.join(', ')})`);
    for (const n of names) envNames.add(n.toLowerCase());
  }
  if (options.headersFile !== undefined) {
    const fromFile = readHeadersFile(options.headersFile, warnings);
    const used: Record<string, string> = {};
    for (const [name, value] of Object.entries(fromFile)) if (!envNames.has(name.toLowerCase())) used[name] = value;
    const names = Object.keys(used);
    if (names.length > 0) {
      exporterConfig.headers = used;
      headerSources.push(`traces.headers_file ${options.headersFile} (${names.join(', ')})`);
    }
    if (!https) warnings.push(`auth headers from ${options.headersFile} are sent in clear text to ${url}`);
  }
  return { url, exporterConfig, caSource, headerSources, warnings };
}

/** OTEL_EXPORTER_OTLP_TRACES_<what> if set, else OTEL_EXPORTER_OTLP_<what>, else null: the variable's name. */
function envVar(env: Env, what: string): string | null {
  for (const name of [`OTEL_EXPORTER_OTLP_TRACES_${what}`, `OTEL_EXPORTER_OTLP_${what}`]) if (env[name]) return name;
  return null;
}

/** A PEM file's text; ConfigError when it cannot be read or holds no `-----BEGIN <label>`. */
function readPem(file: string, what: string, label: string): string {
  let text: string;
  try {
    // Relative to the working directory, as the exporter reads the variables' paths.
    text = readFileSync(path.resolve(file), 'utf8');
  } catch (err) {
    throw new ConfigError(`${what}: cannot read '${file}': ${(err as Error).message}`);
  }
  if (!text.includes(`-----BEGIN `) || !text.includes(label))
    throw new ConfigError(`${what}: '${file}' holds no PEM ${label.toLowerCase()} (-----BEGIN …-----)`);
  return text;
}

/** Header names in a `k=v,k2=v2` variable (URL-encoded, as the OTel spec has it). Values are not looked at. */
function headerNames(raw: string | undefined): string[] {
  const names: string[] = [];
  if (!raw) return names;
  for (const pair of raw.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    try {
      const name = decodeURIComponent(pair.slice(0, eq).trim());
      if (name) names.push(name);
    } catch {
      // not URL-encoded properly: the exporter skips the pair too
    }
  }
  return names;
}

/** RFC 9110 token: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters other than tab cannot be in a header value. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * A headers file: one `Name: value` per line, as in an HTTP request (`Authorization: Bearer …`).
 * Blank lines and lines starting with `#` are skipped; spaces around name and value are trimmed;
 * the value is taken literally (no URL-decoding, commas and `=` allowed). A name may appear once.
 * Errors name the file and line, never the value (it is a secret). A file that other users may
 * read is accepted with a warning.
 */
export function readHeadersFile(file: string, warnings: string[] = []): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path.resolve(file), 'utf8');
    if ((statSync(path.resolve(file)).mode & 0o004) !== 0)
      warnings.push(`${file} holds secrets and is readable by every user (chmod 600 it)`);
  } catch (err) {
    throw new ConfigError(`traces.headers_file: cannot read '${file}': ${(err as Error).message}`);
  }
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `traces.headers_file ${file}:${i + 1}`;
    const colon = line.indexOf(':');
    if (colon < 0) throw new ConfigError(`${at}: expected 'Name: value'`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name)) throw new ConfigError(`${at}: '${name}' is not a header name`);
    if (value === '') throw new ConfigError(`${at}: header ${name} has no value`);
    if (BAD_VALUE_CHAR.test(value)) throw new ConfigError(`${at}: header ${name}'s value has a control character`);
    if (seen.has(name.toLowerCase())) throw new ConfigError(`${at}: header ${name} appears twice`);
    seen.add(name.toLowerCase());
    headers[name] = value;
  }
  if (seen.size === 0) throw new ConfigError(`traces.headers_file: '${file}' holds no 'Name: value' line`);
  return headers;
}

/** Node's codes for a failed TLS handshake or certificate check. */
function isTlsError(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('CERT_') ||
    code.includes('SELF_SIGNED') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'EPROTO'
  );
}

/** Where to look, by TLS error. */
function tlsHint(code: string, t: OtlpTransport): string {
  if (code === 'EPROTO') return "the port does not speak TLS (use http://, or the collector's TLS port)";
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return "the collector's certificate does not name the endpoint's host (subjectAltName)";
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return "check the certificate's dates and this machine's clock";
  const ca = t.caSource ?? "Node's built-in CAs (set traces.ca_file or OTEL_EXPORTER_OTLP_CERTIFICATE)";
  return `the collector's certificate must be signed by a CA in ${ca}`;
}

/**
 * An export error as the operator needs it: what failed, against which URL, and where to look.
 * `key` groups errors of one kind (each kind is logged once when first seen).
 */
export function describeExportError(err: Error | undefined, t: OtlpTransport): { key: string; text: string } {
  if (err === undefined) return { key: 'unknown', text: `export to ${t.url} failed` };
  const code = (err as { code?: unknown }).code;
  // OpenSSL's messages may span lines and carry its error queue: keep one line and the reason.
  const message = err.message
    .replace(/\s+/g, ' ')
    .replace(/\b[0-9A-F]{8,}:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):\S*/g, '$1')
    .trim();
  if (typeof code === 'number') {
    // OTLPExporterError: the collector answered with an HTTP error status.
    const auth =
      code === 401 || code === 403
        ? `; check the auth headers (${t.headerSources.length > 0 ? t.headerSources.join(', ') : 'none are configured: traces.headers_file or OTEL_EXPORTER_OTLP_HEADERS'})`
        : '';
    return { key: `http ${code}`, text: `${t.url} answered HTTP ${code} ${message}${auth}` };
  }
  if (typeof code === 'string' && isTlsError(code)) {
    return { key: code, text: `TLS with ${t.url} failed: ${message} (${code}); ${tlsHint(code, t)}` };
  }
  const suffix = typeof code === 'string' ? ` (${code})` : '';
  return {
    key: typeof code === 'string' ? code : err.message,
    text: `export to ${t.url} failed: ${message}${suffix}`,
  };
}
