import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../lib/audit.js';
import { auditCsv, auditRecord, csvField } from '../audit-export.js';

const entry = (over: Partial<AuditEntry>): AuditEntry => ({ seq: 7, at: '2026-12-01T08:00:00.000Z', actor: 'root', action: 'pki.issue', outcome: 'ok', subject: 's', details: {}, prevHash: '0', hash: '1', ...over });

describe('the audit export view', () => {
  it('GIVEN an entry made by an operator through the service THEN the record names the operator, certificate, role, scope, address and approval chain', () => {
    const r = auditRecord(entry({ actor: 'operator:op-1a2b3c4d5e security-admin@440000 (C=CN, serialNumber=440017, CN=李娜, certificate 4a81ff)', details: { remote: '10.0.0.9', approvalChain: [{ by: 'op-9', at: 'x' }] } }));
    expect(r).toMatchObject({ operatorId: 'op-1a2b3c4d5e', operatorSubject: 'C=CN, serialNumber=440017, CN=李娜', certificateSerial: '4a81ff', role: 'security-admin', scope: '440000', sourceAddress: '10.0.0.9', approvalChain: '[{"by":"op-9","at":"x"}]' });
    expect(auditRecord(entry({ actor: 'operator:op-1 viewer (CN=x, certificate ab)' }))).toMatchObject({ scope: 'nation', approvalChain: '', sourceAddress: '' });
  });

  it('GIVEN an entry an earlier version wrote for a command run after dual control (the chain in the actor, or in details.chain) THEN the record names the proposer and the approvals', () => {
    const actor = 'operator:op-1 security-admin (C=CN, CN=张伟, certificate 0a1b); approval 3 by operator:op-2 (certificate 0c2d) at 2026-12-01T09:00:00.000Z';
    expect(auditRecord(entry({ actor }))).toMatchObject({ operatorId: 'op-1', certificateSerial: '0a1b', role: 'security-admin', approvalChain: 'approval 3 by operator:op-2 (certificate 0c2d) at 2026-12-01T09:00:00.000Z', actor });
    const executed = auditRecord(entry({ actor, action: 'approvals.execute', details: { chain: [{ operator: 'op-2', certificate: '0c2d', at: 'x' }] } }));
    expect(executed.approvalChain).toBe('[{"operator":"op-2","certificate":"0c2d","at":"x"}]');
  });

  it('GIVEN a local user or a certificate of no operator THEN the operator fields are empty or name the certificate', () => {
    expect(auditRecord(entry({ actor: 'root' }))).toMatchObject({ operatorId: '', role: '', scope: '', certificateSerial: '', actor: 'root' });
    expect(auditRecord(entry({ actor: 'certificate 77ee (CN=stranger)', outcome: 'refused', details: { reason: 'not an operator', remote: '127.0.0.1' } }))).toMatchObject({ operatorId: '', certificateSerial: '77ee', operatorSubject: 'CN=stranger', reason: 'not an operator' });
  });

  it('GIVEN commas, quotes, line breaks and formulas THEN fields are quoted (RFC 4180) and formulas neutralised', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a, b')).toBe('"a, b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    const csv = auditCsv([auditRecord(entry({ subject: '=1+1', details: { reason: 'a "b", c' } }))]);
    const [header, row, end] = csv.split('\r\n');
    expect(header).toBe('seq,time,operator_id,operator_subject,certificate_serial,role,scope,source_address,event_type,outcome,subject,approval_chain,reason,actor');
    expect(row).toBe(`7,2026-12-01T08:00:00.000Z,,,,,,,pki.issue,ok,'=1+1,,"a ""b"", c",root`);
    expect(end).toBe('');
  });
});
