/**
 * The simulator's control plane under `/_sim/` (not counted, not authenticated): GET
 * calls?sinceSeq=&source=, GET zone-lookups, GET usage, GET|POST knobs, POST faults, POST
 * other-calls {n}, POST reset.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '#local/autotask-sim/http.ts';
import { isFiniteNumber } from '#local/autotask-sim/knobs.ts';
import type { AutotaskSimulator, SimFault, SimOptions } from '#local/autotask-sim/types.ts';

/** A fault still to hit requests, as POST faults answers it. */
export interface PendingFaultView {
  kind: string;
  left: number;
  match: unknown;
}

/** What the control plane reads and changes: the simulator's API plus its pending faults. */
export interface Controllable extends AutotaskSimulator {
  pendingFaults(): PendingFaultView[];
}

export const control = async (
  sim: Controllable,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
): Promise<void> => {
  const action = url.pathname
    .replace(/^\/_sim\/?/i, '')
    .replace(/\/+$/, '')
    .toLowerCase();
  let input: Record<string, unknown> = {};
  const raw = await readBody(req);
  if (raw.trim() !== '') {
    try {
      input = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      sendJson(res, 400, { errors: ['The body is not valid JSON.'] });
      return;
    }
  }
  const route = `${method} ${action}`;
  try {
    switch (route) {
      case 'GET calls': {
        const since = url.searchParams.get('sinceSeq');
        const source = url.searchParams.get('source');
        if (source !== null && source !== 'ours' && source !== 'other')
          throw new Error('source must be ours or other');
        sendJson(
          res,
          200,
          sim.calls({
            ...(since ? { sinceSeq: Number(since) } : {}),
            ...(source ? { source } : {}),
          }),
        );
        return;
      }
      case 'GET zone-lookups':
        sendJson(res, 200, sim.zoneLookups());
        return;
      case 'GET usage':
        sendJson(res, 200, sim.usage());
        return;
      case 'GET knobs':
        sendJson(res, 200, sim.knobs());
        return;
      case 'POST knobs':
        sim.setKnobs(input as Partial<SimOptions>);
        sendJson(res, 200, sim.knobs());
        return;
      case 'POST faults':
        sim.injectFault(input as unknown as SimFault);
        sendJson(res, 200, {
          pending: sim.pendingFaults(),
        });
        return;
      case 'POST other-calls': {
        const n = input.n;
        if (!isFiniteNumber(n) || n < 0) throw new Error('n must be a number >= 0');
        sim.addOtherCalls(Math.floor(n));
        sendJson(res, 200, { windowTotal: sim.windowTotal() });
        return;
      }
      case 'POST reset':
        sim.reset();
        sendJson(res, 200, { reset: true });
        return;
      default:
        sendJson(res, 404, {
          errors: [
            `Unknown control "${route}". Try GET calls|zone-lookups|usage|knobs, POST knobs|faults|other-calls|reset.`,
          ],
        });
    }
  } catch (err) {
    sendJson(res, 400, { errors: [(err as Error).message] });
  }
};
