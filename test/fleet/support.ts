/**
 * Shared by the web-config and fleet tests: certificates made here with openssl (a CA, a server
 * certificate for 127.0.0.1, a client certificate), child processes started and stopped by pid,
 * and waiting on a condition with a deadline (never a fixed sleep).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Certs {
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed nothing here: a client trusting only it must fail. */
  otherCa: string;
}

/** A CA, a server certificate (SAN IP:127.0.0.1, DNS:localhost) and a client certificate in `dir`. */
export function makeCerts(dir: string): Certs {
  const f = (name: string) => path.join(dir, name);
  const ossl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ca = (name: string) => {
    ossl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.crt`),
    );
  };
  ca('test-ca');
  ca('other-ca');
  const leaf = (name: string, ext: string) => {
    ossl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    );
    writeFileSync(f(`${name}.ext`), ext);
    ossl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('test-ca.crt'),
      '-CAkey',
      f('test-ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.crt`),
    );
  };
  leaf('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'subjectAltName=DNS:prometheus.central\nextendedKeyUsage=clientAuth\n');
  return {
    ca: f('test-ca.crt'),
    caKey: f('test-ca.key'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    otherCa: f('other-ca.crt'),
  };
}

export interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

export function start(cmd: string, args: string[], cwd: string, children: ChildProcess[]): Started {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, stdout: () => out, stderr: () => err };
}

/** SIGTERM by pid, SIGKILL after 5 s. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}

export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      last = `: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query against a Prometheus at `base`. */
export async function promQuery(base: string, q: string): Promise<PromSample[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: PromSample[] } };
  if (body.status !== 'success') throw new Error(`query ${q}: ${body.error ?? JSON.stringify(body)}`);
  return body.data.result;
}
