// The one way this dashboard builds DOM: text always goes in as text nodes,
// never as HTML, because series names and tags are user input.

/**
 * el('span', { class: 'tag', title: tags }, 'text', childNode)
 * Attributes are set with setAttribute (except `on*` handlers, refused);
 * children are nodes or strings (inserted as text).
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) throw new Error(`el: use addEventListener for ${name}`);
    node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
}
