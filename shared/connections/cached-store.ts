import { isAutotaskZone, ZONE_URL_FORM } from '#shared/autotask/zones.ts';
import type { Connection } from '#shared/connections/model.ts';
import type { ConnectionStore } from '#shared/connections/store.ts';
import { ConfigError } from '#shared/errors.ts';

export interface CachedConnectionsOptions {
  /** The zones requests may go to (shared/autotask/zones.ts `zonePolicy`); default Autotask's only. */
  allowsZone?: (zoneUrl: string) => boolean;
  ttlMs?: number;
  missingTtlMs?: number;
  now?: () => number;
}

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

  private readonly allowsZone: (zoneUrl: string) => boolean;
  private readonly ttlMs: number;
  private readonly missingTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: ConnectionStore,
    options: CachedConnectionsOptions = {},
  ) {
    this.allowsZone = options.allowsZone ?? isAutotaskZone;
    this.ttlMs = options.ttlMs ?? 30_000;
    this.missingTtlMs = options.missingTtlMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

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
   * however many jobs of this container ask at the same time. A stored zone that is not an Autotask
   * zone (written before settings were checked, or by hand) is a ConfigError: nothing is sent to it.
   */
  async zoneFor(connection: Connection, discover: () => Promise<string>): Promise<string> {
    if (connection.zoneUrl) {
      if (this.allowsZone(connection.zoneUrl)) return connection.zoneUrl;
      throw new ConfigError(
        `connection "${connection.connectionId}": its zoneUrl is not an Autotask zone (${ZONE_URL_FORM}); nothing was sent`,
      );
    }
    // keyed by API user too: another user may live in another zone
    const zoneKey = `${connection.connectionId}/${connection.apiUser}`;
    const cached = this.zones.get(zoneKey);
    if (cached) return cached;
    return this.once(this.discovering, zoneKey, async () => {
      const zoneUrl = await discover();
      if (!this.allowsZone(zoneUrl))
        throw new ConfigError(
          `zone discovery answered a zone that is not an Autotask zone (${ZONE_URL_FORM})`,
        );
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
