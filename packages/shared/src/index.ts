export { ConfigError, describeEnv, loadHandlerConfig, loadWatcherConfig, LOG_LEVELS, redact } from './config.ts';
export type { HandlerConfig, WatcherConfig } from './config.ts';
export { createLogger } from './logger.ts';
export type { Logger } from './logger.ts';
export { KINDS, objectKey } from './types.ts';
export type { Kind, KubeObject, ObjectMeta, OwnerReference, QueueJob, SyncJob, WatchEventType, WatchJob } from './types.ts';
