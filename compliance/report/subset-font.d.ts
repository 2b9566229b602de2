/** subset-font ships no types: the one function the report uses. */
declare module 'subset-font' {
  export default function subsetFont(font: Buffer, text: string, options?: { readonly targetFormat?: 'sfnt' | 'woff' | 'woff2' | 'truetype' }): Promise<Buffer>;
}
