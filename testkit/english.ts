/** Names, tools and acronyms that stay as they are in Chinese text. */
const KEPT = /\b(?:jinbao|WireGuard|PostgreSQL|OpenSSL|Prometheus|Grafana|Pulumi|Terraform|Chromium|HAProxy|BIRD|Debian|OCSP|Markdown|Lines|JSON|YAML|HTML|SQLite|USB|Key|Chart|Noto|Sans|SC|[A-Z]{2,}\w*)\b/g;

/**
 * The lines of human output that still read as English: after dropping what is not prose
 * (example command lines, `jinbao ...` commands, options, placeholders, paths, identifiers,
 * numbers, names of tools), a line where four or more English words still follow one another
 * as a sentence does.
 */
export function englishLines(text: string): string[] {
  return text.split('\n').filter((line) => {
    if (/^\s*\$ /.test(line)) return false;
    const prose = line
      .replace(/jinbao(?: [a-z][\w-]*)+/g, ' ')
      .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, ' ')
      .replace(/--?[\w-]+(?:[ =](?:<[^>]+>|[A-Z]+\b))?/g, ' ')
      .replace(/<[^>]*>|\[[^\]]*\]/g, ' ')
      .replace(/\S*[/.:@=_][^\s，。；：、（）]*/g, ' ')
      .replace(/\S*\d\S*/g, ' ')
      .replace(/\b\w+(?:-\w+)+\b/g, ' ')
      .replace(KEPT, ' ');
    return /\b[a-z]{2,}(?:[ ,;()]+[a-z]{2,}){3,}/i.test(prose);
  });
}
