import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sdNotifier } from '../src/daemon/sd-notify.js';
import { spawnKaizen } from './helpers/cli.js';
import { targetFixture } from './helpers/target.js';
import { tempDir } from './helpers/temp.js';

interface Sock {
  bind(path: string): void;
  close(): void;
}
const dgram = createRequire(import.meta.url)('unix-dgram') as {
  createSocket(type: 'unix_dgram', onMessage: (msg: Buffer) => void): Sock;
};

const sockets: Sock[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of sockets.splice(0)) s.close();
});

/** A real unix datagram socket standing in for systemd's notify socket. */
function receiver(): { path: string; messages: string[] } {
  const file = path.join(tempDir(), 'notify.sock');
  const messages: string[] = [];
  const s = dgram.createSocket('unix_dgram', (m) => messages.push(m.toString()));
  s.bind(file);
  sockets.push(s);
  return { path: file, messages };
}

const until = async (ok: () => boolean, what: string) => {
  for (let i = 0; i < 600 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
};

describe('sd_notify', () => {
  it('is off without NOTIFY_SOCKET, and derives the watchdog interval from WATCHDOG_USEC', () => {
    expect(sdNotifier({})).toBeUndefined();
    const r = receiver();
    const n = sdNotifier({ NOTIFY_SOCKET: r.path, WATCHDOG_USEC: '10000000' })!;
    expect(n.watchdogIntervalMs).toBe(5000);
    n.close();
    const other = sdNotifier({ NOTIFY_SOCKET: r.path, WATCHDOG_USEC: '10000000', WATCHDOG_PID: '1' })!;
    expect(other.watchdogIntervalMs).toBeUndefined(); // the watchdog is for another process
    other.close();
  });

  it('kaizen run says READY once up, pings the watchdog from its heartbeat, and says STOPPING on SIGTERM', async () => {
    const r = receiver();
    const fx = await targetFixture({
      config: { proposer: { provider: 'rules' }, server: { enabled: false } },
    });
    const child = spawnKaizen(['run', '-c', fx.configPath], {
      clock: 'system',
      env: {
        NOTIFY_SOCKET: r.path,
        WATCHDOG_USEC: '400000', // a ping every 200 ms
        KAIZEN_LOG_LEVEL: 'error',
        ANTHROPIC_API_KEY: '',
        OPENAI_API_KEY: '',
      },
    });
    children.push(child);
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    await until(() => r.messages.some((m) => m.startsWith('READY=1')), 'READY=1');
    expect(r.messages[0]).toMatch(new RegExp(`^READY=1\\nMAINPID=${child.pid}\\nSTATUS=\\d+ jobs$`));
    await until(() => r.messages.filter((m) => m === 'WATCHDOG=1').length >= 3, 'three watchdog pings');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(r.messages).toContain('STOPPING=1');
  });
});
