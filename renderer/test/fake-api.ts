/**
 * An in-memory StraitDesktopApi for component tests: the contract's types,
 * scripted answers, and a record of every call. (The e2e test uses the real
 * handlers; this only isolates components.)
 */
import type { DesktopEvent, DesktopResult, ProfileView, StraitDesktopApi } from '../../native-helper/src/api/desktop.js';
import type { Profile } from '../../native-helper/src/api/profile.js';
import type { ConnectionState, LogRecord } from '../../native-helper/src/api/rpc.js';

export const PROFILE_ID = '6f1c7d2e-4b8a-4c1e-9f3a-2d5e8b7a9c01';
export const SESSION_ID = '0b7e6d5c-4a3b-4c2d-8e1f-9a8b7c6d5e4f';

export function profile(over: Partial<Profile> = {}): Profile {
  return {
    version: 1,
    id: PROFILE_ID,
    name: 'Corp VPN',
    gateway: { host: 'vpn.corp.example', port: 500 },
    auth: { method: 'eap-mschapv2', eapIdentity: 'carol' },
    trust: { caCertificates: [] },
    proposals: { ike: [], esp: [] },
    tunnel: { mode: 'full', include: [], exclude: [], ipv6: true },
    dns: { useGatewayDns: true, servers: [], searchDomains: [], matchDomains: [] },
    dpd: { intervalSeconds: 30 },
    rekey: { ikeLifetimeSeconds: 36_000, childLifetimeSeconds: 10_800 },
    natTraversal: { forceEncapsulation: false },
    mobike: true,
    fragmentation: true,
    leakGuard: true,
    ...over,
  } as Profile;
}

export function view(over: Partial<ProfileView> = {}): ProfileView {
  return { profile: profile(), source: 'user', lockedFields: [], secretStored: false, ...over };
}

export const ok = <T>(value: T): DesktopResult<T> => ({ ok: true, value });

export function logRecord(seq: number, over: Partial<LogRecord> = {}): LogRecord {
  return {
    seq,
    ts: new Date(Date.UTC(2026, 11, 1, 12, 0, 0, seq)).toISOString(),
    level: 'info',
    session: SESSION_ID,
    component: 'ike',
    event: 'ike.event',
    message: `record ${seq}`,
    fields: {},
    ...over,
  };
}

export class FakeApi implements StraitDesktopApi {
  readonly calls: { method: string; input: unknown }[] = [];
  listeners = new Set<(e: DesktopEvent) => void>();
  profiles: ProfileView[] = [view()];
  state: ConnectionState = { state: 'disconnected' };
  logRecords: LogRecord[] = [];
  connectAnswers: DesktopResult<ConnectionState>[] = [];

  private record(method: string, input: unknown): void {
    this.calls.push({ method, input });
  }

  emit(e: DesktopEvent): void {
    for (const l of this.listeners) l(e);
  }

  helperStatus = async () => ok({ status: 'up', version: 'test', backend: 'recording' } as const);
  status = async () => ok(this.state);
  listProfiles = async () => ok({ profiles: this.profiles, unreadable: [] });
  saveProfile: StraitDesktopApi['saveProfile'] = async (input) => {
    this.record('saveProfile', input);
    return ok(view({ profile: input.profile as Profile }));
  };
  deleteProfile = async (input: { id: string }) => {
    this.record('deleteProfile', input);
    return ok(null);
  };
  exportProfile = async (input: { id: string }) => {
    this.record('exportProfile', input);
    return ok({ fileName: 'corp.strait.json', text: '{}' });
  };
  importFile: StraitDesktopApi['importFile'] = async (input) => {
    this.record('importFile', input);
    return ok({ kind: 'bundle', issuer: 'Example Corp IT', serial: 3, signer: 'O=Example Corp, CN=VPN Profiles', installed: [{ id: PROFILE_ID, name: 'Corp VPN' }], removed: [], skipped: [], caCertificates: [], warnings: [], notes: [] });
  };
  forgetSecret = async (input: { id: string }) => {
    this.record('forgetSecret', input);
    return ok(null);
  };
  connect: StraitDesktopApi['connect'] = async (input) => {
    this.record('connect', input);
    return this.connectAnswers.shift() ?? ok(this.state);
  };
  disconnect: StraitDesktopApi['disconnect'] = async (input) => {
    this.record('disconnect', input);
    return ok({ state: 'disconnected' } as const);
  };
  logs: StraitDesktopApi['logs'] = async (input) => {
    this.record('logs', input);
    return ok({ records: this.logRecords, truncated: false });
  };
  listCertificates: StraitDesktopApi['listCertificates'] = async () => ok([]);
  importCertificate: StraitDesktopApi['importCertificate'] = async () => ({ ok: false, error: { code: 'CERTIFICATE_INVALID', message: 'no' } });
  deleteCertificate = async () => ok(null);
  getSettings = async () => ok({ startAtLogin: false });
  setSettings = async (s: { startAtLogin: boolean }) => ok(s);
  onEvent = (l: (e: DesktopEvent) => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
}
