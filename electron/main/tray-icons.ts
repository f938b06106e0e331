/**
 * Tray icons drawn in code: a filled disc per state (grey, amber, green,
 * red) with a white ring, encoded as PNG (RFC 2083: IHDR, one IDAT with
 * zlib-deflated scanlines, IEND; CRC-32 per chunk). No image files to ship
 * or keep in sync, and the colours match the renderer's status colours.
 */
import { deflateSync } from 'node:zlib';

import type { TrayIcon } from './tray-model.js';

const COLOURS: Readonly<Record<TrayIcon, readonly [number, number, number]>> = {
  disconnected: [0x8a, 0x93, 0x9e],
  connecting: [0xe0, 0x9b, 0x1a],
  connected: [0x1f, 0x9d, 0x55],
  error: [0xd1, 0x3b, 0x3b],
};

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A size×size RGBA PNG of the state's disc. */
export function trayIconPng(state: TrayIcon, size = 32): Buffer {
  const [r, g, b] = COLOURS[state];
  const raw = Buffer.alloc((size * 4 + 1) * size);
  const centre = (size - 1) / 2;
  const outer = size / 2 - 1;
  for (let y = 0; y < size; y++) {
    const row = y * (size * 4 + 1);
    raw[row] = 0; // filter type None
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - centre, y - centre);
      const i = row + 1 + x * 4;
      const alpha = Math.max(0, Math.min(1, outer - d + 0.5));
      const ring = d > outer - size / 10;
      raw[i] = ring ? 255 : r;
      raw[i + 1] = ring ? 255 : g;
      raw[i + 2] = ring ? 255 : b;
      raw[i + 3] = Math.round(alpha * 255);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array())]);
}
