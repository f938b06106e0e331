/** Plain-text lines for what import and verify show a person (CLI; the UI renders the same data itself). */
import type { CertificateInfo } from './certificates.js';

export function certificateLines(info: CertificateInfo, indent = '  '): string[] {
  return [
    `${indent}subject:     ${info.subject}`,
    `${indent}issuer:      ${info.issuer}`,
    ...(info.subjectAltNames.length > 0 ? [`${indent}alt names:   ${info.subjectAltNames.join(', ')}`] : []),
    `${indent}valid:       ${info.notBefore.toISOString()} → ${info.notAfter.toISOString()}`,
    `${indent}key:         ${info.keyDescription}${info.isCa ? ' (CA)' : ''}`,
    `${indent}fingerprint: SHA256 ${info.fingerprintSha256}`,
    ...info.warnings.map((w) => `${indent}warning:     ${w}`),
  ];
}

/** A tiny argv parser: positionals plus `--flag` / `--option value` (repeatable). No secrets ever pass through here. */
export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Set<string>;
  readonly options: Map<string, string[]>;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseArgs(args: readonly string[], spec: { readonly flags: readonly string[]; readonly options: readonly string[] }): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Set<string>();
  const options = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (spec.flags.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
    } else if (spec.options.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
      options.set(name, [...(options.get(name) ?? []), value]);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positionals, flags, options };
}

export const single = (parsed: ParsedArgs, name: string): string | undefined => {
  const values = parsed.options.get(name);
  if (values !== undefined && values.length > 1) throw new UsageError(`--${name} given more than once`);
  return values?.[0];
};
