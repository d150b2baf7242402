/**
 * Canonical tag sets. A series is identified by (type, name, canonical tags),
 * so two lines whose tags differ only in order or in a repeated key land in
 * the same series. Canonical form: `key:value` (or a bare `key` for a flag
 * tag), sorted by key in code-unit order, last duplicate key wins, joined by
 * `,`; the empty set is ''.
 */
export interface Tag {
  key: string;
  /** '' for a flag tag such as DogStatsD's `|#canary`. */
  value: string;
}

export function canonicalTags(tags: Tag[]): string {
  if (tags.length === 0) return '';
  if (tags.length === 1) return formatTag(tags[0] as Tag);
  const byKey = new Map<string, string>();
  for (const tag of tags) byKey.set(tag.key, tag.value);
  const keys = [...byKey.keys()].sort();
  let out = '';
  for (const key of keys) {
    if (out !== '') out += ',';
    out += formatTag({ key, value: byKey.get(key) as string });
  }
  return out;
}

function formatTag(tag: Tag): string {
  return tag.value === '' ? tag.key : `${tag.key}:${tag.value}`;
}
