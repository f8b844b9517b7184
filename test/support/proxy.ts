// A TCP proxy that can go silent: while frozen it accepts and holds connections and data but
// forwards nothing, like a network path that stalls without closing.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class StallProxy {
  private frozen = false;
  private readonly flushers = new Set<() => void>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  static async start(targetPort: number): Promise<StallProxy> {
    const p = new StallProxy();
    p.server = createServer((client) => p.accept(client, targetPort));
    await new Promise<void>((r) => p.server?.listen(0, '127.0.0.1', () => r()));
    p.port = (p.server.address() as AddressInfo).port;
    return p;
  }

  private accept(client: Socket, targetPort: number): void {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    const held: [Socket, Buffer][] = [];
    const flush = (): void => {
      for (const [to, data] of held.splice(0)) to.write(data);
    };
    this.flushers.add(flush);
    client.on('close', () => this.flushers.delete(flush));
    const forward =
      (to: Socket) =>
      (data: Buffer): void => {
        if (this.frozen) held.push([to, data]);
        else to.write(data);
      };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
    for (const f of this.flushers) f();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
