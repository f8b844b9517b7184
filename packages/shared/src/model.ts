// `@critsvc/shared/model`: the queue's types and pure helpers, with no dependency. The handler's
// decision model (apps/handler/src/model) imports this, never the `@critsvc/shared` barrel, which
// loads client-node, BullMQ, ioredis, pino, prom-client and undici. Lint keeps this file and
// types.ts free of imports; the model's isolation test checks it at runtime.
export { KINDS, objectKey } from './types.ts';
export type {
  Kind,
  KubeObject,
  ObjectMeta,
  OwnerReference,
  QueueJob,
  SyncJob,
  WatchEventType,
  WatchJob,
} from './types.ts';
