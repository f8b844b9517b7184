// dashboard: bull-board on the critsvc queue — waiting/active/completed/failed jobs (named by
// object: `Pod DELETED default/nginx`), their payloads and the throughput chart.
// Read-only unless DASHBOARD_READ_ONLY=false; basic auth when a user is configured.
import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  configOrExit,
  createLogger,
  loadDashboardConfig,
  onShutdown,
  redact,
  redisOptions,
  runMain,
} from '@critsvc/shared';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function basicAuth(user: string, password: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const [scheme, encoded] = (req.headers.authorization ?? '').split(' ');
    const [u = '', p = ''] =
      scheme === 'Basic' && encoded ? Buffer.from(encoded, 'base64').toString().split(/:(.*)/s) : [];
    if (same(u, user) && same(p, password)) return next();
    res.set('WWW-Authenticate', 'Basic realm="critsvc queue"').status(401).send('authentication required\n');
  };
}

runMain('dashboard', async () => {
  const config = configOrExit('dashboard', () => loadDashboardConfig(process.env));
  const log = createLogger(config.LOG_LEVEL, 'dashboard');
  // skipMetasUpdate: a Queue writes its meta hash on start, which the dashboard's read-only Redis user may not.
  const queue = new Queue(config.QUEUE_NAME, {
    connection: { ...redisOptions(config.REDIS_URL), maxRetriesPerRequest: null },
    skipMetasUpdate: true,
  });
  queue.on('error', (err) => log.warn({ err }, 'redis connection error; reconnecting'));

  const board = new ExpressAdapter();
  board.setBasePath('/');
  // showMetrics: the queue page's throughput chart (jobs/min completed and failed), from the
  // per-minute counts the handler's Worker keeps in Redis.
  createBullBoard({
    queues: [new BullMQAdapter(queue, { readOnlyMode: config.DASHBOARD_READ_ONLY, displayName: config.QUEUE_NAME })],
    serverAdapter: board,
    options: { uiConfig: { showMetrics: true, boardTitle: 'critsvc queue' } },
  });

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  if (config.DASHBOARD_USER) app.use(basicAuth(config.DASHBOARD_USER, config.DASHBOARD_PASSWORD));
  app.use('/', board.getRouter());

  const server = app.listen(config.DASHBOARD_PORT, config.DASHBOARD_HOST, () => {
    const addr = server.address();
    log.info(
      {
        port: typeof addr === 'object' && addr ? addr.port : config.DASHBOARD_PORT,
        queue: config.QUEUE_NAME,
        redis: redact(config.REDIS_URL),
        readOnly: config.DASHBOARD_READ_ONLY,
        auth: Boolean(config.DASHBOARD_USER),
      },
      'queue dashboard listening',
    );
  });
  onShutdown(log, [
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
    () => queue.close(),
  ]);
});
