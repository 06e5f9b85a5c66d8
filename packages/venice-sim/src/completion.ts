/**
 * Deterministic "inference": the reply is derived from the conversation so tests
 * can predict it exactly. Tokens are whitespace-separated words.
 *
 *   reply words = ["sim-<8 hex of sha256(canonical messages)>:", ...words of the last user message]
 *   capped at the effective max tokens (finish_reason "length" when cut, else "stop").
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export interface PlainMessage {
  role: string;
  content: string;
}

export function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** Prompt tokens: words of every message plus one per message for its role. */
export function countPromptTokens(messages: readonly PlainMessage[]): number {
  return messages.reduce((n, m) => n + 1 + countTokens(m.content), 0);
}

export function conversationDigest(messages: readonly PlainMessage[]): string {
  const canon = JSON.stringify(messages.map((m) => [m.role, m.content]));
  return bytesToHex(sha256(new TextEncoder().encode(canon))).slice(0, 8);
}

export interface SimCompletion {
  /** Tokens as they are streamed: the first bare, the rest with a leading space. */
  pieces: string[];
  content: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

export function simulateCompletion(messages: readonly PlainMessage[], maxTokens: number): SimCompletion {
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const words = [`sim-${conversationDigest(messages)}:`, ...(lastUser ? lastUser.content.split(/\s+/).filter(Boolean) : [])];
  const kept = words.slice(0, Math.max(0, maxTokens));
  const pieces = kept.map((w, i) => (i === 0 ? w : ` ${w}`));
  return {
    pieces,
    content: pieces.join(''),
    finishReason: kept.length < words.length ? 'length' : 'stop',
    promptTokens: countPromptTokens(messages),
    completionTokens: kept.length,
  };
}
