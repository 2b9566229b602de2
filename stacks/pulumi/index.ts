export { declareSite } from './declare-site.js';
export { preparePulumi, loadRenderedObjects, PULUMI_PROJECT_DIR, PULUMI_PROJECT, type PreparedStack } from './prepare.js';
