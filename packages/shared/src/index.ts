export { Backoff, sleep } from './backoff.ts';
export { preciseNow } from './clock.ts';
export {
  ConfigError,
  describeEnv,
  loadDashboardConfig,
  loadHandlerConfig,
  loadWatcherConfig,
  LOG_LEVELS,
} from './config.ts';
export { redact } from './config-validators.ts';
export type { DashboardConfig, HandlerConfig, WatcherConfig } from './config.ts';
export { startHttp } from './http.ts';
export type { HttpEndpoint } from './http.ts';
export {
  apiMessage,
  getJson,
  httpStatus,
  isTransient,
  logError,
  loadKubeConfig,
  requestJson,
  sharedDispatcher,
} from './kube.ts';
export { listerFor, listPage, listPodPage, POD_LIST_PAGE } from './kube-list.ts';
export type { Lister, RawPage } from './kube-list.ts';
export { ListWatcher } from './list-watcher.ts';
export type { ListedJob, ListPage, WatchTarget } from './list-watcher.ts';
export { createLogger } from './logger.ts';
export type { Logger } from './logger.ts';
export { Outbox } from './outbox.ts';
export { configOrExit, onShutdown, runMain } from './process.ts';
export { fastPathChannel, fastPathMessage, JOB_OPTIONS, jobName, QueueProducer, redisOptions } from './queue.ts';
export type { FastPathOptions } from './queue.ts';
export {
  queueKeys,
  REDIS_ADMIN_RULES,
  REDIS_ADMIN_USER,
  REDIS_DEFAULT_USER_RULES,
  REDIS_USERS,
  redisAclRules,
  redisPasswordKey,
  redisUserArgs,
  redisUserUrl,
} from './redis-acl.ts';
export type { RedisProcess, RedisRole } from './redis-acl.ts';
export { stripObject } from './strip.ts';
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
export { runWatcher, STAGE_BUCKETS } from './watcher-runtime.ts';
export type { WatcherSpec } from './watcher-runtime.ts';
export { CRD_GROUP, CRD_PLURAL, CRD_VERSION, criticalServiceTargets, podTargets, serviceTargets } from './targets.ts';
