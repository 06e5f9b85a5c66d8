/**
 * Policy penalties (PROTOCOL.md, "Protocol v2, step 2", policy): operator rules matched against the
 * plaintext user text of a metered call. A match is a violation: the call is not forwarded, its
 * state refunds C_max and carries the rule's penalty (capped), and the penalty is logged publicly.
 * End-to-end encrypted requests are never matched: the server cannot read them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { MAX_METERED_AMOUNT } from '@zkcredits/core';
import { z } from 'zod';

/** One rule: `pattern` (a case-insensitive regular expression) matched against user text; `penalty` in price units. */
export type PolicyRule = { reason: string; pattern: RegExp; penalty: number };

/** The rules and the cap of one violation's penalty (undefined: the deployment's C_max). */
export type Policy = { rules: PolicyRule[]; maxPenalty: number | undefined };

/** A violation found in a request: the rule's reason and its penalty before the cap. */
export type Violation = { reason: string; penalty: number };

const RULES_ENV = 'ZKC_POLICY_RULES';
const EXAMPLE = `${RULES_ENV}='[{"reason":"spam","pattern":"buy cheap pills","penalty":10000}]'`;

const ruleSchema = z.strictObject({
  reason: z.string().regex(/^[a-z0-9_]{1,64}$/, { error: 'reason must be 1-64 characters from a-z 0-9 _' }),
  pattern: z.string().min(1, { error: 'pattern must not be empty' }).max(1000, { error: 'pattern must be at most 1000 characters' }),
  penalty: z
    .number({ error: 'penalty must be a whole number of price units' })
    .int({ error: 'penalty must be a whole number of price units' })
    .min(1, { error: 'penalty must be at least 1 price unit' })
    .max(MAX_METERED_AMOUNT, { error: 'penalty must be below 2^40 price units' }),
});

/**
 * Parses `ZKC_POLICY_RULES`: inline JSON (starting with `[`) or the path of a JSON file holding
 * the array. Never throws: returns the rules, or every problem with how to fix it.
 */
export function parsePolicyRules(value: string): { ok: true; rules: PolicyRule[] } | { ok: false; problems: string[] } {
  let text = value.trim();
  let where = RULES_ENV;
  if (!text.startsWith('[') && !text.startsWith('{')) {
    if (!existsSync(text)) {
      return { ok: false, problems: [`${RULES_ENV}: ${text.slice(0, 200)} is neither a JSON array nor a readable file; give the rules inline or a file path, e.g. ${EXAMPLE}`] };
    }
    where = `${RULES_ENV} file ${text}`;
    try {
      text = readFileSync(text, 'utf8');
    } catch (err) {
      return { ok: false, problems: [`${where}: cannot read it (${(err as { code?: string }).code ?? 'error'})`] };
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problems: [`${where} is not valid JSON: expected an array of {"reason", "pattern", "penalty"}, e.g. ${EXAMPLE}`] };
  }
  if (!Array.isArray(json)) return { ok: false, problems: [`${where} must be a JSON array of {"reason", "pattern", "penalty"}, e.g. ${EXAMPLE}`] };
  const problems: string[] = [];
  const rules: PolicyRule[] = [];
  const reasons = new Set<string>();
  json.forEach((item, i) => {
    const parsed = ruleSchema.safeParse(item);
    if (!parsed.success) {
      problems.push(`${where} rule ${i}: ${parsed.error.issues.map((x) => (x.path.length ? `${x.path.join('.')}: ${x.message}` : x.message)).join('; ')} (each rule is {"reason": "[a-z0-9_]+", "pattern": "<regex>", "penalty": <price units>})`);
      return;
    }
    const { reason, pattern, penalty } = parsed.data;
    if (reasons.has(reason)) {
      problems.push(`${where} rule ${i}: reason "${reason}" is used twice; give each rule its own reason`);
      return;
    }
    reasons.add(reason);
    try {
      rules.push({ reason, pattern: new RegExp(pattern, 'i'), penalty });
    } catch (err) {
      problems.push(`${where} rule ${i} ("${reason}"): pattern is not a valid regular expression (${err instanceof Error ? err.message : String(err)})`);
    }
  });
  return problems.length ? { ok: false, problems } : { ok: true, rules };
}

/**
 * The plaintext user text of a chat request: every `user` message's string content and text parts.
 * Nothing of an end-to-end encrypted request (its content is ciphertext; it is never matched).
 */
export function userText(messages: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    if (m === null || typeof m !== 'object' || (m as { role?: unknown }).role !== 'user') continue;
    const content = (m as { content?: unknown }).content;
    if (typeof content === 'string') out.push(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        const p = part as { type?: unknown; text?: unknown } | null;
        if (p?.type === 'text' && typeof p.text === 'string') out.push(p.text);
      }
    }
  }
  return out;
}

/** The first rule the request's plaintext user text matches, or undefined. E2EE requests never match. */
export function findViolation(policy: Policy, messages: readonly unknown[], e2ee: boolean): Violation | undefined {
  if (e2ee || policy.rules.length === 0) return undefined;
  const texts = userText(messages);
  for (const rule of policy.rules) {
    if (texts.some((t) => rule.pattern.test(t))) return { reason: rule.reason, penalty: rule.penalty };
  }
  return undefined;
}

/** A violation's penalty in the state: the rule's, capped per violation (the cap defaults to C_max). */
export function cappedPenalty(policy: Policy, violation: Violation, cMax: number): number {
  return Math.min(violation.penalty, policy.maxPenalty ?? cMax);
}
