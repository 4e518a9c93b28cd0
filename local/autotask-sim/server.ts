/**
 * A simulated Autotask REST API on loopback (node:http only): the `Simulator` holds the HTTP
 * server, the settings and the data, answers the public API (`AutotaskSimulator`) and hands every
 * request to the pipeline that enforces the real limits (requests.ts, which lists them).
 *
 * Control plane under `/_sim/`: control.ts. Settings: knobs.ts. Call logs and the window counter:
 * call-log.ts. Injected faults: faults.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallLog } from '#local/autotask-sim/call-log.ts';
import type { Controllable, PendingFaultView } from '#local/autotask-sim/control.ts';
import { FaultInjector } from '#local/autotask-sim/faults.ts';
import { DEFAULT_KNOBS, mergeKnobs } from '#local/autotask-sim/knobs.ts';
import { OtherLoad } from '#local/autotask-sim/other-load.ts';
import { Replies } from '#local/autotask-sim/replies.ts';
import { RequestPipeline } from '#local/autotask-sim/requests.ts';
import { SimStore } from '#local/autotask-sim/store.ts';
import type {
  AutotaskSimulator,
  SimCall,
  SimFault,
  SimKnobs,
  SimOptions,
  SimUsage,
} from '#local/autotask-sim/types.ts';

export class Simulator implements Controllable {
  url = '';
  zoneDiscoveryUrl = '';
  private settings: SimKnobs;
  private store: SimStore;
  private readonly server: Server;
  private readonly callLog = new CallLog(() => this.settings);
  private readonly replies = new Replies();
  private readonly faults = new FaultInjector(this.replies, () => this.settings);
  private readonly requests = new RequestPipeline({
    sim: this,
    callLog: this.callLog,
    faults: this.faults,
    replies: this.replies,
    settings: () => this.settings,
    store: () => this.store,
  });
  private readonly otherLoad = new OtherLoad((n) => this.addOtherCalls(n));
  private stopping: Promise<void> | null = null;

  constructor(options: SimOptions = {}) {
    this.settings = mergeKnobs(DEFAULT_KNOBS, options);
    this.store = new SimStore(this.settings.seedTickets);
    this.server = createServer((req, res) => this.requests.handle(req, res));
    this.server.keepAliveTimeout = 5_000;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${address.port}`;
    this.zoneDiscoveryUrl = `${this.url}/atservicesrest`;
    this.restartOtherLoad();
  }

  // ---------------------------------------------------------------- public API

  calls(filter: { source?: 'ours' | 'other'; sinceSeq?: number } = {}): SimCall[] {
    return this.callLog.calls(filter);
  }

  zoneLookups(): SimCall[] {
    return this.callLog.zoneLookups();
  }

  windowTotal(at: number = Date.now()): number {
    return this.callLog.windowTotal(at);
  }

  maxInRollingWindow(opts: { source?: 'ours' | 'other' | 'all'; from?: number; to?: number } = {}): number {
    return this.callLog.maxInRollingWindow(opts);
  }

  usage(): SimUsage {
    return this.callLog.usage();
  }

  setKnobs(k: Partial<SimOptions>): void {
    const before = this.settings;
    this.settings = mergeKnobs(before, k);
    if (this.settings.seedTickets !== before.seedTickets)
      this.store = new SimStore(this.settings.seedTickets);
    if (k.otherIntegrations !== undefined || this.settings.windowSeconds !== before.windowSeconds) {
      this.restartOtherLoad();
    }
  }

  knobs(): SimKnobs {
    return {
      ...this.settings,
      users: this.settings.users.map((u) => ({ ...u })),
      otherIntegrations: { ...this.settings.otherIntegrations },
    };
  }

  injectFault(f: SimFault): void {
    this.faults.inject(f);
  }

  addOtherCalls(n: number): void {
    this.callLog.addOtherCalls(n);
  }

  pendingFaults(): PendingFaultView[] {
    return this.faults.pending();
  }

  reset(): void {
    this.callLog.clear();
    this.faults.clear();
    this.restartOtherLoad();
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      this.otherLoad.stop();
      this.replies.cancelTimers();
      this.stopping = new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    }
    return this.stopping;
  }

  // ---------------------------------------------------------------- other integrations' load

  private restartOtherLoad(): void {
    const o = this.settings.otherIntegrations;
    this.otherLoad.start({
      requestsPerWindow: o.requestsPerWindow,
      bursty: o.bursty,
      burstEverySeconds:
        o.burstEverySeconds > 0 ? o.burstEverySeconds : Math.max(1, this.settings.windowSeconds / 10),
      windowSeconds: this.settings.windowSeconds,
    });
  }
}

export const startAutotaskSimulator = async (
  opts: SimOptions & { port?: number } = {},
): Promise<AutotaskSimulator> => {
  const { port = 0, ...options } = opts;
  const sim = new Simulator(options);
  await sim.listen(port);
  return sim;
};
