import t from 'tap';
import { SeriesIds } from '../../src/store/series-ids.js';

t.test('a series is told apart by type, tags and name, and counted once', async (t) => {
  const ids = new SeriesIds();
  ids.set({ type: 'counter', name: 'a', tags: '' }, 1);
  ids.set({ type: 'timer', name: 'a', tags: '' }, 2);
  ids.set({ type: 'counter', name: 'a', tags: 'env:prod' }, 3);
  ids.set({ type: 'counter', name: 'b', tags: '' }, 4);
  ids.set({ type: 'counter', name: 'a', tags: '' }, 5);
  t.equal(ids.size, 4, 'setting a known series again replaces its id');
  t.same(
    [
      ids.get({ type: 'counter', name: 'a', tags: '' }),
      ids.get({ type: 'timer', name: 'a', tags: '' }),
      ids.get({ type: 'counter', name: 'a', tags: 'env:prod' }),
      ids.get({ type: 'counter', name: 'b', tags: '' }),
      ids.get({ type: 'gauge', name: 'a', tags: '' }),
      ids.get({ type: 'counter', name: 'a', tags: 'env:dev' }),
    ],
    [5, 2, 3, 4, undefined, undefined],
  );
  ids.clear();
  t.equal(ids.size, 0);
  t.equal(ids.get({ type: 'timer', name: 'a', tags: '' }), undefined);
});
