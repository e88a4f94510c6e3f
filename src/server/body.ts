import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { formatPath } from '../config/schema.js';
import { HttpError } from './errors.js';

/**
 * Read a request body of at most `maxBytes`. A declared Content-Length over the limit is refused
 * before a byte is read; a body that grows past it while streaming is refused at that point.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(
      413,
      'payload_too_large',
      `the body is larger than ${maxBytes} bytes (server.maxBodyBytes); requests to kaizen are small JSON objects`,
      { connection: 'close' },
    );
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * A JSON request body checked against `schema`: 415 for another content type, 400 (with the
 * field and what was expected) for no body, bad JSON or a field that does not fit.
 */
export async function readJson<S extends z.ZodType>(
  req: IncomingMessage,
  maxBytes: number,
  schema: S,
  example: string,
): Promise<z.infer<S>> {
  const type = req.headers['content-type'];
  const raw = await readBody(req, maxBytes);
  if (raw.length === 0) throw new HttpError(400, 'bad_request', `send a JSON body such as ${example}`);
  if (!type || !/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `send the body as JSON with "Content-Type: application/json" (got ${type ? JSON.stringify(type) : 'no Content-Type'})`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new HttpError(
      400,
      'bad_request',
      `the body is not valid JSON (${(err as Error).message}); send one such as ${example}`,
    );
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const where = formatPath(i.path);
      const message =
        i.code === 'unrecognized_keys'
          ? `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`
          : i.message;
      return where ? `${where}: ${message}` : message;
    });
    throw new HttpError(400, 'bad_request', `${problems.join('; ')}; send a body such as ${example}`);
  }
  return result.data;
}
