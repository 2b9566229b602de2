import { describe, expect, it } from 'vitest';
import { say } from '../../lib/i18n/index.js';
import { buildReportBody, DRILL_NOTES, EventLog, isReportNote, LAB_TLS_LABEL, sealReport, UNSIGNED_NOTE } from '../index.js';
import { request } from './helpers.js';

/**
 * The lines printed after a drill's result (`drill run --unsigned` and the lab's evidence notes):
 * said in the reader's language on screen, while the report keeps its English note.
 */
describe('the notes printed after a drill', () => {
  it('GIVEN an unsigned report THEN the printed note is the report\'s own note in English and Chinese on screen', () => {
    const note = DRILL_NOTES.unsigned();
    expect(say(note, 'en')).toBe(`report: ${UNSIGNED_NOTE}`);
    expect(say(note, 'zh-CN')).toBe('报告：未签名：没有来自 jinbao PKI 的证据签名者；摘要只能证明完整性，不能证明报告由谁生成');
  });

  it('GIVEN a signed report and lab or PKI certificates THEN each note is said in both languages', () => {
    expect(say(DRILL_NOTES.signed('CN=DR coordinator 440000'), 'en')).toBe('report: signed with an evidence-signing certificate (CN=DR coordinator 440000)');
    expect(say(DRILL_NOTES.signed('CN=DR coordinator 440000'), 'zh-CN')).toBe('报告：已用证据签名证书签名（CN=DR coordinator 440000）');
    expect(say(DRILL_NOTES.labTls(), 'en')).toBe(`replication TLS: ${LAB_TLS_LABEL}`);
    expect(say(DRILL_NOTES.labTls(), 'zh-CN')).toBe('复制 TLS：仅供实验环境使用、由 openssl 生成的证书（非 jinbao PKI）');
    expect(say(DRILL_NOTES.pkiTls(), 'zh-CN')).toBe('复制 TLS：来自 jinbao PKI 的 replica-mtls 证书');
  });

  it('GIVEN the notes of a drill THEN only those about the report are kept for an existing pair', () => {
    expect([DRILL_NOTES.labTls(), DRILL_NOTES.unsigned(), DRILL_NOTES.pkiTls(), DRILL_NOTES.signed('CN=x')].filter(isReportNote).map((n) => n.key)).toEqual(['run.note.report.unsigned', 'run.note.report.signed']);
  });

  it('GIVEN an unsigned report sealed WHEN the reader speaks Chinese THEN its recorded note stays English', async () => {
    const log = new EventLog();
    log.mark('fence');
    const report = await sealReport(buildReportBody({ runId: 'dr-note', request: request(), events: log.events, outcome: { result: 'passed' }, measured: { rtoMs: 900, rpoRows: 0, splitBrainFree: true }, replicationTls: LAB_TLS_LABEL }));
    expect(report.evidence.note).toBe(UNSIGNED_NOTE);
  });
});
