// The dashboard's entry point: state (picked series, range) kept in the URL
// hash, the refresh loop, the empty state and the token prompt.
import { ApiError, AuthRequired, getJson, storedToken, storeToken } from './api.js';
import { RANGES, SeriesCard } from './card.js';
import { timeOfDay } from './format.js';
import { SeriesSearch } from './search.js';

const DEFAULT_REFRESH_MS = 5000;
/** Refresh the week view about once a minute: it changes once per flushed minute. */
const WEEK_REFRESH_MS = 60_000;

const $ = (id) => document.getElementById(id);

/** `?refresh=<ms>` shortens the 5 s refresh (tests use it); bounded so a typo cannot flood the daemon. */
function refreshMs() {
  const asked = Number(new URLSearchParams(location.search).get('refresh'));
  return Number.isInteger(asked) && asked >= 100 && asked <= 3_600_000 ? asked : DEFAULT_REFRESH_MS;
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  let series = [];
  try {
    const parsed = JSON.parse(params.get('series') ?? '[]');
    if (Array.isArray(parsed)) series = parsed.filter((s) => typeof s?.name === 'string' && typeof s?.type === 'string' && typeof s?.tags === 'string');
  } catch {
    // A hand-edited hash that is not JSON picks nothing.
  }
  const range = params.get('range');
  return { series, range: RANGES.includes(range) ? range : '1h' };
}

class Dashboard {
  constructor() {
    this.refreshMs = refreshMs();
    this.cards = [];
    this.ticks = 0;
    this.loop = 0;
    this.timer = undefined;
    this.waitingForToken = false;
    this.hasUserData = false;
    this.metricsPrefix = undefined;
    const { series, range } = readHash();
    this.range = range;
    $('range').value = range;
    $('range').addEventListener('change', () => {
      this.range = $('range').value;
      this.#saveHash();
      this.#refreshNow();
    });
    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      storeToken($('token').value);
      $('token').value = '';
      this.waitingForToken = false;
      $('token-form').hidden = true;
      this.#refreshNow();
    });
    this.search = new SeriesSearch({
      input: $('search'),
      results: $('results'),
      area: $('search-area'),
      onPick: (picked) => this.#pick(picked),
      isPicked: (candidate) => this.#cardOf(candidate) !== undefined,
      onError: (error) => this.#failed(error),
    });
    for (const picked of series) this.#addCard(picked);
    this.#layout();
    this.#refreshNow();
  }

  #cardOf({ name, type, tags }) {
    return this.cards.find((card) => card.series.name === name && card.series.type === type && card.series.tags === tags);
  }

  #pick(series) {
    if (this.#cardOf(series) !== undefined) return;
    this.#addCard(series);
    this.#saveHash();
    this.#layout();
    this.#refreshNow();
  }

  #addCard(series) {
    const card = new SeriesCard({ name: series.name, type: series.type, tags: series.tags }, (removed) => {
      removed.destroy();
      this.cards = this.cards.filter((kept) => kept !== removed);
      this.#saveHash();
      this.#layout();
    });
    this.cards.push(card);
    $('cards').append(card.element);
  }

  #saveHash() {
    const params = new URLSearchParams({ range: this.range });
    if (this.cards.length > 0) params.set('series', JSON.stringify(this.cards.map((card) => card.series)));
    history.replaceState(null, '', `${location.pathname}${location.search}#${params}`);
  }

  #layout() {
    const empty = !this.hasUserData && this.metricsPrefix !== undefined && this.cards.length === 0;
    $('empty').hidden = !empty || this.waitingForToken;
    $('hint').hidden = empty || this.cards.length > 0 || this.waitingForToken || this.metricsPrefix === undefined;
    this.search.setPinned(this.cards.length === 0 && !empty && !this.waitingForToken && this.metricsPrefix !== undefined);
  }

  #refreshNow() {
    clearTimeout(this.timer);
    this.ticks = 0;
    void this.#tick(++this.loop);
  }

  async #tick(loop) {
    const tick = this.ticks++;
    try {
      // Health on every turn, so a daemon that stopped or went down shows even with no card open.
      const health = await getJson('health');
      this.metricsPrefix = health.metricsPrefix;
      await this.#checkEmpty();
      const withWeek = tick % Math.max(1, Math.round(WEEK_REFRESH_MS / this.refreshMs)) === 0;
      await Promise.all(this.cards.map((card) => card.refresh(this.range, withWeek)));
      const state = health.status === 'up' ? 'live' : `daemon ${health.status}`;
      $('status').textContent = `${state} · every ${this.refreshMs / 1000} s · ${timeOfDay(Date.now() / 1000)}`;
      $('status').classList.toggle('down', health.status !== 'up');
    } catch (error) {
      this.#failed(error);
    }
    this.#layout();
    // A loop started by #refreshNow (a pick, a new range, a token) replaces this one.
    if (loop === this.loop && !this.waitingForToken) this.timer = setTimeout(() => this.#tick(loop), this.refreshMs);
  }

  /** The empty state stays until the first series that is not the daemon's own arrives. */
  async #checkEmpty() {
    if (this.hasUserData) return;
    const [all, own, live] = await Promise.all([
      getJson('series', { limit: 1 }),
      this.metricsPrefix === '' ? { total: 0 } : getJson('series', { search: `${this.metricsPrefix}*`, limit: 1 }),
      getJson('live', { limit: 1 }),
    ]);
    this.hasUserData = all.total > own.total || live.series.length > 0;
  }

  #failed(error) {
    if (error instanceof AuthRequired) {
      // A token was given and refused: say so, rather than asking again as if for the first time.
      $('token-error').hidden = storedToken() === null;
      this.waitingForToken = true;
      $('token-form').hidden = false;
      $('token').focus();
      this.#layout();
      return;
    }
    $('status').textContent = error instanceof ApiError ? `the daemon answered ${error.status}: ${error.message}` : `cannot reach the daemon: ${error.message}`;
    $('status').classList.add('down');
  }
}

// Tests and curious users can reach the cards (and their uPlot charts) from the console.
window.dattss = new Dashboard();
