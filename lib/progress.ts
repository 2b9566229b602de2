/**
 * Progress for long work, on stderr, only when stderr is a terminal and CI is not set; silent
 * otherwise so piped output and logs stay clean.
 */
export interface Progress {
  update(done: number, label?: string): void;
  done(message?: string): void;
}

export function progress(stream: NodeJS.WritableStream & { isTTY?: boolean }, total: number, title: string): Progress {
  const enabled = stream.isTTY === true && !process.env.CI;
  let last = 0;
  return {
    update(done, label) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      stream.write(`\r\x1b[2K${title}: ${done}/${total} (${pct}%)${label ? ` ${label}` : ''}`);
    },
    done(message) {
      if (!enabled) return;
      stream.write(`\r\x1b[2K${message ? `${message}\n` : ''}`);
    },
  };
}
