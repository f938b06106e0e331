// A small in-memory model of the kernel objects `ip` manages, driven by the
// same argv + stdin the Linux backend sends, for host tests of SA handling
// (the host kernel has no ESP). It keeps iproute2 6.1's observable
// behaviour that the backend depends on (verified on the host and in the
// UML lab): duplicates fail with "File exists"; `ip xfrm` exits 2 at the
// first error even with -force; other commands under -force report
// "Command failed -:N" and go on; `-s xfrm state list nokeys` prints
// "<<Keys hidden>>" and the counters.
//
// Every call is recorded (argv and stdin separately) so tests can assert
// where key material went.

import type { CommandRequest, CommandResult, CommandRunner } from '../../../native-helper/src/platform/linux/command-runner.js';

export interface FakeState {
  readonly spi: number;
  readonly src: string;
  readonly dst: string;
  readonly reqid: number;
  readonly line: string;
  bytes: number;
  packets: number;
  /** the kernel's anti-replay context (`ip -s` prints it); tests set oseq to play traffic */
  seq?: number;
  oseq?: number;
}

export interface FakePolicy {
  readonly dir: string;
  readonly selector: string;
  readonly priority: number;
  readonly index: number;
  tmplReqid?: number;
  tmplSrc?: string;
  tmplDst?: string;
}

export interface FakeRoute {
  readonly family: 4 | 6;
  readonly type: string;
  readonly dst: string;
  readonly table: string;
  readonly proto: string;
  readonly dev?: string;
}

export interface Recorded {
  readonly file: string;
  readonly args: readonly string[];
  readonly input: string;
}

const ERR_EXIST = 'RTNETLINK answers: File exists';

function tokens(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

const after = (w: readonly string[], key: string): string | undefined => {
  const i = w.indexOf(key);
  return i >= 0 ? w[i + 1] : undefined;
};

const famOf = (addr: string): 4 | 6 => (addr.includes(':') ? 6 : 4);

class LineError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
  ) {
    super(message);
  }
}

export class FakeIp {
  readonly calls: Recorded[] = [];
  readonly states = new Map<string, FakeState>();
  readonly policies = new Map<string, FakePolicy>();
  readonly routes = new Map<string, FakeRoute>();
  readonly rules = new Set<string>();
  /** dev → addresses (without prefix) */
  readonly addresses = new Map<string, Set<string>>([['eth0', new Set(['192.0.2.2', '2001:db8:2::2'])]]);
  /** address → the metric it was added with */
  readonly addressMetrics = new Map<string, number>();
  /** what `ip -j route get` answers */
  routeGet: { dev: string; gateway?: string } = { dev: 'eth0', gateway: '192.0.2.254' };
  /** resolvectl link state */
  resolved = { servers: ['192.168.1.1'], domains: ['home.arpa'], defaultRoute: 'yes' as string };
  /** fail the Nth batch line (global count over all batches) with this message */
  failOn?: { readonly match: RegExp; readonly message: string };
  /** never answer a batch whose script matches (the process dies before the kernel acts) */
  hangOn?: RegExp;
  /** carry out a matching batch, then never answer (the process dies after the kernel acted) */
  hangAfter?: RegExp;
  private nextIndex = 8;

  readonly runner: CommandRunner = (req) => this.handle(req);

  private async handle(req: CommandRequest): Promise<CommandResult> {
    this.calls.push({ file: req.file, args: [...req.args], input: req.input ?? '' });
    if (req.file.endsWith('resolvectl')) return this.resolvectl(req.args);
    const args = [...req.args];
    let family: 4 | 6 | undefined;
    let force = false;
    let json = false;
    while (args.length > 0) {
      const a = args[0];
      if (a === '-n') args.splice(0, 2);
      else if (a === '-j' && args[1] === '-batch') {
        json = true;
        args.shift();
      }
      else if (a === '-4' || a === '-6') {
        family = a === '-4' ? 4 : 6;
        args.shift();
      } else if (a === '-force') {
        force = true;
        args.shift();
      } else break;
    }
    if (args[0] === '-batch' && json) return this.queryBatch(req.input ?? '', family);
    if (args[0] === '-batch') {
      const script = req.input ?? '';
      if (this.hangOn?.test(script)) return new Promise<CommandResult>(() => undefined);
      const result = this.batch(script, family, force);
      if (this.hangAfter?.test(script)) return new Promise<CommandResult>(() => undefined);
      return result;
    }
    return this.query(args, family);
  }

