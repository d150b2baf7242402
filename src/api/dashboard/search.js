// The series picker: the search box asks the daemon (which filters), a short
// pause after the last keystroke, and shows a bounded list with "N more".
import { getJson } from './api.js';
import { el, replace } from './dom.js';
import { seriesKey } from './format.js';

export const RESULT_LIMIT = 50;
const DEBOUNCE_MS = 200;

/**
 * Stored series (`/api/series`) and series only in memory so far
 * (`/api/live`, not yet flushed) that match `search`, stored first.
 */
async function findSeries(search) {
  const [stored, live] = await Promise.all([
    getJson('series', { search, limit: RESULT_LIMIT }),
    getJson('live', { search, limit: RESULT_LIMIT }),
  ]);
  const found = new Map(stored.series.map((series) => [seriesKey(series), series]));
  for (const series of live.series) {
    if (found.size >= RESULT_LIMIT) break;
    const { name, type, tags } = series;
    if (!found.has(seriesKey(series))) found.set(seriesKey(series), { name, type, tags });
  }
  return { series: [...found.values()], more: Math.max(0, stored.total - stored.series.length) };
}

export class SeriesSearch {
  /** `onPick(series)` adds a card; `isPicked(series)`; `onError(error)` handles AuthRequired and the rest. */
  constructor({ input, results, area, onPick, isPicked, onError }) {
    Object.assign(this, { input, results, onPick, isPicked, onError });
    this.pinned = false;
    this.open = false;
    this.sequence = 0;
    this.timer = undefined;
    input.addEventListener('input', () => this.#schedule());
    input.addEventListener('focus', () => this.#show());
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.#close();
    });
    document.addEventListener('pointerdown', (event) => {
      if (!area.contains(event.target)) this.#close();
    });
  }

  /** Pinned open while no series is picked: the list is the first thing to use. */
  setPinned(pinned) {
    this.pinned = pinned;
    if (pinned) this.#show();
    else if (document.activeElement !== this.input) this.#close();
  }

  #show() {
    if (this.open) return;
    this.open = true;
    this.results.hidden = false;
    this.#schedule(0);
  }

  #close() {
    if (this.pinned) return;
    this.open = false;
    this.results.hidden = true;
  }

  #schedule(delayMs = DEBOUNCE_MS) {
    this.open = true;
    this.results.hidden = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.#search(), delayMs);
  }

  async #search() {
    const search = this.input.value.trim();
    const sequence = ++this.sequence;
    let found;
    try {
      found = await findSeries(search);
    } catch (error) {
      return this.onError(error);
    }
    // A slower answer to an earlier query must not replace a newer one.
    if (sequence !== this.sequence) return;
    this.#render(search, found);
  }

  #render(search, { series, more }) {
    const items = series.map((found) => {
      const picked = this.isPicked(found);
      const button = el(
        'button',
        { type: 'button', class: 'result', disabled: picked, 'data-name': found.name, 'data-type': found.type, 'data-tags': found.tags },
        el('span', { class: 'name' }, found.name),
        found.tags === '' ? null : el('span', { class: 'chip tags' }, found.tags),
        el('span', { class: `chip type ${found.type}` }, found.type),
        picked ? el('span', { class: 'picked' }, 'shown') : null,
      );
      button.addEventListener('click', () => {
        this.onPick(found);
        this.pinned = false;
        this.#close();
      });
      return el('li', {}, button);
    });
    const note =
      series.length === 0
        ? el('p', { class: 'note' }, search === '' ? 'No series stored yet.' : `No series match “${search}”.`)
        : more > 0
          ? el('p', { class: 'note more' }, `${more.toLocaleString('en-US')} more: type more of the name to narrow the list.`)
          : null;
    replace(this.results, el('ul', {}, items), note);
    this.results.dataset.search = search;
  }
}
