/**
 * Shared body of the backends that are designed but not implemented yet
 * (Windows RAS, macOS NEVPN): every call rejects with a typed
 * `PlatformUnsupportedError`, so the daemon reports PLATFORM_ERROR with a
 * plain reason instead of pretending to connect.
 */
import type { ApplyConfigParams, LeakGuardSpec, PlatformBackend, SweepReport, TeardownReport, TrafficCounters } from './backend.js';
import type { ChildSaSpec } from '../ike/actions.js';
import { PlatformUnsupportedError } from './errors.js';

export abstract class UnsupportedBackend implements PlatformBackend {
  abstract readonly name: string;
  /** the process.platform value this backend is meant for */
  protected abstract readonly targetPlatform: NodeJS.Platform;

  constructor(private readonly runningOn: NodeJS.Platform = process.platform) {}

  protected unsupported(operation: string): Promise<never> {
    const why =
      this.runningOn === this.targetPlatform
        ? `the ${this.name} backend is designed but not implemented yet`
        : `the ${this.name} backend only works on ${this.targetPlatform}, not on ${this.runningOn}`;
    return Promise.reject(new PlatformUnsupportedError(this.name, this.runningOn, operation, why));
  }

  installChildSa(_spec: ChildSaSpec): Promise<void> {
    return this.unsupported('installChildSa');
  }
  removeChildSa(_id: number): Promise<void> {
    return this.unsupported('removeChildSa');
  }
  applyConfig(_p: ApplyConfigParams): Promise<void> {
    return this.unsupported('applyConfig');
  }
  readCounters(): Promise<TrafficCounters> {
    return this.unsupported('readCounters');
  }
  teardown(_reason: string): Promise<TeardownReport> {
    return this.unsupported('teardown');
  }
  sweepStale(): Promise<SweepReport> {
    return this.unsupported('sweepStale');
  }
  enableLeakGuard(_spec: LeakGuardSpec): Promise<void> {
    return this.unsupported('enableLeakGuard');
  }
  disableLeakGuard(): Promise<void> {
    return this.unsupported('disableLeakGuard');
  }
}
