import { render } from 'preact';
import { App } from './app';
import { boot } from './boot';
import './style.css';

const root = document.getElementById('app');
if (root) {
  void boot().then((env) => render(<App env={env} />, root));
}
