// Entry point of the web client (bundled by scripts/build-web.mjs into dist/web/assets/).
import { render } from 'preact';
import { App } from './components/App.js';

render(<App />, document.getElementById('app')!);
