/** `zkcredits attest <model>`: a fresh attestation of the model's enclave, each check printed. */
import type { AttestationReport } from '@zkcredits/attest';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';

const MARK = { pass: '✔', fail: '✖', skipped: '–' } as const;

export function printReport(ctx: Context, report: AttestationReport): void {
  ctx.out.line(`Attestation of ${report.model}: ${report.ok ? 'PASSED' : 'FAILED'} (level asked ${report.level}, achieved ${report.achieved})`);
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const check of report.checks) ctx.out.line(`  ${MARK[check.status]} ${check.name.padEnd(width)}  ${check.status.padEnd(7)}  ${check.detail}`);
  if (report.tcbStatus) ctx.out.line(`  TCB status: ${report.tcbStatus}${report.advisoryIds.length ? ` (advisories ${report.advisoryIds.join(', ')})` : ''}`);
  if (report.collateralNextUpdate) ctx.out.line(`  collateral valid until ${report.collateralNextUpdate}`);
}

export async function attest(ctx: Context, model: string): Promise<void> {
  const config = await ctx.home.readConfig();
  const client = await ctx.client(config, 'attest');
  await ctx.out.step('Checking the server', () => client.checkServer());
  const report = await ctx.out.step(`Attesting ${model}'s enclave`, () => client.attest(model));
  ctx.out.result({ ok: report.ok, model: report.model, level: report.level, achieved: report.achieved, checks: report.checks, tcbStatus: report.tcbStatus ?? null });
  printReport(ctx, report);
  if (!report.ok) throw new CliError('attestation_failed', `The enclave of ${model} did not pass attestation: nothing would be sent to it.`);
}