  private batch(script: string, family: 4 | 6 | undefined, force: boolean): CommandResult {
    const lines = script.split('\n').filter((l) => l.trim() !== '');
    let stderr = '';
    let exitCode = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      try {
        if (this.failOn?.match.test(line)) throw new LineError(this.failOn.message, line.startsWith('xfrm'));
        this.apply(tokens(line), family);
      } catch (e) {
        if (!(e instanceof LineError)) throw e;
        if (e.fatal) return { exitCode: 2, stdout: '', stderr: `${stderr}${e.message}\n` };
        stderr += `${e.message}\nCommand failed -:${i + 1}\n`;
        exitCode = 1;
        if (!force) return { exitCode, stdout: '', stderr };
      }
    }
    return { exitCode, stdout: '', stderr };
  }

  /** `ip -j -batch -`: each query's JSON on its own line; stops at the first failing one */
  private queryBatch(script: string, family: 4 | 6 | undefined): CommandResult {
    const lines = script.split('\n').filter((l) => l.trim() !== '');
    let stdout = '';
    for (let i = 0; i < lines.length; i++) {
      const r = this.query(['-j', ...tokens(lines[i] ?? '')], family);
      if (r.exitCode !== 0) return { exitCode: 1, stdout, stderr: `${r.stderr}\nCommand failed -:${i + 1}\n` };
      stdout += `${r.stdout}\n`;
    }
    return { exitCode: 0, stdout, stderr: '' };
  }

  private apply(w: string[], family: 4 | 6 | undefined): void {
    const [obj, verb] = w;
    if (obj === 'xfrm' && w[1] === 'state') return this.xfrmState(w.slice(2));
    if (obj === 'xfrm' && w[1] === 'policy') return this.xfrmPolicy(w.slice(2));
    if (obj === 'route') return this.route(w.slice(1), family);
    if (obj === 'rule') {
      const key = `${family ?? 4}|${after(w, 'pref')}`;
      if (verb === 'add') {
        if (this.rules.has(key)) throw new LineError(ERR_EXIST, false);
        this.rules.add(key);
      } else if (!this.rules.delete(key)) throw new LineError('RTNETLINK answers: No such file or directory', false);
      return;
    }
    if (obj === 'address') {
      const cidr = w[2] ?? '';
      const dev = after(w, 'dev') ?? '';
      const addr = cidr.split('/')[0] ?? '';
      const set = this.addresses.get(dev);
      if (!set) throw new LineError(`Cannot find device "${dev}"`, false);
      if (verb === 'add') {
        if (set.has(addr)) throw new LineError(ERR_EXIST, false);
        set.add(addr);
        const metric = after(w, 'metric');
        if (metric !== undefined) this.addressMetrics.set(addr, Number(metric));
      } else if (!set.delete(addr)) throw new LineError('RTNETLINK answers: Cannot assign requested address', false);
      else this.addressMetrics.delete(addr);
      return;
    }
    throw new LineError(`Object "${obj ?? ''}" is unknown, try "ip help".`, false);
  }

  private xfrmState(w: string[]): void {
    const src = after(w, 'src') ?? '';
    const dst = after(w, 'dst') ?? '';
    const spi = Number.parseInt(after(w, 'spi') ?? '0', 16);
    const key = `${dst}|${spi}`;
    if (w[0] === 'add') {
      if (this.states.has(key)) throw new LineError(ERR_EXIST, true);
      this.states.set(key, { spi, src, dst, reqid: Number(after(w, 'reqid') ?? 0), line: w.join(' '), bytes: 0, packets: 0 });
    } else if (w[0] === 'delete') {
      if (!this.states.delete(key)) throw new LineError('RTNETLINK answers: No such process', true);
    } else throw new LineError(`unknown xfrm state verb ${w[0] ?? ''}`, true);
  }

  private xfrmPolicy(w: string[]): void {
    const verb = w[0];
    if (verb === 'delete' && w[1] === 'index') {
      const idx = Number(w[2]);
      for (const [k, p] of this.policies) {
        if (p.index === idx) {
          this.policies.delete(k);
          return;
        }
      }
      throw new LineError('RTNETLINK answers: No such file or directory', true);
    }
    const dirAt = w.indexOf('dir');
    const selector = w.slice(1, dirAt).join(' ');
    const dir = w[dirAt + 1] ?? '';
    const key = `${dir} ${selector}`;
    const tmplAt = w.indexOf('tmpl');
    const tmpl = tmplAt >= 0 ? w.slice(tmplAt) : [];
    if (verb === 'add' || verb === 'update') {
      const have = this.policies.get(key);
      if (have && verb === 'add') throw new LineError(ERR_EXIST, true);
      const p: FakePolicy = { dir, selector, priority: Number(after(w, 'priority') ?? 0), index: have?.index ?? (this.nextIndex += 8) };
      if (tmpl.length > 0) {
        p.tmplReqid = Number(after(tmpl, 'reqid'));
        p.tmplSrc = after(tmpl, 'src');
        p.tmplDst = after(tmpl, 'dst');
      }
      this.policies.set(key, p);
    } else if (verb === 'delete') {
      if (!this.policies.delete(key)) throw new LineError('RTNETLINK answers: No such file or directory', true);
    } else throw new LineError(`unknown xfrm policy verb ${verb ?? ''}`, true);
  }

  private route(w: string[], family: 4 | 6 | undefined): void {
    const verb = w[0];
    const throwType = w[1] === 'throw';
    // the kernel stores 192.0.2.1/32 and iproute2 prints it as 192.0.2.1
    const dst = (w[throwType ? 2 : 1] ?? '').replace(/\/(32|128)$/, '');
    const table = after(w, 'table') ?? 'main';
    const key = `${table}|${dst}`;
    if (verb === 'add') {
      if (this.routes.has(key)) throw new LineError(ERR_EXIST, false);
      const dev = after(w, 'dev');
      if (dev !== undefined && !this.addresses.has(dev)) throw new LineError(`Cannot find device "${dev}"`, false);
      const src = after(w, 'src');
      if (src !== undefined && ![...this.addresses.values()].some((s) => s.has(src))) throw new LineError('Error: Invalid prefsrc address.', false);
      this.routes.set(key, {
        family: family ?? famOf(dst),
        type: throwType ? 'throw' : 'unicast',
        dst,
        table,
        proto: after(w, 'proto') ?? 'boot',
        ...(dev !== undefined ? { dev } : {}),
      });
    } else if (!this.routes.delete(key)) throw new LineError('RTNETLINK answers: No such process', false);
  }

  private query(args: string[], family: 4 | 6 | undefined): CommandResult {
    const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout, stderr: '' });
    const a = args.join(' ');
    if (a.startsWith('-j route get ')) return ok(JSON.stringify([{ dst: args[3], ...this.routeGet, flags: [] }]));
    if (a === '-j address show' || a.startsWith('-j address show dev ')) {
      const only = args[4];
      if (only !== undefined && !this.addresses.has(only)) return { exitCode: 1, stdout: '', stderr: `Device "${only}" does not exist.` };
      const links = [...this.addresses].filter(([dev]) => only === undefined || dev === only);
      return ok(
        JSON.stringify(
          links.map(([ifname, set]) => ({
            ifname,
            addr_info: [...set].map((local) => {
              const metric = this.addressMetrics.get(local);
              return { family: local.includes(':') ? 'inet6' : 'inet', local, prefixlen: local.includes(':') ? 128 : 32, ...(metric !== undefined ? { metric } : {}) };
            }),
          })),
        ),
      );
    }
    if (a === '-s xfrm state list nokeys') return ok(this.renderStates());
    if (a === '-s xfrm policy list nosock') return ok(this.renderPolicies());
    if (a === '-j route show table all') {
      const list = [...this.routes.values()]
        .filter((r) => r.family === family)
        .map((r) => ({ ...(r.type === 'throw' ? { type: 'throw' } : {}), dst: r.dst, ...(r.dev ? { dev: r.dev } : {}), table: r.table, protocol: r.proto, flags: [] }));
      return ok(JSON.stringify(list));
    }
    if (a === '-j rule show') {
      const list = [
        { priority: 0, src: 'all', table: 'local' },
        ...[...this.rules].filter((k) => k.startsWith(`${family ?? 4}|`)).map((k) => ({ priority: Number(k.split('|')[1]), src: 'all', table: '21332' })),
        { priority: 32766, src: 'all', table: 'main' },
      ];
      return ok(JSON.stringify(list));
    }
    return { exitCode: 255, stdout: '', stderr: `fake ip: unsupported query: ${a}` };
  }

  renderStates(): string {
    return [...this.states.values()]
      .map((s) =>
        [
          `src ${s.src} dst ${s.dst}`,
          `\tproto esp spi 0x${s.spi.toString(16).padStart(8, '0')}(${s.spi}) reqid ${s.reqid}(0x${s.reqid.toString(16).padStart(8, '0')}) mode tunnel`,
          '\treplay-window 0 seq 0x00000000 flag af-unspec (0x00100000)',
          `\tanti-replay context: seq 0x${(s.seq ?? 0).toString(16)}, oseq 0x${(s.oseq ?? 0).toString(16)}, bitmap 0x00000000`,
          '\taead rfc4106(gcm(aes)) <<Keys hidden>> 128',
          '\tlifetime config:',
          '\t  limit: soft (INF)(bytes), hard (INF)(bytes)',
          '\tlifetime current:',
          `\t  ${s.bytes}(bytes), ${s.packets}(packets)`,
          '\t  add 2026-11-23 00:56:02 use -',
          '\tstats:',
          '\t  replay-window 0 replay 0 failed 0',
        ].join('\n'),
      )
      .join('\n');
  }

  private renderPolicies(): string {
    return [...this.policies.values()]
      .map((p) => {
        const lines = [`${p.selector} uid 0`, `\tdir ${p.dir} action allow index ${p.index} priority ${p.priority} ptype main share any flag  (0x00000000)`];
        if (p.tmplReqid !== undefined) {
          lines.push(`\ttmpl src ${p.tmplSrc ?? ''} dst ${p.tmplDst ?? ''}`, `\t\tproto esp spi 0x00000000(0) reqid ${p.tmplReqid}(0x${p.tmplReqid.toString(16)}) mode tunnel`);
        }
        return lines.join('\n');
      })
      .join('\n');
  }

  private resolvectl(args: readonly string[]): CommandResult {
    const [cmd, iface, ...values] = args;
    const link = `Link 2 (${iface ?? ''}):`;
    const set = values.filter((v) => v !== '');
    switch (cmd) {
      case 'dns':
        if (values.length > 0) this.resolved.servers = set;
        return { exitCode: 0, stdout: `${link} ${this.resolved.servers.join(' ')}\n`, stderr: '' };
      case 'domain':
        if (values.length > 0) this.resolved.domains = set;
        return { exitCode: 0, stdout: `${link} ${this.resolved.domains.join(' ')}\n`, stderr: '' };
      case 'default-route':
        if (values[0] !== undefined) this.resolved.defaultRoute = values[0];
        return { exitCode: 0, stdout: `${link} ${this.resolved.defaultRoute}\n`, stderr: '' };
      case 'revert':
        this.resolved = { servers: [], domains: [], defaultRoute: 'yes' };
        return { exitCode: 0, stdout: '', stderr: '' };
      default:
        return { exitCode: 1, stdout: '', stderr: `Unknown command verb ${cmd ?? ''}` };
    }
  }

  /** Everything Strait might have left behind, as one comparable value. */
  snapshot(): string {
    return JSON.stringify({
      states: [...this.states.keys()].sort(),
      policies: [...this.policies.keys()].sort(),
      routes: [...this.routes.keys()].sort(),
      rules: [...this.rules].sort(),
      addresses: [...this.addresses].map(([d, s]) => [d, [...s].sort()]),
      addressMetrics: [...this.addressMetrics].sort(),
    });
  }
}
