/**
 * Child for the crash test: rewrites one profile file forever, alternating
 * two large versions, until the parent kills it with SIGKILL at a random
 * moment. Writes "ready" once the first version is on disk.
 */
import { writeFileAtomic } from '../../../../native-helper/src/profiles/atomic-file.js';

const [target, versionA, versionB] = process.argv.slice(2) as [string, string, string];
const { readFileSync } = await import('node:fs');
const a = readFileSync(versionA);
const b = readFileSync(versionB);
await writeFileAtomic(target, a);
process.stdout.write('ready\n');
for (let i = 0; ; i++) await writeFileAtomic(target, i % 2 === 0 ? b : a);
