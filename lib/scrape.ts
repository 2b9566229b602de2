/**
 * One reading of the state shared by the gauges of a scrape: a scrape collects its gauges one after
 * the other and each asks for the same rows; the first asks the store, the others within `ms` reuse
 * its answer. A failed reading is not kept.
 */
export function sharedReading<T>(read: () => Promise<T>, ms = 1_000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = performance.now();
    if (!last || now - last.at > ms) {
      const value = read();
      last = { at: now, value };
      value.catch(() => {
        if (last?.value === value) last = undefined;
      });
    }
    return last.value;
  };
}
