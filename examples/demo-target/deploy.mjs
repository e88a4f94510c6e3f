#!/usr/bin/env node
// deploy.mjs: the demo target's deploy command. kaizen runs `node deploy.mjs` (cwd = this folder) after
// it commits a config change, and again after it reverts one. Whatever state the service is in, this
// makes the running service reflect config.json:
//
// - run/demo.pid names a live demo-target: send SIGHUP and wait until /health reports the config_version
//   of the current config.json. If the process exits instead (an invalid config makes it exit 2), carry on
//   as if nothing was running.
// - Nothing is running: start `node server.mjs` detached (it outlives this script; stdout/stderr are
//   appended to run/server.out and run/server.err) on the port in run/port, so the service keeps its port
//   across restarts (no run/port yet: PORT from the environment, else the config's port, default 0 =
//   any free port). Then wait until /health answers from the new pid with the current config_version.
//
// Exit 0 when the service runs the current config; exit 1 (with the reason on stderr) when it does not.
// It never starts a second instance while run/demo.pid names a live one. Only node: built-ins are used.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isAlive, isDemoTarget } from './process-check.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CONFIG_PATH = resolve(process.env.DEMO_CONFIG || join(HERE, 'config.json')); // as server.mjs does
const SERVER = join(HERE, 'server.mjs');
const RUN_DIR = join(HERE, 'run');
const PID_FILE = join(RUN_DIR, 'demo.pid');
const PORT_FILE = join(RUN_DIR, 'port');
const OUT_FILE = join(RUN_DIR, 'server.out');
const ERR_FILE = join(RUN_DIR, 'server.err');

const WAIT_MS = 5_000;
const POLL_MS = 50;
const STDERR_LINES = 5; // how many trailing lines of a failed start's stderr to show

/** config_version as the service computes it: first 12 hex of the sha1 of the config file's bytes. */
function configVersion() {
  try {
    return createHash('sha1').update(readFileSync(CONFIG_PATH)).digest('hex').slice(0, 12);
  } catch {
    return undefined; // unreadable: the service will refuse to start and say why
  }
}

function readPid() {
  try {
    const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The port the service last listened on (run/port), if any. */
function readPort() {
  try {
    const port = Number(readFileSync(PORT_FILE, 'utf8').trim());
    return Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
  } catch {
    return undefined;
  }
}

/** GET /health on 127.0.0.1:port; resolves to the parsed JSON body (200 or 503) or undefined. */
function health(port) {
  return new Promise((res) => {
    const req = get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 1_000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d) => (body += d));
      r.on('end', () => {
        try {
          res(JSON.parse(body));
        } catch {
          res(undefined);
        }
      });
      r.on('error', () => res(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => res(undefined));
  });
}

/** Polls until /health (port re-read from run/port each time) shows `pid` serving `version`, or `gone()` says stop. */
async function waitForVersion(pid, version, gone) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (gone()) return { ok: false, gone: true };
    const port = readPort();
    if (port !== undefined) {
      const h = await health(port);
      if (h && h.pid === pid && h.config_version === version) {
        return { ok: true, port, version: h.config_version };
      }
    }
    if (Date.now() >= deadline) return { ok: false, gone: false };
    await sleep(POLL_MS);
  }
}

/** Removes the pid file if it still names `pid`, a process that is gone. */
function removePidFile(pid) {
  if (readPid() !== pid) return;
  try {
    unlinkSync(PID_FILE);
  } catch {
    // already gone
  }
}

function fail(message) {
  process.stderr.write(`deploy: ${message}\n`);
  process.exitCode = 1;
}

async function reload(pid, version) {
  process.kill(pid, 'SIGHUP');
  const r = await waitForVersion(pid, version, () => !isAlive(pid));
  if (r.ok) {
    process.stdout.write(`deploy: reloaded pid ${pid}, config ${r.version}\n`);
    return 'done';
  }
  if (r.gone) {
    removePidFile(pid); // it exited without removing it (exit 2 on an invalid config does that)
    return 'exited'; // starting it again will report why
  }
  fail(`pid ${pid} is running but /health did not report config ${version} within ${WAIT_MS / 1000} s`);
  return 'done';
}

function lastStderrLines(from) {
  try {
    const text = readFileSync(ERR_FILE).subarray(from).toString('utf8');
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-STDERR_LINES);
  } catch {
    return [];
  }
}

async function start(version) {
  const port = readPort();
  // No run/port yet: PORT from the environment if set, else the config's `port` (default 0 = any free port).
  const env = port !== undefined ? { ...process.env, PORT: String(port) } : process.env;
  mkdirSync(RUN_DIR, { recursive: true });
  const out = openSync(OUT_FILE, 'a');
  const err = openSync(ERR_FILE, 'a');
  const errFrom = statSync(ERR_FILE).size; // show only what this start writes
  let exit;
  let child;
  try {
    child = spawn(process.execPath, [SERVER], {
      cwd: HERE,
      env,
      detached: true,
      stdio: ['ignore', out, err],
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  child.on('error', (e) => (exit ??= { code: null, signal: null, error: e.message }));
  child.on('exit', (code, signal) => (exit ??= { code, signal }));
  child.unref();
  const pid = child.pid;

  const r = await waitForVersion(pid, version, () => exit !== undefined);
  if (r.ok) {
    process.stdout.write(`deploy: started pid ${pid} on port ${r.port}, config ${r.version}\n`);
    return;
  }
  if (exit === undefined) {
    fail(
      `started pid ${pid}, but /health did not report config ${version} within ${WAIT_MS / 1000} s ` +
        `(it is still running; see ${ERR_FILE})`,
    );
    return;
  }
  // It died (exit 2 = invalid config, 1 = cannot listen). Its pid file, if any, is stale now.
  if (pid !== undefined) removePidFile(pid);
  const lines = lastStderrLines(errFrom);
  const why =
    lines.length > 0
      ? lines.join('\n')
      : exit.error || `exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}`;
  fail(`the service did not start: ${why}`);
}

async function main() {
  const version = configVersion();
  const pid = readPid();
  if (pid !== undefined && isDemoTarget(pid)) {
    if ((await reload(pid, version)) === 'done') return;
    // The process exited on SIGHUP: fall through and start it again (which reports an invalid config).
  }
  await start(version);
}

await main();
