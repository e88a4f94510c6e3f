import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { stringify } from 'yaml';
import { figure, fmt } from './figures.js';

/*
 * Idle cost of `kaizen run` (HTTP server on) with 3 targets and 50 signals: RSS and CPU of the real process, read
 * from /proc, after a warm-up in which every job has run once. The signals are real http-json
 * reads of a local server, sampled every 5 minutes, so "idle" is the daemon between ticks.
 *
 * Measured twice: with Node's defaults, and as config/kaizen.service starts it (a 2 MB young
 * generation: V8's default of 16 MB per semi-space buys allocation throughput a daemon that idles
 * between ticks does not need, and after a warm-up its pages stay resident).
 */

const BIN = path.resolve(import.meta.dirname, '../bin/kaizen.js');
const TARGETS = 3;
const SIGNALS = 50;
const WARMUP_MS = 8_000;
const MEASURE_MS = 30_000;
const CLK_TCK = 100;

function gitRepo(dir: string): void {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'b',
    GIT_AUTHOR_EMAIL: 'b@x',
    GIT_COMMITTER_NAME: 'b',
    GIT_COMMITTER_EMAIL: 'b@x',
  };
  writeFileSync(path.join(dir, 'config.json'), '{"n": 1}\n');
  execFileSync('git', ['init', '-q', '-b', 'main', dir], { env });
  execFileSync('git', ['-C', dir, 'add', '.'], { env });
  execFileSync('git', ['-C', dir, 'commit', '-qm', 'init'], { env });
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** The node flags of config/kaizen.service's ExecStart, read from it so the two cannot drift. */
const UNIT_NODE_FLAGS = (() => {
  const unit = readFileSync(path.resolve(import.meta.dirname, '../config/kaizen.service'), 'utf8');
  const exec = /^ExecStart=\S+ (.*?) \S+\/bin\/kaizen\.js /m.exec(unit);
  return exec ? exec[1]!.split(' ') : [];
})();

export async function run(): Promise<void> {
  const defaults = await measure([]);
  const unit = await measure(UNIT_NODE_FLAGS);
  figure(`targets × signals (all sampled once in the warm-up)`, `${TARGETS} × ${SIGNALS}`);
  figure(
    'idle RSS (MB) with Node defaults: after warm-up / max over 30 s',
    `${fmt(defaults.rssStart)} / ${fmt(defaults.rssMax)}`,
    '≤ 120',
  );
  figure(
    `idle RSS (MB) as the systemd unit runs it (${UNIT_NODE_FLAGS.join(' ')})`,
    `${fmt(unit.rssStart)} / ${fmt(unit.rssMax)}`,
    '≤ 120',
  );
  figure(
    'idle CPU over 30 s (% of one core): Node defaults / unit',
    `${fmt(defaults.cpuPct, 2)} / ${fmt(unit.cpuPct, 2)}`,
    '≤ 1 %',
  );
}

async function measure(nodeFlags: string[]): Promise<{ rssStart: number; rssMax: number; cpuPct: number }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'ok', value: Math.random() * 100 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaizen-bench-daemon-'));
  let child: ChildProcess | undefined;
  try {
    const targets = Array.from({ length: TARGETS }, (_, t) => {
      const repo = path.join(dir, `repo${t}`);
      execFileSync('mkdir', ['-p', repo]);
      gitRepo(repo);
      const count = Math.floor(SIGNALS / TARGETS) + (t < SIGNALS % TARGETS ? 1 : 0);
      return {
        name: `t${t}`,
        repo,
        signals: Array.from({ length: count }, (_, i) => ({
          name: `s${i}`,
          source: { kind: 'http-json', url, path: 'value' },
          unit: 'ms',
          direction: 'lower_is_better',
        })),
      };
    });
    const config = path.join(dir, 'kaizen.yaml');
    writeFileSync(
      config,
      stringify({ dataDir: 'data', targets, proposer: { provider: 'rules' }, server: { port: 0 } }),
    );
    child = spawn(process.execPath, [...nodeFlags, BIN, 'run', '-c', config], {
      env: { ...process.env, KAIZEN_LOG_LEVEL: 'warn', ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    if (!err.includes('kaizen: running')) throw new Error(`kaizen run did not start: ${err}`);
    const pid = child.pid!;
    const rssStart = rssMb(pid);
    const t0 = cpuTicks(pid);
    const started = Date.now();
    let rssMax = rssStart;
    while (Date.now() - started < MEASURE_MS) {
      await new Promise((r) => setTimeout(r, 1000));
      rssMax = Math.max(rssMax, rssMb(pid));
    }
    const cpuPct = ((cpuTicks(pid) - t0) / CLK_TCK / ((Date.now() - started) / 1000)) * 100;
    return { rssStart, rssMax, cpuPct };
  } finally {
    child?.kill('SIGTERM');
    if (child) await new Promise((r) => child!.on('exit', r));
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
