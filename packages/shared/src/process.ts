// What every process's main() shares: config errors as readable lines, one idempotent
// shutdown on SIGTERM/SIGINT, and no crash from a stray rejected promise.
import { ConfigError } from './config.ts';
import type { Logger } from './logger.ts';

/** Loads the config or exits 1 with one line per problem (before any logger exists). */
export function configOrExit<T>(name: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.problems) process.stderr.write(`${name}: invalid configuration: ${line}\n`);
    } else {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  }
}

const STEP_TIMEOUT_MS = 5_000;

/** Resolves with the step, or after the timeout: a stuck connection must not block exit. */
async function bounded(step: () => Promise<void>, log: Logger, index: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), STEP_TIMEOUT_MS);
  });
  try {
    if ((await Promise.race([step(), timeout])) === 'timeout')
      log.warn({ step: index, ms: STEP_TIMEOUT_MS }, 'shutdown step timed out; going on');
  } catch (err) {
    log.error({ err, step: index }, 'shutdown step failed');
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every cleanup step once (each bounded in time), even when one fails, then exits. */
export function onShutdown(log: Logger, steps: (() => Promise<void>)[]): () => Promise<void> {
  let done: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    done ??= (async () => {
      log.info('shutting down');
      for (const [i, step] of steps.entries()) await bounded(step, log, i);
      log.info('stopped');
    })();
    return done;
  };
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      void shutdown().then(() => process.exit(0));
    });
  }
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection (ignored)'));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });
  return shutdown;
}

/** Runs main, turning a start-up failure into one readable line and exit 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
