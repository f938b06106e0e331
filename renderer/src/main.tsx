/** Renderer entry: binds the store to `window.strait` and renders the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from './App.js';
import { ApiProvider } from './lib/api.js';
import { AppStore, StoreContext } from './lib/store.js';
import './styles.css';

const root = document.getElementById('root');
const api = window.strait;
if (root !== null) {
  if (api === undefined) {
    root.textContent = 'Strait could not start: the app bridge is missing. Reinstall Strait.';
  } else {
    const store = new AppStore(api);
    store.start();
    createRoot(root).render(
      <StrictMode>
        <ApiProvider api={api}>
          <StoreContext.Provider value={store}>
            <App />
          </StoreContext.Provider>
        </ApiProvider>
      </StrictMode>,
    );
  }
}
