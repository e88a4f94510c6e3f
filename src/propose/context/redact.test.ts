import { describe, expect, it } from 'vitest';
import { REDACTED, isSecretKey, redact } from './redact.js';

/** Planted secrets: `secret` must vanish from the output, `keep` (if given) must survive. */
const planted: { name: string; text: string; secret: string; keep?: string }[] = [
  {
    name: 'Anthropic key in a log line',
    text: '2026-01-05T10:00:00Z ERROR call failed with key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 (401)',
    secret: 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
    keep: 'ERROR call failed with key',
  },
  {
    name: 'OpenAI project key in an env file',
    text: 'OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234567890',
    secret: 'abcdefghijklmnop1234567890',
    keep: 'OPENAI_API_KEY=',
  },
  {
    name: 'AWS access key id',
    text: 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
    secret: 'AKIAIOSFODNN7EXAMPLE',
  },
  {
    name: 'GitHub token',
    text: 'using ghp_abcdefghijklmnopqrstuvwxyz0123456789 for push',
    secret: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  },
  { name: 'Slack bot token', text: 'slack: xoxb-1234567890-abcdefghij', secret: '1234567890-abcdefghij' },
  { name: 'GitLab token', text: 'GL glpat-abcdefghij1234567890', secret: 'glpat-abcdefghij1234567890' },
  {
    name: 'bearer token in a header',
    text: 'GET /api Authorization: Bearer abc.def.ghi123',
    secret: 'abc.def.ghi123',
    keep: 'Authorization: Bearer',
  },
  {
    name: 'bare bearer token in a curl line',
    text: 'curl -H "X-Auth: Bearer 9f8e7d6c5b4a39281706" https://x',
    secret: '9f8e7d6c5b4a39281706',
  },
  { name: 'password assignment', text: 'password=hunter22 user=bob', secret: 'hunter22', keep: 'user=bob' },
  { name: 'YAML secret with spaces', text: 'secret: correct horse battery', secret: 'horse' },
  {
    name: 'JSON api_key',
    text: '{"api_key": "abc123xyz", "n": 1}',
    secret: 'abc123xyz',
    keep: '"api_key": "',
  },
  { name: 'camelCase key', text: 'dbPassword: "s3cret word"', secret: 's3cret' },
  {
    name: 'token in a query string',
    text: 'GET https://h/x?token=abc123def&y=1',
    secret: 'abc123def',
    keep: '&y=1',
  },
  {
    name: 'password in a URL',
    text: 'DATABASE_URL=postgres://admin:s3cr3tpass@db.example.com:5432/app',
    secret: 's3cr3tpass',
    keep: 'postgres://admin:',
  },
  {
    name: 'JWT',
    text: 'session eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    secret: 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  },
  {
    name: 'private key block',
    text: 'key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----\nafter',
    secret: 'MIIEpAIBAAKCAQEA7',
    keep: 'after',
  },
  {
    name: 'unterminated private key block',
    text: 'x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA',
    secret: 'b3BlbnNzaC1rZXktdjEAAAAA',
  },
  {
    name: 'long hex secret (64)',
    text: 'webhook 5f4dcc3b5aa765d61d8327deb882cf995f4dcc3b5aa765d61d8327deb882cf99 set',
    secret: '5f4dcc3b5aa765d61d8327deb882cf99',
  },
  {
    name: 'long base64 secret',
    text: 'blob dGhpc0lzQVNlY3JldFZhbHVlMTIzNDU2Nzg5MGFiY2RlZg== end',
    secret: 'dGhpc0lzQVNlY3JldFZhbHVl',
  },
  {
    name: 'lower-case base36 token',
    text: 'deploy hook k3j9x0q2m7v5c8b1n4z6w0r2t5y8u1i3o7p9 called',
    secret: 'k3j9x0q2m7v5c8b1n4z6w0r2t5y8u1i3o7p9',
  },
];

/** Look-alikes that must survive unchanged. */
const survivors: { name: string; text: string }[] = [
  {
    name: 'git SHA (40 lower-case hex, kept on purpose)',
    text: 'commit 3f786850e387550fdab836ed7e6dc881de23001b ok',
  },
  { name: 'short SHA', text: 'reverted 3f78685 cleanly' },
  { name: 'UUID (kept on purpose: request ids)', text: 'request 123e4567-e89b-12d3-a456-426614174000 done' },
  { name: 'ordinary words', text: 'the scanner thread leaked memory after the restart' },
  { name: 'numbers', text: 'p95 812.5 ms, 1234567890 bytes, 0.05 ratio' },
  { name: 'URL without credentials', text: 'see https://example.com/api/v1/items?id=42#top' },
  { name: 'URL with a port', text: 'http://localhost:8080/health' },
  { name: 'repo path', text: 'src/Components/UserProfile2/IndexPageContainer.tsx' },
  { name: 'absolute path', text: '/Users/AliceSmith/Projects2024/KaizenDemoRepository/src' },
  { name: 'long camelCase identifier', text: 'createProposerContextFromDigestAndLessons2024()' },
  { name: 'token counts are not tokens', text: 'max_tokens: 4096, tokens=12, tokenizer: bpe' },
  { name: 'prose about bearer tokens', text: 'Bearer tokens are redacted in the authorization flow' },
  { name: 'markdown rule', text: '--------------------------------------------' },
  { name: 'key names without a value', text: 'password:\n  rotate: weekly' },
  { name: 'ISO time', text: '2026-01-05T14:03:00Z' },
];

describe('redact', () => {
  it.each(planted)('removes $name', ({ text, secret, keep }) => {
    const out = redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
    if (keep) expect(out).toContain(keep);
  });

  it.each(survivors)('keeps $name', ({ text }) => {
    expect(redact(text)).toBe(text);
  });

  it('is idempotent', () => {
    for (const { text } of planted) {
      const once = redact(text);
      expect(redact(once)).toBe(once);
    }
  });

  it('keeps the key name and the quotes of an assignment', () => {
    expect(redact('password=hunter22')).toBe('password=[REDACTED]');
    expect(redact('"api_key": "abc123xyz",')).toBe('"api_key": "[REDACTED]",');
    expect(redact('OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234567890')).toBe('OPENAI_API_KEY=[REDACTED]');
  });

  it('redacts the values of secret-looking environment variables wherever they occur', () => {
    const env = { MY_SERVICE_TOKEN: 'plainword-value', HOME: '/home/someone', SHORT_KEY: 'abc' };
    const out = redact('connecting with plainword-value from /home/someone (abc)', { env });
    expect(out).toBe('connecting with [REDACTED] from /home/someone (abc)');
  });

  it.each([
    ['password', true],
    ['DB_PASSWORD', true],
    ['dbPassword', true],
    ['client_secret', true],
    ['GITHUB_TOKEN', true],
    ['access-key', true],
    ['apiKey', true],
    ['max_tokens', false],
    ['tokens', false],
    ['tokenizer', false],
    ['keyboard', false],
    ['monkey', false],
  ])('isSecretKey(%s) = %s', (key, expected) => {
    expect(isSecretKey(key)).toBe(expected);
  });
});
