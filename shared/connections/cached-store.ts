import type { Connection } from '#shared/connections/model.ts';
import type { ConnectionStore } from '#shared/connections/store.ts';

/**
 * A warm worker reads each connection's settings at most every `ttlMs`, so settings changes reach
 * running workers within that time without one extra read per job.
 */
export class CachedConnections {
  private readonly cache = new Map<string, { at: number; value: Connection | undefined }>();
  /** Reads and zone discoveries under way: concurrent jobs of one container share them. */
  private readonly reading = new Map<string, Promise<Connection | undefined>>();
  private readonly discovering = new Map<string, Promise<string>>();
  /** Zones this container discovered, by connection and API user (connections listed before the
   *  zone was stored lack it). */
  private readonly zones = new Map<string, string>();

  constructor(
    private readonly store: ConnectionStore,
    private readonly ttlMs = 30_000,
    private readonly missingTtlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(connectionId: string): Promise<Connection | undefined> {
    const hit = this.cache.get(connectionId);
    const age = hit ? this.now() - hit.at : Number.POSITIVE_INFINITY;
    if (hit && age < (hit.value ? this.ttlMs : this.missingTtlMs)) return hit.value;
    return this.once(this.reading, connectionId, async () => {
      const value = await this.store.get(connectionId);
      this.cache.set(connectionId, { at: this.now(), value });
      return value;
    });
  }

  /**
   * The connection's zone URL: stored with its settings, or discovered (`discover`) and stored once
   * however many jobs of this container ask at the same time.
   */
  async zoneFor(connection: Connection, discover: () => Promise<string>): Promise<string> {
    if (connection.zoneUrl) return connection.zoneUrl;
    // keyed by API user too: another user may live in another zone
    const zoneKey = `${connection.connectionId}/${connection.apiUser}`;
    const cached = this.zones.get(zoneKey);
    if (cached) return cached;
    return this.once(this.discovering, zoneKey, async () => {
      const zoneUrl = await discover();
      await this.cacheZone(connection.connectionId, zoneUrl);
      this.zones.set(zoneKey, zoneUrl);
      return zoneUrl;
    });
  }

  private once<T>(running: Map<string, Promise<T>>, key: string, work: () => Promise<T>): Promise<T> {
    const current = running.get(key);
    if (current) return current;
    const started = work().finally(() => running.delete(key));
    running.set(key, started);
    return started;
  }

  async cacheZone(connectionId: string, zoneUrl: string): Promise<void> {
    await this.store.cacheZone(connectionId, zoneUrl);
    const hit = this.cache.get(connectionId);
    if (hit?.value) hit.value = { ...hit.value, zoneUrl };
  }

  invalidate(connectionId?: string): void {
    if (connectionId) this.cache.delete(connectionId);
    else this.cache.clear();
    for (const zoneKey of this.zones.keys())
      if (!connectionId || zoneKey.startsWith(`${connectionId}/`)) this.zones.delete(zoneKey);
  }
}
