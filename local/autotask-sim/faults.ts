/**
 * Fault injection: the faults still to hit requests, which request a fault matches, and how each
 * kind takes over the answer (an errors envelope, a destroyed socket, or a 60 s hold then close).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PendingFaultView } from '#local/autotask-sim/control.ts';
import { isFiniteNumber } from '#local/autotask-sim/knobs.ts';
import type { Replies } from '#local/autotask-sim/replies.ts';
import type { SimCall, SimFault, SimKnobs } from '#local/autotask-sim/types.ts';

const TIMEOUT_FAULT_MS = 60_000;

type PendingFault = SimFault & { left: number };

export class FaultInjector {
  private faults: PendingFault[] = [];

  /** `settings` reads the simulator's current knobs (replaced on every change). */
  constructor(
    private readonly replies: Replies,
    private readonly settings: () => SimKnobs,
  ) {}

  inject(f: SimFault): void {
    const kinds = ['http500', 'timeout', 'reset', 'http400'];
    if (!f || !kinds.includes(f.kind)) throw new Error(`fault kind must be one of ${kinds.join(', ')}`);
    if (!isFiniteNumber(f.count) || f.count < 1) throw new Error('fault count must be a number >= 1');
    this.faults.push({
      kind: f.kind,
      count: f.count,
      left: Math.floor(f.count),
      ...(f.match ? { match: { ...f.match } } : {}),
    });
  }

  pending(): PendingFaultView[] {
    return this.faults.map((f) => ({ kind: f.kind, left: f.left, match: f.match ?? null }));
  }

  clear(): void {
    this.faults = [];
  }

  /** Applies the first pending fault matching the request; true when it took over the answer. */
  apply(req: IncomingMessage, res: ServerResponse, entry: SimCall, below: string): boolean {
    const relative = `/${below.replace(/^v1\.0\/?/i, '')}`.toLowerCase();
    const full = entry.path.toLowerCase();
    const fault = this.faults.find((f) => {
      if (f.left <= 0) return false;
      if (f.match?.method && f.match.method.toUpperCase() !== entry.method) return false;
      const prefix = f.match?.pathPrefix?.toLowerCase();
      return !prefix || full.startsWith(prefix) || relative.startsWith(prefix);
    });
    if (!fault) return false;
    fault.left--;
    this.faults = this.faults.filter((f) => f.left > 0);
    entry.outcome = 'fault';
    const base = this.settings().baseLatencyMs;
    switch (fault.kind) {
      case 'http500':
        this.replies.refuse(req, res, entry, 500, 'Simulated server error (injected fault).', 'fault', base);
        break;
      case 'http400':
        this.replies.refuse(req, res, entry, 400, 'Simulated bad request (injected fault).', 'fault', base);
        break;
      case 'reset':
        entry.doneAt = Date.now();
        req.socket.destroy();
        break;
      case 'timeout': {
        req.resume();
        const timer = setTimeout(() => {
          this.replies.timers.delete(timer);
          req.socket.destroy();
        }, TIMEOUT_FAULT_MS);
        timer.unref();
        this.replies.timers.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          this.replies.timers.delete(timer);
        });
        break;
      }
    }
    return true;
  }
}
