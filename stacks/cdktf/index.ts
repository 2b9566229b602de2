export { SiteStack, type SiteStackProps } from './site-stack.js';
export { synthesizeCdktf, stackJson, siteHash, CDKTF_VERSION, type SynthOptions, type SynthResult } from './synth.js';
export { logicalId } from './logical-id.js';
