/** The simulator's HTTP plumbing: headers, bounded request bodies, JSON answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SimHttpError } from '#local/autotask-sim/query.ts';

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SimHttpError(413, `The request body exceeds ${MAX_BODY_BYTES} bytes.`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away before sending the whole body'));
    });
  });

/** Sends `body` as JSON unless an answer already went out (or the client left); false then. */
export const sendJson = (res: ServerResponse, status: number, body: unknown): boolean => {
  if (res.headersSent || res.destroyed || res.writableEnded) return false;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
  return true;
};
