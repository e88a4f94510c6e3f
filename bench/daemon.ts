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

export async function run(): Promise<void> {
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
    child = spawn(process.execPath, [BIN, 'run', '-c', config], {
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
    figure(`targets × signals (all sampled once in the warm-up)`, `${TARGETS} × ${SIGNALS}`);
    figure(
      'idle RSS of kaizen run (MB): after warm-up / max over 30 s',
      `${fmt(rssStart)} / ${fmt(rssMax)}`,
      '≤ 120',
    );
    figure('idle CPU of kaizen run over 30 s (% of one core)', fmt(cpuPct, 2), '≤ 1 %');
  } finally {
    child?.kill('SIGTERM');
    if (child) await new Promise((r) => child!.on('exit', r));
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
