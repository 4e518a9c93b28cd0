/**
 * Sending the simulator's answers: sends delayed on timers that `stop()` can cancel, the answer
 * decided at receipt (`refuse`), and the send that records the status and completion time in the
 * call's log entry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '#local/autotask-sim/http.ts';
import type { SimCall, SimOutcome } from '#local/autotask-sim/types.ts';

export class Replies {
  /** Pending timers (delayed answers, held timeout faults), cancelled by `cancelTimers()`. */
  readonly timers = new Set<NodeJS.Timeout>();

  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  cancelTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** An answer decided at receipt: the body is drained, the errors envelope sent after `delayMs`. */
  refuse(
    req: IncomingMessage,
    res: ServerResponse,
    entry: SimCall,
    status: number,
    message: string,
    outcome: SimOutcome,
    delayMs: number,
  ): void {
    entry.outcome = outcome;
    req.resume();
    this.later(delayMs, () => this.sendCall(res, entry, status, { errors: [message] }, outcome));
  }

  sendCall(res: ServerResponse, entry: SimCall, status: number, body: unknown, outcome: SimOutcome): void {
    if (entry.outcome !== 'fault') entry.outcome = outcome;
    if (!sendJson(res, status, body)) return;
    entry.status = status;
    entry.doneAt = Date.now();
  }
}
