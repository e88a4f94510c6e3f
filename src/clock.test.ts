import { describe, expect, it } from 'vitest';
import { SimulatedClock, SystemClock } from './clock.js';

describe('SimulatedClock', () => {
  it('starts where told and moves only on advance', async () => {
    const clock = new SimulatedClock('2026-03-01T00:00:00Z');

    const before = clock.now();
    await clock.advance(90_000);

    expect(before).toBe(Date.UTC(2026, 2, 1));
    expect(clock.now()).toBe(Date.UTC(2026, 2, 1, 0, 1, 30));
  });

  it('wakes sleepers in time order, each at its own time, and days pass in no real time', async () => {
    const clock = new SimulatedClock(0);
    const woke: [string, number][] = [];
    const sleep = (name: string, ms: number) => clock.sleep(ms).then(() => woke.push([name, clock.now()]));

    const all = Promise.all([sleep('day', 86_400_000), sleep('minute', 60_000), sleep('hour', 3_600_000)]);
    await clock.advance(3 * 86_400_000);
    await all;

    expect(woke).toEqual([
      ['minute', 60_000],
      ['hour', 3_600_000],
      ['day', 86_400_000],
    ]);
    expect(clock.now()).toBe(3 * 86_400_000);
  });

  it('does not wake a sleeper before its time', async () => {
    const clock = new SimulatedClock(0);
    let woke = false;
    void clock.sleep(1000).then(() => (woke = true));

    await clock.advance(999);
    expect(woke).toBe(false);
    await clock.advance(1);
    expect(woke).toBe(true);
  });

  it('lets a woken task sleep again within the same advance (a loop runs every tick)', async () => {
    const clock = new SimulatedClock(0);
    const ticks: number[] = [];
    const loop = async () => {
      for (let i = 0; i < 5; i++) {
        await clock.sleep(300_000);
        ticks.push(clock.now());
      }
    };
    const done = loop();

    await clock.advance(3_600_000);
    await done;

    expect(ticks).toEqual([300_000, 600_000, 900_000, 1_200_000, 1_500_000]);
  });

  it('rejects an aborted sleep with the abort reason and forgets it', async () => {
    const clock = new SimulatedClock(0);
    const controller = new AbortController();
    const slept = clock.sleep(1000, controller.signal);

    controller.abort(new Error('shutting down'));

    await expect(slept).rejects.toThrow('shutting down');
    expect(clock.pending).toBe(0);
  });

  it('refuses to move backwards or start at an invalid time', async () => {
    const clock = new SimulatedClock(1000);
    await expect(clock.advance(-1)).rejects.toThrow('time only moves forward');
    expect(() => new SimulatedClock('not a date')).toThrow('invalid start time');
  });
});

describe('SystemClock', () => {
  it('reads the real time and its sleep can be aborted', async () => {
    const clock = new SystemClock();
    const controller = new AbortController();

    const t = clock.now();
    const slept = clock.sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));

    expect(Math.abs(t - Date.now())).toBeLessThan(1000);
    await expect(slept).rejects.toThrow('stop');
  });
});
