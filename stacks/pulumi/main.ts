/**
 * The Pulumi program: declares the objects `jinbao synth --engine pulumi --site ID` rendered for the
 * selected stack's site (config `jinbao-dc:objectsFile`, written into Pulumi.site-<ID>.yaml).
 */
import * as pulumi from '@pulumi/pulumi';
import { loadRenderedObjects } from './prepare.js';
import { declareSite } from './declare-site.js';

const config = new pulumi.Config('jinbao-dc');
declareSite(loadRenderedObjects(config.require('objectsFile')));
