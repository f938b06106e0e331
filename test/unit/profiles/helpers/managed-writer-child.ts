/**
 * Child for the privilege test: as an unprivileged user, try to write a
 * managed profile and report what happened as one JSON line.
 */
import { readFileSync } from 'node:fs';

import { parseProfile } from '../../../../native-helper/src/api/profile.js';
import { ProfileStore, ProfileStoreError } from '../../../../native-helper/src/profiles/profile-store.js';

const [userDir, managedDir, profilePath] = process.argv.slice(2) as [string, string, string];
const parsed = parseProfile(JSON.parse(readFileSync(profilePath, 'utf8')));
if (!parsed.ok) throw new Error('bad fixture');
const store = new ProfileStore({ userProfilesDir: userDir, managedDir });
try {
  await store.saveManaged(parsed.profile);
  process.stdout.write(JSON.stringify({ ok: true, uid: process.getuid?.() }));
} catch (error) {
  process.stdout.write(JSON.stringify({ ok: false, uid: process.getuid?.(), code: error instanceof ProfileStoreError ? error.code : 'OTHER', message: String(error) }));
}
