import { createRequire } from 'node:module';

/*
 * systemd's notify protocol: datagrams such as `READY=1` and `WATCHDOG=1` sent to the unix socket
 * named by NOTIFY_SOCKET (a leading "@" means the abstract namespace). Node has no unix datagram
 * sockets, so the small native `unix-dgram` module sends them; it is loaded only when systemd asks.
 */

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  close(): void;
  on(event: 'error', cb: (err: Error) => void): void;
}
interface UnixDgram {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

export interface SdNotifier {
  /** Send `READY=1` (with a status line). */
  ready(status?: string): Promise<void>;
  /** Send `WATCHDOG=1`. */
  watchdog(): Promise<void>;
  stopping(): Promise<void>;
  /** How often to ping the watchdog: half of WATCHDOG_USEC, or undefined when systemd set none. */
  watchdogIntervalMs: number | undefined;
  close(): void;
}

/** A notifier for systemd, or undefined when not started by systemd (no NOTIFY_SOCKET). */
export function sdNotifier(env: NodeJS.ProcessEnv = process.env): SdNotifier | undefined {
  const target = env.NOTIFY_SOCKET;
  if (!target) return undefined;
  const path = target.startsWith('@') ? `\0${target.slice(1)}` : target;
  const dgram = createRequire(import.meta.url)('unix-dgram') as UnixDgram;
  const socket = dgram.createSocket('unix_dgram');
  // A lost notification must never take the daemon down; systemd restarts it if pings stop.
  socket.on('error', () => undefined);
  const send = (text: string) =>
    new Promise<void>((resolve) => {
      const buf = Buffer.from(text);
      socket.send(buf, 0, buf.length, path, () => resolve());
    });
  const usec = Number(env.WATCHDOG_USEC);
  const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
  return {
    ready: (status) => send(`READY=1\nMAINPID=${process.pid}${status ? `\nSTATUS=${status}` : ''}`),
    watchdog: () => send('WATCHDOG=1'),
    stopping: () => send('STOPPING=1'),
    watchdogIntervalMs:
      Number.isFinite(usec) && usec > 0 && forUs ? Math.max(1, Math.floor(usec / 2000)) : undefined,
    close: () => socket.close(),
  };
}
