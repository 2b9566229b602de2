import type { Check } from '../inputs.js';
import { said } from '../message.js';
import { fail, pass } from './verdict.js';

/**
 * jinbao's own administrators are three different people: a system, a security and an audit
 * administrator are in force, nobody holds two of those posts, the security administrator no
 * other role. The stacks' RBAC (MLPS-IAM-02) separates them in the clusters; this is the same
 * separation in the tool that holds the CA keys.
 */
export const operatorSeparation: Check = (inputs) => {
  const o = inputs.operators!;
  const evidence = [{ source: 'operators', detail: o.localOnly ? 'no operator in force: one local operator' : `${o.active} active operator(s); administrator roles not held: ${o.missingRoles.join(', ') || 'none'}` }];
  if (o.localOnly) return [fail(said('operators.localOnly'), evidence)];
  if (o.violations.length > 0) return [fail(said('operators.violations', { people: o.violations.join('; ') }), evidence)];
  if (o.missingRoles.length > 0) return [fail(said('operators.missing', { roles: o.missingRoles.join(', ') }), evidence)];
  return [pass(said('operators.pass', { count: o.active }), evidence)];
};

/**
 * jinbao's administrators authenticate with two factors, one cryptographic (MLPS 8.1.4.1 d): the
 * operator certificate (mutual TLS) and a service password the service checks on every request or
 * login (it refuses an operator without one). Fails while nobody is an administrator (the one local
 * operator authenticates with nothing) or an active administrator has no password.
 */
export const operatorTwoFactor: Check = (inputs) => {
  const o = inputs.operators!;
  const f = o.secondFactor ?? { administrators: 0, without: [] };
  const evidence = [{ source: 'operators', detail: `${f.administrators} active administrator(s); without a service password: ${f.without.join(', ') || 'none'}` }];
  if (o.localOnly || f.administrators === 0) return [fail(said('operators.twoFactor.none'), evidence)];
  if (f.without.length > 0) return [fail(said('operators.twoFactor.missing', { operators: f.without.join('; ') }), evidence)];
  return [pass(said('operators.twoFactor.pass', { count: f.administrators }), evidence)];
};

/**
 * Dual control: CA-level and policy-level operations sent through the service need at least one
 * approver besides the proposer (the approval policy), and there are administrators to give it.
 */
export const dualControl: Check = (inputs) => {
  const o = inputs.operators!;
  const p = o.approvalPolicy ?? { approvers: 1, ttlSeconds: 86_400, setBy: null };
  const evidence = [{ source: 'approvals', detail: `approval policy: ${p.approvers} approver(s) besides the proposer within ${p.ttlSeconds} s (${p.setBy ? `set by ${p.setBy}` : 'the default'})` }];
  if (o.localOnly) return [fail(said('operators.dualControlLocal'), evidence)];
  if (p.approvers < 1) return [fail(said('operators.dualControlOff', { approvers: p.approvers }), evidence)];
  return [pass(said('operators.dualControlOn', { approvers: p.approvers, hours: Math.round((p.ttlSeconds / 3600) * 100) / 100 }), evidence)];
};
