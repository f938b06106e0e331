/**
 * The one way components reach `window.strait`: through this context, so a
 * test can hand in its own implementation of the same contract type.
 */
import { createContext, useContext, type ReactNode } from 'react';

import type { StraitDesktopApi } from '../../../native-helper/src/api/desktop.js';

declare global {
  interface Window {
    /** Installed by the preload (electron/preload/preload.ts) or by the e2e bridge. */
    strait?: StraitDesktopApi;
  }
}

const ApiContext = createContext<StraitDesktopApi | undefined>(undefined);

export function ApiProvider({ api, children }: { api: StraitDesktopApi; children: ReactNode }) {
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): StraitDesktopApi {
  const api = useContext(ApiContext);
  if (api === undefined) throw new Error('useApi outside ApiProvider');
  return api;
}
