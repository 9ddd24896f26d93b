/**
 * Shared by the web-config and fleet tests: certificates made here with openssl (a CA, a server
 * certificate for 127.0.0.1, a client certificate). Processes, waits and Prometheus: ../helpers.ts.
 */
import { execFileSync } from 'node:child_process';
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
