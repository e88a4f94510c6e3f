#!/usr/bin/env node
// stop.mjs: stops the demo target that deploy.mjs started detached. Run `node stop.mjs` in this folder.
// Sends SIGTERM to the pid in run/demo.pid and waits (up to 5 s) until the process is gone; the service
// removes its pid file on a clean exit. Exit 0 when it stopped and also when nothing was running (a stale
// pid file is removed); exit 1 when the process is still alive after 5 s. run/port is kept, so the next
// deploy starts the service on the same port. Only node: built-ins are used.

import { readFileSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isAlive, isDemoTarget } from './process-check.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PID_FILE = join(HERE, 'run', 'demo.pid');
const WAIT_MS = 5_000;
const POLL_MS = 50;

/** Removes the pid file if it still names `pid` (the service leaves it behind when it crashes). */
function removePidFile(pid) {
  try {
    if (readFileSync(PID_FILE, 'utf8').trim() === String(pid)) unlinkSync(PID_FILE);
  } catch {
    // already gone
  }
}

async function main() {
  let text;
  try {
    text = readFileSync(PID_FILE, 'utf8').trim();
  } catch {
    process.stdout.write('stop: not running (no run/demo.pid)\n');
    return;
  }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0 || !isDemoTarget(pid)) {
    removePidFile(text);
    process.stdout.write(`stop: not running (removed stale run/demo.pid naming ${JSON.stringify(text)})\n`);
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    if (err.code !== 'ESRCH') throw err;
  }
  const deadline = Date.now() + WAIT_MS;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) {
      process.stderr.write(`stop: pid ${pid} is still running ${WAIT_MS / 1000} s after SIGTERM\n`);
      process.exitCode = 1;
      return;
    }
    await sleep(POLL_MS);
  }
  removePidFile(pid);
  process.stdout.write(`stop: stopped pid ${pid}\n`);
}

await main();
