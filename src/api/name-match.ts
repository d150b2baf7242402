/**
 * The live view's name search, matching as `listSeries` does in SQL: a glob
 * (`*` any run, `?` one character, case-sensitive like SQLite's GLOB) when
 * the text has a wildcard, else a case-insensitive substring.
 */
export function nameMatcher(search: string): (name: string) => boolean {
  if (search === '') return () => true;
  if (!/[*?]/.test(search)) {
    const needle = search.toLowerCase();
    return (name) => name.toLowerCase().includes(needle);
  }
  let source = '';
  for (const char of search) source += char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  const pattern = new RegExp(`^${source}$`, 's');
  return (name) => pattern.test(name);
}
