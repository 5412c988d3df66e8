import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { App } from './App';
import './styles.css';

// boot marker for tests: a full page reload would create a new document and reset this
(window as unknown as { __loadCount?: number }).__loadCount =
  ((window as unknown as { __loadCount?: number }).__loadCount ?? 0) + 1;

createRoot(document.getElementById('root')!).render(
  <BrowserRouter>
    <App />
  </BrowserRouter>,
);
