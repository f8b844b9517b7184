// /healthz, /readyz and /metrics for probes and Prometheus.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';

export interface HttpEndpoint {
  port: number;
  close(): Promise<void>;
}

export interface HttpOptions {
  host: string;
  port: number;
  registry: Registry;
  /** undefined = ready; otherwise why not. */
  notReady: () => string | undefined;
  /** undefined = alive (the default); otherwise why the process should be restarted. */
  notLive?: () => string | undefined;
  log: Logger;
}

export function startHttp(opts: HttpOptions): Promise<HttpEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez') {
      const why = opts.notLive?.();
      if (why) opts.log.error({ why }, 'liveness check failing');
      res.writeHead(why ? 503 : 200, { 'content-type': 'text/plain' }).end(why ? `not alive: ${why}\n` : 'ok\n');
    } else if (path === '/readyz') {
      const why = opts.notReady();
      res.writeHead(why ? 503 : 200, { 'content-type': 'text/plain' }).end(why ? `not ready: ${why}\n` : 'ok\n');
    } else if (path === '/metrics') {
      opts.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body),
        (err: unknown) => {
          opts.log.error({ err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`HTTP_PORT ${opts.port} on ${opts.host}: ${err.message}`, { cause: err })),
    );
    server.listen(opts.port, opts.host, () => {
      const port = (server.address() as AddressInfo).port;
      opts.log.info({ port }, 'http endpoint listening (/healthz /readyz /metrics)');
      resolve({
        port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
