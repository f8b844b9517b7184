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

/** Runs every cleanup step once, even when one fails, then exits. */
export function onShutdown(log: Logger, steps: (() => Promise<void>)[]): () => Promise<void> {
  let done: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    done ??= (async () => {
      log.info('shutting down');
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          log.error({ err }, 'shutdown step failed');
        }
      }
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
