/** "Did you mean ...?" for mistyped names. */

/** Levenshtein distance, small inputs only. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The closest candidate within a distance that scales with the word's length, if any. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `did you mean "x"?` or undefined. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const best = closest(word, candidates);
  return best === undefined ? undefined : `did you mean "${best}"?`;
}

/**
 * The name among `names` that is probably `expected` misnamed: the same but for case or a
 * `.yaml` extension for `.yml`, else the closest by edit distance. Only names ending in .yml or
 * .yaml count: a backup (`recipe.yml~`, `recipe.yml.orig`) is not a misnamed file.
 */
export function nearMissFileName(expected: string, names: Iterable<string>): string | undefined {
  const canonical = (name: string): string => name.toLowerCase().replace(/\.yaml$/, '.yml');
  const want = canonical(expected);
  const yamlNames = [...names].filter((n) => n !== expected && /\.ya?ml$/i.test(n));
  const same = yamlNames.find((n) => canonical(n) === want);
  if (same !== undefined) return same;
  const best = closest(want, yamlNames.map(canonical));
  return best === undefined ? undefined : yamlNames.find((n) => canonical(n) === best);
}
