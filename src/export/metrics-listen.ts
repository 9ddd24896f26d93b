/**
 * Where the metrics endpoint listens: the default and `--metrics-listen`'s syntax. A module of
 * its own: the config model needs these and must not load the server (and with it prom-client,
 * the web config, the tailer) to get them.
 */
export const DEFAULT_METRICS_HOST = '127.0.0.1';
export const DEFAULT_METRICS_PORT = 9464;

/** `HOST:PORT`, `:PORT`, `PORT` or `[v6]:PORT` → host and port; throws on anything else. */
export function parseListen(value: string): { host: string; port: number } {
  let host = DEFAULT_METRICS_HOST;
  let portText = value;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(value);
  if (v6) {
    host = v6[1];
    portText = v6[2];
  } else {
    const colon = value.lastIndexOf(':');
    if (colon > 0) host = value.slice(0, colon);
    if (colon >= 0) portText = value.slice(colon + 1);
  }
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535 || (!v6 && host.includes(':'))) {
    throw new Error(`'${value}' is not HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464)`);
  }
  return { host, port };
}
