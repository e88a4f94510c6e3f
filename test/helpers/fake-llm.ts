import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

/*
 * A real local HTTP server speaking the two wire formats kaizen's providers use:
 *   POST /v1/messages          Anthropic Messages
 *   POST /v1/chat/completions  OpenAI Chat Completions (also /chat/completions)
 * The test queues replies (one per request, in order, whatever the endpoint) and reads back every
 * request received. Nothing leaves 127.0.0.1.
 */

export interface FakeUsage {
  input?: number;
  output?: number;
}

export type FakeReply =
  /** The object as the model's structured answer: a tool_use block / a tool call, or text. */
  | { type: 'json'; value: unknown; as?: 'tool' | 'text' | 'fenced'; usage?: FakeUsage }
  /** Verbatim model text (malformed JSON, truncated JSON, prose). */
  | { type: 'text'; text: string; stopReason?: 'end' | 'max_tokens'; usage?: FakeUsage }
  /** An HTTP error in the endpoint's own error shape. */
  | { type: 'error'; status: number; errorType?: string; message?: string; headers?: Record<string, string> }
  /** Accept the request and never answer (until close()). */
  | { type: 'hang' }
  /** Anything else, verbatim. */
  | { type: 'raw'; status: number; body: string; headers?: Record<string, string> };

export interface FakeRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body (or the text when it was not JSON). */
  body: unknown;
}

export const reply = {
  tool: (value: unknown, usage?: FakeUsage): FakeReply => ({
    type: 'json',
    value,
    as: 'tool',
    ...(usage ? { usage } : {}),
  }),
  jsonText: (value: unknown): FakeReply => ({ type: 'json', value, as: 'text' }),
  fenced: (value: unknown): FakeReply => ({ type: 'json', value, as: 'fenced' }),
  text: (text: string, stopReason?: 'end' | 'max_tokens'): FakeReply => ({
    type: 'text',
    text,
    ...(stopReason ? { stopReason } : {}),
  }),
  malformed: (): FakeReply => ({ type: 'text', text: '{"proposals": [ {"title": "x",, } ]' }),
  /** The first `keep` characters of the JSON, cut off at the output limit. */
  truncated: (value: unknown, keep = 40): FakeReply => ({
    type: 'text',
    text: JSON.stringify(value).slice(0, keep),
    stopReason: 'max_tokens',
  }),
  /** A JSON text answer of about `chars` characters. */
  oversized: (chars: number): FakeReply => ({
    type: 'text',
    text: JSON.stringify({ proposals: [], padding: 'x'.repeat(chars) }),
  }),
  rateLimited: (retryAfter = '0'): FakeReply => ({
    type: 'error',
    status: 429,
    errorType: 'rate_limit_error',
    message: 'Number of requests has exceeded your rate limit',
    headers: { 'retry-after': retryAfter },
  }),
  serverError: (): FakeReply => ({
    type: 'error',
    status: 500,
    errorType: 'api_error',
    message: 'Internal server error',
  }),
  overloaded: (): FakeReply => ({
    type: 'error',
    status: 529,
    errorType: 'overloaded_error',
    message: 'Overloaded',
  }),
  hang: (): FakeReply => ({ type: 'hang' }),
};

export interface FakeLlm {
  /** http://127.0.0.1:PORT — the Anthropic SDK's baseURL. */
  url: string;
  /** http://127.0.0.1:PORT/v1 — the OpenAI SDK's baseURL. */
  openaiBaseURL: string;
  /** Every request received, in order. */
  requests: FakeRequest[];
  queue(...replies: FakeReply[]): void;
  /** Replies still queued. */
  readonly pending: number;
  close(): Promise<void>;
}

const SCHEMA_TOOL_FALLBACK = 'answer';

