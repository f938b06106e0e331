/**
 * Trust anchors for bundle signers: PEM certificates the administrator put
 * in a system folder (default /etc/strait/trust). Whoever can write that
 * folder decides which profiles every user of the machine accepts, so the
 * folder and each file must belong to root (or the configured owner) and be
 * writable by nobody else; otherwise we refuse all of them rather than
 * trust a folder a user could have planted a certificate in.
 */
import type { X509Certificate } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { CertificateError, parseCertificates } from './certificates.js';
import type { TrustAnchor } from './cms.js';

export type TrustStoreErrorCode = 'INSECURE' | 'INVALID';

export class TrustStoreError extends Error {
  override readonly name = 'TrustStoreError';
  constructor(
    readonly code: TrustStoreErrorCode,
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

export interface TrustAnchorOptions {
  /** The uid that must own the folder and its files; default 0 (root). Ignored on Windows, which has no uid. */
  readonly ownerUid?: number;
  readonly platform?: NodeJS.Platform;
}

const MAX_ANCHOR_FILES = 256;
const MAX_ANCHOR_BYTES = 256 * 1024;

const errnoCode = (error: unknown): string | undefined =>
  error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : undefined;

async function checkOwnership(path: string, kind: 'directory' | 'file', ownerUid: number, platform: NodeJS.Platform): Promise<void> {
  const info = await lstat(path);
  // lstat, not stat: a symlink could point anywhere, including a user-writable file.
  if (kind === 'directory' ? !info.isDirectory() : !info.isFile()) {
    throw new TrustStoreError('INSECURE', `${path} is not a plain ${kind} (symbolic links are not followed)`, path);
  }
  if (platform === 'win32') return;
  if (info.uid !== ownerUid) throw new TrustStoreError('INSECURE', `${path} is owned by uid ${info.uid}, not ${ownerUid === 0 ? 'root' : `uid ${ownerUid}`}; refusing its trust anchors`, path);
  if ((info.mode & 0o022) !== 0) {
    throw new TrustStoreError('INSECURE', `${path} is writable by ${(info.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(info.mode & 0o777).toString(8)}); refusing its trust anchors`, path);
  }
}

/**
 * Loads every `*.pem` in `dir`. A missing folder means "no anchors" (every
 * signed file then fails as UNKNOWN_SIGNER, naming the missing anchors);
 * an insecure folder or file throws TrustStoreError.
 */
export async function loadTrustAnchors(dir: string, options: TrustAnchorOptions = {}): Promise<TrustAnchor[]> {
  const ownerUid = options.ownerUid ?? 0;
  const platform = options.platform ?? process.platform;
  try {
    await checkOwnership(dir, 'directory', ownerUid, platform);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  const names = (await readdir(dir)).filter((n) => n.endsWith('.pem') && !n.startsWith('.')).sort();
  if (names.length > MAX_ANCHOR_FILES) throw new TrustStoreError('INVALID', `more than ${MAX_ANCHOR_FILES} anchor files in ${dir}`, dir);
  const anchors: TrustAnchor[] = [];
  for (const name of names) {
    const path = join(dir, name);
    await checkOwnership(path, 'file', ownerUid, platform);
    const bytes = await readFile(path);
    if (bytes.length > MAX_ANCHOR_BYTES) throw new TrustStoreError('INVALID', `${path} is larger than ${MAX_ANCHOR_BYTES} bytes`, path);
    let certs: X509Certificate[];
    try {
      certs = parseCertificates(new Uint8Array(bytes));
    } catch (error) {
      throw new TrustStoreError('INVALID', `${path}: ${error instanceof CertificateError ? error.message : String(error)}`, path);
    }
    for (const certificate of certs) anchors.push({ certificate, source: path });
  }
  return anchors;
}
