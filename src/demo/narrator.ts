import type { Runtime } from '../compose.js';
import type { JobDone } from '../daemon/scheduler.js';

/** `+01:05:00`: how far into the demo, on the daemon's clock. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `+${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/** Indent of a story line's continuation: under its text, past the time stamp. */
const CONTINUED = ' '.repeat(13);

/** Jobs worth a line of their own when they run: the calendar ones. */
export const TOLD_JOB_KINDS: ReadonlySet<string> = new Set(['distill', 'review']);

/**
 * Tells the demo's story as the daemon lives it: every state change of every intervention, and
 * every nightly or weekly job, once, stamped with the daemon's time since the demo began. The
 * daemon acts on its own schedule; the narrator only reads what it wrote.
 */
export class Narrator {
  /** The last transition told (the store numbers them in order). */
  private lastSeq = 0;
  private jobsTold = 0;

  constructor(
    private readonly rt: Pick<Runtime, 'store' | 'config'>,
    private readonly out: (line: string) => void,
    private readonly startedAt: number,
  ) {}

  /** Tell what happened since the last call; `jobs` is the scheduler's log of finished jobs. */
  catchUp(jobs: readonly JobDone[]): void {
    const { store, config } = this.rt;
    const lines: { at: number; text: string }[] = [];
    for (const j of jobs.slice(this.jobsTold)) {
      if (TOLD_JOB_KINDS.has(j.kind))
        lines.push({ at: j.startedAt, text: `job ${j.key}: ${j.ok ? j.summary : `failed: ${j.error}`}` });
    }
    this.jobsTold = jobs.length;
    for (const h of store.interventions.transitionsAfter(this.lastSeq)) {
      this.lastSeq = h.seq;
      if (h.at < this.startedAt) continue; // a data folder reused with --dir: not this demo's story
      let text = `${h.interventionId} ${h.from} → ${h.to} (${h.actor}): ${h.reason}`;
      if (h.from === null || h.to === 'applied') {
        const iv = store.interventions.get(h.interventionId);
        if (h.from === null)
          text =
            `${iv.id} proposed by ${iv.origin}: ${iv.proposal.title}` +
            (iv.proposal.trigger ? `\n${CONTINUED}why now: ${iv.proposal.trigger}` : '');
        else
          text += `\n${CONTINUED}validation window open until ${elapsed(h.at + (iv.windowMs ?? config.validation.windowMs) - this.startedAt)}; ${iv.proposal.prediction.signal} is sampled every ${config.validation.denseIntervalMs / 1000} s meanwhile`;
      }
      lines.push({ at: h.at, text });
    }
    for (const l of lines.sort((a, b) => a.at - b.at))
      this.out(`  ${elapsed(l.at - this.startedAt)}  ${l.text}`);
  }
}