export async function startFakeLlm(): Promise<FakeLlm> {
  const queue: FakeReply[] = [];
  const requests: FakeRequest[] = [];
  const sockets = new Set<Socket>();
  let seq = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        // keep the text
      }
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
      const wire =
        path === '/v1/messages'
          ? 'anthropic'
          : /^(\/v1)?\/chat\/completions$/.test(path)
            ? 'openai'
            : undefined;
      if (req.method !== 'POST' || !wire) {
        send(res, 404, {
          error: { type: 'not_found_error', message: `fake-llm: no route ${req.method} ${path}` },
        });
        return;
      }
      const next = queue.shift();
      if (!next) {
        // Not retryable, so a test that forgot to queue fails at once.
        send(res, 400, errorBody(wire, 'invalid_request_error', 'fake-llm: no reply queued'), {
          'x-should-retry': 'false',
        });
        return;
      }
      seq++;
      const model = isRecord(body) && typeof body['model'] === 'string' ? body['model'] : 'fake-model';
      const toolName = requestedName(wire, body);
      switch (next.type) {
        case 'hang':
          return; // never answer
        case 'raw':
          res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
          res.end(next.body);
          return;
        case 'error':
          send(
            res,
            next.status,
            errorBody(wire, next.errorType ?? 'api_error', next.message ?? `HTTP ${next.status}`),
            next.headers,
          );
          return;
        case 'json':
        case 'text': {
          const usage = { input: next.usage?.input ?? 120, output: next.usage?.output ?? 80 };
          const out =
            next.type === 'text'
              ? { kind: 'text' as const, text: next.text, cut: next.stopReason === 'max_tokens' }
              : next.as === 'tool' || next.as === undefined
                ? { kind: 'tool' as const, value: next.value }
                : {
                    kind: 'text' as const,
                    text:
                      next.as === 'fenced'
                        ? `Here is the object:\n\n\`\`\`json\n${JSON.stringify(next.value, null, 2)}\n\`\`\`\n`
                        : JSON.stringify(next.value),
                    cut: false,
                  };
          send(
            res,
            200,
            wire === 'anthropic'
              ? anthropicMessage(seq, model, toolName, out, usage)
              : openaiCompletion(seq, model, toolName, out, usage),
          );
          return;
        }
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    openaiBaseURL: `${url}/v1`,
    requests,
    queue: (...replies) => void queue.push(...replies),
    get pending() {
      return queue.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

type Out = { kind: 'tool'; value: unknown } | { kind: 'text'; text: string; cut: boolean };

function anthropicMessage(
  seq: number,
  model: string,
  toolName: string,
  out: Out,
  usage: { input: number; output: number },
): unknown {
  return {
    id: `msg_fake_${seq}`,
    type: 'message',
    role: 'assistant',
    model,
    content:
      out.kind === 'tool'
        ? [{ type: 'tool_use', id: `toolu_fake_${seq}`, name: toolName, input: out.value }]
        : [{ type: 'text', text: out.text }],
    stop_reason: out.kind === 'tool' ? 'tool_use' : out.cut ? 'max_tokens' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: usage.input, output_tokens: usage.output },
  };
}

function openaiCompletion(
  seq: number,
  model: string,
  toolName: string,
  out: Out,
  usage: { input: number; output: number },
): unknown {
  const message =
    out.kind === 'tool'
      ? {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: `call_fake_${seq}`,
              type: 'function',
              function: { name: toolName, arguments: JSON.stringify(out.value) },
            },
          ],
        }
      : { role: 'assistant', content: out.text, refusal: null };
  return {
    id: `chatcmpl-fake-${seq}`,
    object: 'chat.completion',
    created: 1_767_614_400,
    model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: out.kind === 'tool' ? 'tool_calls' : out.cut ? 'length' : 'stop',
      },
    ],
    usage: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
    },
  };
}

function errorBody(wire: 'anthropic' | 'openai', type: string, message: string): unknown {
  return wire === 'anthropic'
    ? { type: 'error', error: { type, message } }
    : { error: { message, type, param: null, code: type } };
}

function requestedName(wire: 'anthropic' | 'openai', body: unknown): string {
  if (!isRecord(body)) return SCHEMA_TOOL_FALLBACK;
  if (wire === 'anthropic') {
    const choice = body['tool_choice'];
    if (isRecord(choice) && typeof choice['name'] === 'string') return choice['name'];
  } else {
    const rf = body['response_format'];
    if (isRecord(rf) && isRecord(rf['json_schema']) && typeof rf['json_schema']['name'] === 'string')
      return rf['json_schema']['name'];
  }
  return SCHEMA_TOOL_FALLBACK;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
