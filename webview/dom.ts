// A tiny element builder: no innerHTML anywhere, so labels from the model cannot inject markup and
// nothing needs an inline style attribute (which the CSP forbids).
export type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, props?: Props | null, ...children: Child[]): HTMLElement;
export function h(tag: string, props?: Props | null, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = attributeText(key, value);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
      else if (key.startsWith('aria-') || key.startsWith('data-') || key === 'role' || key === 'for' || key === 'scope' || key === 'colspan') el.setAttribute(key, attributeText(key, value));
      else if (value === true && !(key in el)) el.setAttribute(key, '');
      else (el as unknown as Record<string, unknown>)[key] = value;
    }
  }
  append(el, children);
  return el;
}

/** An attribute's text: text and numbers as written, `true` as a bare attribute; anything else is a bug. */
function attributeText(key: string, value: unknown): string {
  if (value === true) return '';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new TypeError(`the ${key} attribute takes text or a number, not ${typeof value}`);
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el as T;
}
