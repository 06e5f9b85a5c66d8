/**
 * Model catalogue served by `GET /models`, shaped like Venice's list-models response.
 *
 * Venice's TEE models carry `e2ee-*` ids since 2026-07-28, one id for both flows: a request with
 * the three `X-Venice-TEE-*` headers runs end-to-end encrypted, one without them runs TEE-only
 * (plaintext, still inside the enclave). The sim serves both flows under the same id.
 */
export interface SimModel {
  id: string;
  name: string;
  /** Runs inside a (simulated) enclave and has `/tee/attestation`. */
  tee: boolean;
  /** Accepts Venice E2EE requests (implies `tee`). */
  e2ee: boolean;
  availableContextTokens: number;
  maxCompletionTokens: number;
  /** USD per 1M tokens. */
  pricing: { input: number; output: number };
}

export const DEFAULT_MODELS: readonly SimModel[] = [
  { id: 'venice-uncensored', name: 'Venice Uncensored', tee: false, e2ee: false, availableContextTokens: 32768, maxCompletionTokens: 8192, pricing: { input: 0.2, output: 0.9 } },
  { id: 'llama-3.3-70b', name: 'Llama 3.3 70B', tee: false, e2ee: false, availableContextTokens: 65536, maxCompletionTokens: 8192, pricing: { input: 0.7, output: 2.8 } },
  { id: 'e2ee-qwen3-5-122b-a10b', name: 'Qwen 3.5 122B (TEE / E2EE)', tee: true, e2ee: true, availableContextTokens: 131072, maxCompletionTokens: 16384, pricing: { input: 0.6, output: 2.4 } },
  { id: 'e2ee-glm-5', name: 'GLM 5 (TEE / E2EE)', tee: true, e2ee: true, availableContextTokens: 131072, maxCompletionTokens: 16384, pricing: { input: 0.9, output: 3.2 } },
];

const CREATED = 1_735_689_600; // fixed so responses are reproducible

export function modelListEntry(m: SimModel) {
  return {
    id: m.id,
    object: 'model',
    created: CREATED,
    owned_by: 'venice.ai',
    type: 'text',
    model_spec: {
      name: m.name,
      privacy: 'private',
      offline: false,
      beta: false,
      availableContextTokens: m.availableContextTokens,
      maxCompletionTokens: m.maxCompletionTokens,
      capabilities: {
        optimizedForCode: false,
        quantization: 'fp8',
        supportsFunctionCalling: !m.e2ee,
        supportsReasoning: false,
        supportsResponseSchema: !m.e2ee,
        supportsVision: false,
        supportsWebSearch: !m.e2ee,
        supportsLogProbs: false,
        supportsE2EE: m.e2ee,
        supportsTeeAttestation: m.tee,
      },
      constraints: { temperature: { default: 0.7 }, top_p: { default: 0.9 } },
      pricing: {
        input: { usd: m.pricing.input, diem: m.pricing.input },
        output: { usd: m.pricing.output, diem: m.pricing.output },
      },
      traits: [] as string[],
    },
  };
}
