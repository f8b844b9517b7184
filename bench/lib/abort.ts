// A bench that fails stops what it started: the pipelines (each a Supervisor with four processes)
// and its cluster. Without it an unhandled rejection (a stray promise in a trial) ends Node at once
// and leaves the processes running, orphaned, on a 2-core machine shared with others.

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Registers the handler of unhandled rejections and returns the one for main()'s failure: either
 * stops every pipeline in `running` (as it is then), runs `cleanup`, and exits 1. Once only.
 */
export function abortOnFailure(o: {
  running: Iterable<Stoppable>;
  cleanup: () => Promise<unknown>;
  log: (line: string) => void;
}): (err: unknown) => Promise<void> {
  let aborting: Promise<void> | undefined;
  const abort = (err: unknown): Promise<void> =>
    (aborting ??= (async () => {
      o.log(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      for (const s of o.running) await s.stop().catch(() => undefined);
      await o.cleanup().catch(() => undefined);
      process.exit(1);
    })());
  process.on('unhandledRejection', (err) => {
    o.log('bench: unhandled rejection; stopping the pipelines it started');
    void abort(err);
  });
  return abort;
}
