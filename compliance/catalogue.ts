import { PLAN_INDICATORS } from '../fabric/index.js';
import type { Check } from './inputs.js';
import type { ControlInfo } from './model.js';
import { auditAppendOnly, auditChain, auditRetention } from './checks/audit.js';
import { recentPassedDrill, replicaMutualTls } from './checks/drills.js';
import { grading, offsitePairing, redundantLines, twoFactorAdministration } from './checks/fabric.js';
import { centralMonitoring } from './checks/monitoring.js';
import { dualControl, operatorSeparation, operatorTwoFactor } from './checks/operators.js';
import { certificatesValid, notExpiringSoon, sm2ChainVerifies, sm2Hierarchy } from './checks/pki.js';
import { indicatorCheck } from './checks/plan.js';
import { adminSeparation, defaultDenySegmentation } from './checks/stacks.js';
import { wanAclDefaultDeny, wanRedundantUplinks } from './checks/wan.js';

/** PKI controls pass on a production hierarchy only: demo keys prove nothing about production. */
const PRODUCTION_PKI = {
  accepts: ['observed'],
  prove: 'a production hierarchy: jinbao --state DIR pki init with the passphrase in --passphrase-env (stored nowhere on disk), in a state directory without the demo passphrase, then jinbao pki issue',
} as const;

/** DR controls pass on drills against real pairs only: a lab drill proves the runbook, not a DR center. */
const REAL_PAIR_DRILL = {
  accepts: ['observed'],
  prove: 'a drill against the real pair: jinbao drill run --site SITE --target pg --pair FILE',
} as const;

/** A catalogue entry: what the control is (data) and the pure check that decides it. */
export interface Control extends ControlInfo {
  readonly check: Check;
}

const MLPS = 'GB/T 22239-2019';
const mlps = (clause: string, text: string) => ({ kind: 'mlps' as const, standard: MLPS, clause, text });

