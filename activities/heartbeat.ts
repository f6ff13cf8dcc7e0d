import { Context } from '@temporalio/activity';

/**
 * Heartbeat every `everyMs` while `work` runs, so one long database call (a scan of a large collection, a
 * bulk write of a big page) is not taken for a lost worker when it outlasts the heartbeat timeout. A worker
 * that really died stops heartbeating with it.
 */
export async function heartbeatWhile<T>(work: Promise<T>, everyMs = 5_000): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
