/**
 * Edit distance counting insertions, deletions, substitutions and swaps of two neighbouring
 * characters (optimal string alignment), bounded: returns `max + 1` once the distance exceeds `max`.
 */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, before[j - 2]! + 1);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    before = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * How far a value may be from a candidate and still be a likely typo: one edit for values of up
 * to eight characters (a six-digit code with two wrong digits is another code, not a typo), two
 * for longer words.
 */
export function typoDistance(value: string): number {
  return value.length <= 8 ? 1 : 2;
}

/**
 * The one candidate that is clearly closest: within `maxDistance` edits and strictly closer than
 * every other candidate. Two equally close candidates give no suggestion, since guessing between
 * them would mislead.
 */
export function closest(value: string, candidates: Iterable<string>, maxDistance = typoDistance(value)): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  let tied = false;
  for (const c of candidates) {
    if (c === value) continue;
    const d = editDistance(value, c, bestDistance);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
      tied = false;
    } else if (d === bestDistance && c !== best) tied = true;
  }
  return tied || bestDistance > maxDistance ? undefined : best;
}

/** `, did you mean "X"?` when one candidate is clearly closest, else the empty string. */
export function didYouMean(value: string, candidates: Iterable<string>): string {
  const c = closest(value, candidates);
  return c === undefined ? '' : `, did you mean "${c}"?`;
}