/** MLPS 2.0 level-3 controls (GB/T 22239-2019 §8.1, general requirements) and the commercial-cryptography ones. */
const SECURITY: readonly Control[] = [
  {
    id: 'MLPS-GRADE-01',
    title: 'Every site is graded MLPS level 3 or above',
    source: { kind: 'mlps', standard: 'GB/T 22240-2020', clause: '5 (grading); plan: level-3 business systems', text: '等级保护对象定级：业务系统按第三级要求建设' },
    severity: 'high',
    binding: true,
    scope: 'site',
    inspects: 'fabric',
    how: 'reads sites[].mlpsLevel from the inventory; below 3 fails',
    check: grading,
  },
  {
    id: 'MLPS-NET-01',
    title: 'Redundant lines: every province has two uplinks (ministry core and the ministry DR center)',
    source: mlps('8.1.2.1 e)', '应提供通信线路、关键网络设备和关键计算设备的硬件冗余，保证系统的可用性'),
    severity: 'high',
    binding: true,
    scope: 'site',
    inspects: 'fabric',
    how: 'a province passes when it has a backbone uplink and the ministry has a DR center at another site to take the second line',
    check: redundantLines,
  },
  {
    id: 'MLPS-NET-02',
    title: 'The rendered WAN gives every province hub uplinks to the ministry core and its DR center',
    source: mlps('8.1.2.1 e)', '应提供通信线路、关键网络设备和关键计算设备的硬件冗余，保证系统的可用性'),
    severity: 'high',
    binding: true,
    scope: 'site',
    inspects: 'wan',
    how: 'reads the WAN overlay plan (network/): each province must have an uplink peer at the ministry core and at the ministry DR node',
    check: wanRedundantUplinks,
  },
  {
    id: 'MLPS-BND-01',
    title: 'Protected boundaries: WAN hubs forward by default-deny ACLs, never prefecture ↔ prefecture',
    source: mlps('8.1.3.1 a), 8.1.3.2 a)', '应在网络边界或区域之间根据访问控制策略设置访问控制规则，默认情况下除允许通信外受控接口拒绝所有通信'),
    severity: 'high',
    binding: true,
    scope: 'national',
    inspects: 'wan',
    how: 'reads the WAN ACL model: the default action must be drop and no accept rule may join two prefectures',
    check: wanAclDefaultDeny,
  },
  {
    id: 'MLPS-BND-02',
    title: 'Default-deny segmentation: every namespace of every stack denies ingress and egress by default',
    source: mlps('8.1.3.2 a), 8.1.2.1 c)', '应划分不同的网络区域……默认情况下除允许通信外受控接口拒绝所有通信'),
    severity: 'high',
    binding: true,
    scope: 'site',
    inspects: 'stacks',
    how: 'reads each site\'s synthesized objects: each Namespace needs NetworkPolicies with an empty podSelector and no rules for Ingress and for Egress',
    check: defaultDenySegmentation,
  },
  {
    id: 'MLPS-IAM-01',
    title: 'Two-factor administration, one factor cryptographic',
    source: mlps('8.1.4.1 d)', '应采用口令、密码技术、生物技术等两种或两种以上组合的鉴别技术对用户进行身份鉴别，且其中一种鉴别技术至少应使用密码技术来实现'),
    severity: 'high',
    binding: false,
    scope: 'national',
    inspects: 'attestation',
    how: 'documented control: an auditor attests it from the bastion/SSO configuration and login records; jinbao cannot observe logins, so it never passes on its own and does not set the exit code',
    check: twoFactorAdministration,
  },
  {
    id: 'MLPS-IAM-02',
    title: 'Separation of the system, security and audit administrators (RBAC in every stack)',
    source: mlps('8.1.4.2 d), 8.1.5.1–8.1.5.3', '应授予管理用户所需的最小权限，实现管理用户的权限分离；系统管理员、审计管理员、安全管理员分别进行身份鉴别并只允许其通过特定命令或操作界面进行操作'),
    severity: 'high',
    binding: true,
    scope: 'site',
    inspects: 'stacks',
    how: 'reads each site\'s Roles and bindings: the three administrator roles exist and are bound, no subject holds two, the audit role is read-only',
    check: adminSeparation,
  },
  {
    id: 'MLPS-IAM-03',
    title: 'Cryptographic authentication: certificates are issued and every active one is valid',
    source: mlps('8.1.4.1 d), 8.1.2.2', '其中一种鉴别技术至少应使用密码技术来实现（三级以上应用系统普遍使用数字证书）'),
    severity: 'high',
    binding: true,
    scope: 'national',
    inspects: 'pki',
    how: 'reads the certificate store: there are active certificates, each inside its validity window and issued by an active, unexpired CA',
    proof: PRODUCTION_PKI,
    check: certificatesValid,
  },
  {
    id: 'MLPS-IAM-04',
    title: 'No certificate or CA expires within 30 days',
    source: mlps('8.1.4.1 d)', '密码鉴别手段持续有效：证书到期前完成更新'),
    severity: 'medium',
    binding: true,
    scope: 'national',
    inspects: 'pki',
    how: 'reads notAfter of every active certificate and CA against now + 30 days',
    proof: PRODUCTION_PKI,
    check: notExpiringSoon,
  },
  {
    id: 'MLPS-IAM-05',
    title: 'jinbao\'s own administrators: the system, security and audit administrators are three different people',
    source: mlps('8.1.5.1–8.1.5.3, 8.1.7.2', '应对系统管理员、审计管理员和安全管理员进行身份鉴别，只允许其通过特定的命令或操作界面进行操作；应配备系统管理员、审计管理员和安全管理员等岗位'),
    severity: 'high',
    binding: true,
    scope: 'national',
    inspects: 'operators',
    how: 'reads jinbao\'s operators (jinbao operator list): the three administrator roles are held by active operators, no person holds two, the security administrator no other role',
    proof: PRODUCTION_PKI,
    check: operatorSeparation,
  },
  {
    id: 'MLPS-IAM-06',
    title: 'jinbao\'s own administrators authenticate with two factors, one cryptographic',
    source: mlps('8.1.4.1 d)', '应采用口令、密码技术、生物技术等两种或两种以上组合的鉴别技术对用户进行身份鉴别，且其中一种鉴别技术至少应使用密码技术来实现'),
    severity: 'high',
    binding: true,
    scope: 'national',
    inspects: 'operators',
    how: 'reads jinbao\'s operators: every active system, security and audit administrator has an operator certificate and a service password, which jinbao serve requires on every request (or at jinbao login) beside mutual TLS',
    proof: PRODUCTION_PKI,
    check: operatorTwoFactor,
  },
  {
    id: 'MLPS-IAM-07',
    title: 'Dual control: creating, replacing or revoking a CA, changing policy and adding or removing administrators need a second administrator\'s approval',
    source: mlps('8.1.4.2 d), 8.1.5.3', '应授予管理用户所需的最小权限，实现管理用户的权限分离；应通过安全管理员对系统中的安全策略进行配置'),
    severity: 'high',
    binding: true,
    scope: 'national',
    inspects: 'operators',
    how: 'reads the approval policy (jinbao approvals policy): operators are in force and CA-level and policy-level commands through the service wait for at least one approver besides the proposer',
    proof: PRODUCTION_PKI,
    check: dualControl,
  },
  {
    id: 'MLPS-AUD-01',
    title: 'Audit records are protected: the hash chain verifies',
    source: mlps('8.1.4.3 c)', '应对审计记录进行保护，定期备份，避免受到未预期的删除、修改或覆盖等'),
    severity: 'critical',
    binding: true,
    scope: 'national',
    inspects: 'audit',
    how: 'verifies the audit log\'s hash chain (lib/audit.ts) from its first record to its last',
    check: auditChain,
  },
  {
    id: 'MLPS-AUD-02',
    title: 'Audit records are kept at least 180 days',
    source: mlps('8.1.4.3 c); Cybersecurity Law art. 21(3)', '留存相关的网络日志不少于六个月'),
    severity: 'high',
    binding: true,
    scope: 'national',
    inspects: 'audit',
    how: 'reads the retention setting and the oldest record: retention ≥ 180 days, and nothing pruned that is younger than 180 days',
    check: auditRetention,
  },
  {
    id: 'MLPS-AUD-03',
    title: 'Audit records cannot be changed or deleted: the audit table is insert-only',
    source: mlps('8.1.4.3 c)', '应对审计记录进行保护，定期备份，避免受到未预期的删除、修改或覆盖等'),
    severity: 'high',
    binding: true,
    scope: 'national',
    inspects: 'audit',
    how: 'reads the state database\'s catalogue: the triggers refusing UPDATE and DELETE on audit_log are installed (docs/operators.md shows the grants that leave only the service able to insert)',
    check: auditAppendOnly,
  },
  {
    id: 'MLPS-BAK-01',
    title: 'Off-site real-time backup: the ministry and every province replicate to a DR center at another site',
    source: mlps('8.1.4.9 b), c)', '应提供异地实时备份功能，利用通信网络将重要数据实时备份至备份场地；应提供重要数据处理系统的热冗余'),
    severity: 'high',
    binding: true,
    scope: 'site',
    inspects: 'fabric',
    how: 'reads sites[].dr for the ministry and each province: a DR pairing to another site must exist',
    check: offsitePairing,
  },
  {
    id: 'MLPS-BAK-02',
    title: 'Backup and restore proven: a passed DR drill within 90 days for every DR pairing',
    source: mlps('8.1.4.9 a), b)', '应提供重要数据的本地数据备份与恢复功能；应提供异地实时备份功能'),
    severity: 'high',
    binding: true,
    scope: 'site',
    inspects: 'drills',
    how: 'reads the drill history (dr-runbooks/): the newest passed drill of each DR-paired site must be at most 90 days old',
    proof: REAL_PAIR_DRILL,
    check: recentPassedDrill,
  },
  {
    id: 'MLPS-CRY-01',
    title: 'Cryptography in transit: mutual TLS observed on the replication connection',
    source: mlps('8.1.2.2 a), b)', '应采用校验技术或密码技术保证通信过程中数据的完整性；应采用密码技术保证通信过程中数据的保密性'),
    severity: 'high',
    binding: true,
    scope: 'site',
    inspects: 'drills',
    how: 'reads the drill history: the newest drill of each DR-paired site against its real pair (--target pg) within 90 days must have seen, on the primary (pg_stat_ssl of the standby\'s walsender), an encrypted replication connection on which the standby presented a client certificate; certificates on file alone prove nothing',
    proof: REAL_PAIR_DRILL,
    check: replicaMutualTls,
  },
  {
    id: 'GM-CRY-01',
    title: 'National cryptography available: an SM2 CA hierarchy',
    source: { kind: 'mlps', standard: 'GB/T 39786-2021', clause: '6 (level 3); GM/T 0015', text: '采用SM2/SM3/SM4商用密码算法实现身份鉴别与数据保护' },
    severity: 'medium',
    binding: true,
    scope: 'national',
    inspects: 'pki',
    how: 'reads the CA records: an active SM2 root with an active SM2 issuing CA under it',
    proof: PRODUCTION_PKI,
    check: sm2Hierarchy,
  },
  {
    id: 'GM-CRY-02',
    title: 'The SM2 chain verifies with an independent implementation (OpenSSL)',
    source: { kind: 'mlps', standard: 'GB/T 39786-2021', clause: '6 (level 3); GB/T 32918', text: '密码算法与证书应符合国家标准并可被独立验证' },
    severity: 'medium',
    binding: false,
    scope: 'national',
    inspects: 'pki',
    how: 'runs openssl verify -vfyopt distid:1234567812345678 on each link: the issuing CA under the root, an SM2 leaf under the issuing CA',
    requires: { tool: 'openssl', debianPackage: 'openssl' },
    proof: PRODUCTION_PKI,
    check: sm2ChainVerifies,
  },
  {
    id: 'MLPS-MON-01',
    title: 'Central monitoring: alerting rules for certificates, drills, replication and WAN links are valid',
    source: mlps('8.1.5.4 c)', '应对网络链路、安全设备、网络设备和服务器等的运行状况进行集中监测'),
    severity: 'medium',
    binding: true,
    scope: 'national',
    inspects: 'monitoring',
    how: 'renders the Prometheus rules (monitoring/) and runs promtool check rules on them; the required alerts must be present',
    requires: { tool: 'promtool', debianPackage: 'prometheus' },
    check: centralMonitoring,
  },
];

/** The plan's indicators (专栏2), one control each; binding follows the indicator's kind (fabric/kpi.ts). */
const PLAN: readonly Control[] = PLAN_INDICATORS.map((indicator) => ({ ...indicator, binding: indicator.kind === 'binding' })).map((i) => ({
  id: `PLAN-${i.id}`,
  title: i.title,
  source: { kind: 'plan', indicator: i.id, text: `人力资源和社会保障信息化建设“十二五”规划 ${i.plan ? `专栏2 第${i.plan.row}项` : '二、指导思想、基本原则和发展目标'}` },
  severity: i.binding ? 'high' : 'medium',
  binding: i.binding,
  scope: 'national',
  inspects: 'kpi',
  how: `computes indicator "${i.id}" with fabric/kpi.ts from the inventory and live state and compares it with the plan's target`,
  check: indicatorCheck(i.id),
}));

/** The whole catalogue, in report order. */
export const CATALOGUE: readonly Control[] = [...SECURITY, ...PLAN];

/** The catalogue as data, without check functions (for outputs and docs). */
export function describeCatalogue(catalogue: readonly Control[] = CATALOGUE): ControlInfo[] {
  return catalogue.map(({ check: _check, ...info }) => info);
}
