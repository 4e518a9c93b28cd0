/**
 * Synthetic requests from the other integrations that share the database's cap (an RMM, billing,
 * reporting tools...): `requestsPerWindow` on average per window, either spread evenly (a tick at
 * most every second, carrying the fractional remainder so the long-run rate is exact) or in bursts
 * every `burstEverySeconds`, the first one at start, each holding that period's share. Timers are unref'd so they never keep a process alive.
 */
export interface OtherLoadSettings {
  requestsPerWindow: number;
  bursty: boolean;
  burstEverySeconds: number;
  windowSeconds: number;
}

const MIN_TICK_MS = 20;
const MAX_TICK_MS = 1000;

export class OtherLoad {
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private recorded = 0;

  constructor(private readonly record: (n: number) => void) {}

  /** (Re)starts the load with new settings; requestsPerWindow 0 stops it. */
  start(settings: OtherLoadSettings): void {
    this.stop();
    const { requestsPerWindow, bursty, burstEverySeconds, windowSeconds } = settings;
    if (!(requestsPerWindow > 0) || !(windowSeconds > 0)) return;
    const perMs = requestsPerWindow / (windowSeconds * 1000);
    const tickMs = bursty
      ? Math.max(MIN_TICK_MS, burstEverySeconds * 1000)
      : Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, 1 / perMs));
    this.startedAt = Date.now();
    this.recorded = 0;
    let bursts = 0;
    const tick = () => {
      // A burst covers the period it starts; steady load catches up with the time elapsed.
      const horizon = bursty ? ++bursts * tickMs : Date.now() - this.startedAt;
      const due = Math.floor(horizon * perMs) - this.recorded;
      if (due > 0) {
        this.recorded += due;
        this.record(due);
      }
    };
    if (bursty) tick();
    this.timer = setInterval(tick, tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
