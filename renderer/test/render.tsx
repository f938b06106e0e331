import { render } from '@testing-library/react';
import type { ReactElement } from 'react';

import { ApiProvider } from '../src/lib/api.js';
import { AppStore, StoreContext } from '../src/lib/store.js';
import { FakeApi } from './fake-api.js';

export function renderWithApi(ui: ReactElement, api = new FakeApi()) {
  const store = new AppStore(api);
  store.start();
  const result = render(
    <ApiProvider api={api}>
      <StoreContext.Provider value={store}>{ui}</StoreContext.Provider>
    </ApiProvider>,
  );
  return { ...result, api, store };
}
