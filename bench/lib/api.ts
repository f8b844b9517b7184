// A lean keep-alive HTTPS client for the load generator: populating 20,000 pods through
// client-node (a new TLS connection per request) would measure the generator, not critsvc.
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import type { ClusterState } from '../../scripts/cluster/state.ts';

export class RawApi {
  private readonly agent: Agent;
  private readonly base: URL;
  private readonly token: string;

  constructor(state: ClusterState) {
    this.base = new URL(state.server);
    this.token = state.token;
    this.agent = new Agent({ keepAlive: true, maxSockets: 64, ca: readFileSync(state.caFile) });
  }

  call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: T }> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.base.hostname,
          port: this.base.port,
          path,
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(data ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
        },
      );
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  async must<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await this.call<T>(method, path, body, contentType);
    if (res.status >= 300 && res.status !== 409)
      throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    return res.body;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `tasks` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

let nextNode = 0;

/**
 * A pod whose status the load generator reports itself (exact timing, no scheduler in the way):
 * bound to one of the local cluster's Nodes, marked so that kwok leaves its status alone.
 * node: another node name (see CHURN_NODE).
 */
export const podBody = (
  name: string,
  labels: Record<string, string>,
  node = `kwok-node-${nextNode++ % 3}`,
): object => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels, annotations: { 'critsvc.test/kubelet': 'manual' } },
  spec: { nodeName: node, containers: [{ name: 'app', image: 'nginx:1.27' }] },
});

/**
 * Churn pods are bound to a node no kwok manages: they live for under a second, and kwok, which
 * plays the kubelet of every pod on its Nodes, fell minutes behind on them at 200 events/s (it
 * retried deleting each one, already gone), so that the default pods it had to start or finish
 * waited past the trials' 120 s. Real kubelets share no such queue across nodes.
 */
export const CHURN_NODE = 'bench-churn-node';

/** A pod kwok starts (Running and Ready) as a kubelet would; gone 1 s after its deletion. */
export const kwokPodBody = (name: string, labels: Record<string, string>): object => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: {
    nodeName: `kwok-node-${nextNode++ % 3}`,
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'app', image: 'nginx:1.27' }],
  },
});

export const readyStatus = (): object => ({
  status: {
    phase: 'Running',
    podIP: '10.0.0.9',
    conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }],
  },
});
