import type { Command } from 'commander';
import type { Runner } from '../runner.js';
import { register as acme } from './acme.js';
import { register as approvals } from './approvals.js';
import { register as audit } from './audit.js';
import { register as ceremony } from './ceremony.js';
import { register as cmp } from './cmp.js';
import { register as comply } from './comply.js';
import { register as drill } from './drill/index.js';
import { register as exporter } from './exporter.js';
import { register as inventory } from './inventory.js';
import { register as ipam } from './ipam.js';
import { register as kpi } from './kpi.js';
import { register as monitoring } from './monitoring.js';
import { register as operator } from './operator.js';
import { register as pki } from './pki/index.js';
import { register as report } from './report.js';
import { register as seal } from './seal.js';
import { register as serve } from './serve.js';
import { register as session } from './session.js';
import { register as stacks } from './stacks.js';
import { register as staff } from './staff.js';
import { register as state } from './state.js';
import { register as unseal } from './unseal.js';
import { register as up } from './up.js';
import { register as wan } from './wan.js';

/** Every command group, in the order `jinbao --help` lists them. */
export const COMMANDS: readonly ((program: Command, run: Runner) => void)[] = [up, inventory, ipam, kpi, stacks, pki, staff, acme, cmp, serve, operator, session, ceremony, unseal, seal, approvals, wan, drill, audit, state, comply, report, monitoring, exporter];
