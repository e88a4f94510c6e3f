import type { Clock } from '../clock.js';
import { KaizenError } from '../errors.js';

/*
 * A circuit breaker around the LLM provider.
 *
 * CLOSED: every failure is a timestamp; timestamps older than windowMs age out, and a success does
 * not erase them (a flapping provider with `failureThreshold` failures among many successes inside
 * the window still opens). Reaching the threshold opens the breaker.
 * OPEN: calls are rejected at once (BREAKER_OPEN) until cooldownMs has passed.
 * HALF_OPEN: exactly one trial call goes through; calls made while it runs are rejected. A success
 * closes the breaker and clears the failures; a failure opens it for another cooldown.
 *
 * A call that started in an earlier state (before the breaker opened, say) does not move the
 * breaker when it settles late: only calls of the current state count.
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  failureThreshold: number;
  windowMs: number;
  cooldownMs: number;
  clock: Clock;
  /** Which errors count as failures (default: all). One that does not count is rethrown as is. */
  isFailure?: (err: unknown) => boolean;
  /** Called on every state change (for a log line). */
  onStateChange?: (from: BreakerState, to: BreakerState, snapshot: BreakerSnapshot) => void;
}

export interface BreakerSnapshot {
  state: BreakerState;
  failuresInWindow: number;
  /** Epoch ms when it last opened; null while closed. */
  openedAt: number | null;
  /** Epoch ms when the cooldown ends (half-open after); null while closed. */
  openUntil: number | null;
}

export class BreakerOpenError extends KaizenError {
  override readonly code = 'BREAKER_OPEN' as const;
  readonly openUntil: number;

  constructor(message: string, openUntil: number) {
    super('BREAKER_OPEN', message, { retryable: true });
    this.openUntil = openUntil;
  }
}

export class CircuitBreaker {
  private readonly opts: CircuitBreakerOptions;
  private current: 'closed' | 'open' = 'closed';
  private failures: number[] = [];
  private openedAt: number | null = null;
  private openUntil: number | null = null;
  private trialRunning = false;
  /** Bumped on every transition; a call settling under another epoch is ignored. */
  private epoch = 0;

  constructor(opts: CircuitBreakerOptions) {
    if (!(Number.isInteger(opts.failureThreshold) && opts.failureThreshold >= 1))
      throw new RangeError('CircuitBreaker: failureThreshold must be a whole number >= 1');
    if (!(opts.windowMs > 0) || !(opts.cooldownMs >= 0))
      throw new RangeError('CircuitBreaker: windowMs must be > 0 and cooldownMs >= 0');
    this.opts = opts;
  }

  /** Open past its cooldown reads as half_open (the next call is the trial). */
  get state(): BreakerState {
    if (this.current === 'open' && this.openUntil !== null && this.opts.clock.now() >= this.openUntil)
      return 'half_open';
    return this.current;
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.state,
      failuresInWindow: this.failuresInWindow(),
      openedAt: this.openedAt,
      openUntil: this.openUntil,
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const state = this.state;
    if (state === 'open') {
      const until = this.openUntil ?? this.opts.clock.now();
      throw new BreakerOpenError(
        `the LLM circuit breaker is open after ${this.opts.failureThreshold} failures: no calls until ${new Date(until).toISOString()}`,
        until,
      );
    }
    if (state === 'half_open') {
      const until = this.openUntil ?? this.opts.clock.now();
      if (this.trialRunning) {
        throw new BreakerOpenError(
          'the LLM circuit breaker is half-open and its one trial call is still running: try again after it settles',
          until,
        );
      }
      this.trialRunning = true;
      const epoch = this.epoch;
      try {
        const value = await fn();
        if (epoch === this.epoch) this.close();
        return value;
      } catch (err) {
        if (epoch === this.epoch) {
          if (this.counts(err)) this.open();
          // An error that does not count settles nothing: the next call is a new trial.
        }
        throw err;
      } finally {
        if (epoch === this.epoch) this.trialRunning = false;
      }
    }
    const epoch = this.epoch;
    try {
      return await fn();
    } catch (err) {
      if (epoch === this.epoch && this.current === 'closed' && this.counts(err)) {
        this.failures.push(this.opts.clock.now());
        if (this.failuresInWindow() >= this.opts.failureThreshold) this.open();
      }
      throw err;
    }
  }

  private counts(err: unknown): boolean {
    return this.opts.isFailure ? this.opts.isFailure(err) : true;
  }

  private failuresInWindow(): number {
    if (this.current !== 'closed') return this.failures.length;
    const since = this.opts.clock.now() - this.opts.windowMs;
    this.failures = this.failures.filter((t) => t > since);
    return this.failures.length;
  }

  private open(): void {
    const from = this.state;
    const now = this.opts.clock.now();
    this.failuresInWindow();
    this.current = 'open';
    this.openedAt = now;
    this.openUntil = now + this.opts.cooldownMs;
    this.trialRunning = false;
    this.epoch++;
    this.opts.onStateChange?.(from, 'open', this.snapshot());
  }

  private close(): void {
    const from = this.state;
    this.current = 'closed';
    this.failures = [];
    this.openedAt = null;
    this.openUntil = null;
    this.trialRunning = false;
    this.epoch++;
    this.opts.onStateChange?.(from, 'closed', this.snapshot());
  }
}
