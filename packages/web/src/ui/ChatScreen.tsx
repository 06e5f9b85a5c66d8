'use client';
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { usePublicClient } from 'wagmi';
import { channelFits, openChannel, sealRequest, type E2eeChannel } from '../chat/e2ee';
import { sendPaidChat, type SpendStage } from '../chat/spend';
import { chatStore, type ChatTurn, type Conversation } from '../chat/store';
import type { AttestationSummary, ChatMessage } from '../e2ee/types';
import { AppError, isAppError } from '../errors';
import { prover } from '../prover/client';
import { newId } from '../vault';
import { E2eeBadge, E2eeDetails, type E2eeState } from './E2eeBadge';
import { errorText } from './ErrorNotice';
import { Markdown } from './Markdown';
import { useConfig } from './config-context';
import { useModels, useMoneyFormat } from './hooks';
import { useUnlockedVault, useVault } from './vault-context';

type Stage = SpendStage | 'attesting';

const STAGE_TEXT: Record<Stage, string> = {
  attesting: 'Verifying the model’s enclave',
  syncing: 'Syncing the credit tree',
  loading: 'Loading the prover (first message only)',
  witness: 'Preparing your proof',
  proving: 'Proving on this device',
  done: 'Proof ready',
  locked: 'Another tab is using your account: waiting for it',
  waiting: 'Waiting for the model',
  streaming: 'Answering',
};

type Live = { stage: Stage; startedAt: number; proofMs?: number };

/** An attestation that did not verify, for one conversation and model: nothing was sent. */
type Refusal = { conversationId: string; model: string; attestation?: AttestationSummary };

/** The turns sent as history: no failed answers, no question that never left (attestation refused). */
function sendable(turns: ChatTurn[]): ChatTurn[] {
  return turns.filter((t, i) => !(t.role === 'assistant' && t.meta?.error) && !(t.role === 'user' && turns[i + 1]?.meta?.unsent));
}

export function ChatScreen({ onBuy }: { onBuy(): void }) {
  const config = useConfig();
  const vault = useUnlockedVault();
  const { counts, calls, metered, refresh } = useVault();
  const money = useMoneyFormat(metered?.token);
  const meteredCalls = metered?.calls ?? 0;
  const models = useModels();
  const publicClient = usePublicClient({ chainId: config.chainId });
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [current, setCurrent] = useState<Conversation | null>(null);
  const [model, setModel] = useState<string>('');
  const [input, setInput] = useState('');
  const [live, setLive] = useState<Live | null>(null);
  const [now, setNow] = useState(Date.now());
  /** Phones: the conversation list is a drawer. */
  const [drawer, setDrawer] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const bottom = useRef<HTMLDivElement>(null);
  /** The current conversation's verified enclave and E2EE session (its key lives in the worker). */
  const channel = useRef<E2eeChannel | null>(null);
  const [verified, setVerified] = useState<E2eeChannel | null>(null);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [checking, setChecking] = useState(false);
  const [details, setDetails] = useState(false);
  const modelInfo = models.data?.find((m) => m.id === model);

  /** Drops the conversation's E2EE session: the worker zeroes its client key. */
  const closeChannel = useCallback(() => {
    const c = channel.current;
    channel.current = null;
    setVerified(null);
    if (c) void prover().e2eeClose(c.sessionId).catch(() => undefined);
  }, []);

  useEffect(() => {
    chatStore.list().then(setConversations).catch(() => setConversations([]));
  }, []);
  useEffect(() => {
    // End-to-end encryption by default: the first model that supports it (once the server knows).
    const list = models.data;
    if (model || !list?.length) return;
    const first = list.find((m) => m.e2ee === true) ?? (list.every((m) => m.e2ee !== null) ? list[0] : undefined);
    if (first) setModel(first.id);
  }, [models.data, model]);
  useEffect(() => {
    // A fresh client key per conversation: leaving it (or switching its model) drops the session.
    const c = channel.current;
    if (c && (c.conversationId !== current?.id || c.model !== model)) closeChannel();
    setDetails(false);
  }, [current?.id, model, closeChannel]);
  useEffect(() => closeChannel, [closeChannel]);
  useEffect(() => {
    // Load the prover in the background so the first message is quick.
    if (counts.unspent > 0 || calls > 0 || meteredCalls > 0) prover().warmup().catch(() => undefined);
  }, [counts.unspent > 0 || calls > 0 || meteredCalls > 0]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    if (!live) return;
    const t = setInterval(() => setNow(Date.now()), 100);
    return () => clearInterval(t);
  }, [live]);
  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' });
  }, [current?.turns.length, current?.turns.at(-1)?.content.length]);

  const save = useCallback(async (c: Conversation) => {
    await chatStore.put(c);
    setConversations((list) => [c, ...list.filter((x) => x.id !== c.id)]);
  }, []);

  async function send() {
    const text = input.trim();
    if (!text || live || !model || !modelInfo || modelInfo.e2ee === null) return;
    const maxTokens = modelInfo?.maxTokensPerCredit;
    const e2ee = modelInfo?.e2ee === true;
    const base: Conversation = current ?? { id: newId(), title: text.slice(0, 60), model, turns: [], updatedAt: Date.now() };
    if (base.e2ee && !e2ee) return; // never downgraded: the composer says why (Send is disabled)
    const history = sendable(base.turns);
    const turns: ChatTurn[] = [...base.turns, { role: 'user', content: text }];
    let convo: Conversation = { ...base, model, turns: [...turns, { role: 'assistant', content: '', meta: { model } }], updatedAt: Date.now() };
    setCurrent(convo);
    setInput('');
    const controller = new AbortController();
    abort.current = controller;
    setLive({ stage: e2ee ? 'attesting' : 'syncing', startedAt: Date.now() });
    let answer = '';
    /** Set when the attestation was refused: nothing left this browser. */
    let unsent = false;
    const messages: ChatMessage[] = [...history, { role: 'user' as const, content: text }].map((t) => ({ role: t.role, content: t.content }));
    const request: Record<string, unknown> = { model, stream: true, ...(maxTokens ? { max_tokens: maxTokens } : {}) };
    const finish = (meta: ChatTurn['meta']) => {
      convo = { ...convo, turns: [...turns, { role: 'assistant', content: answer, meta }], updatedAt: Date.now() };
      setCurrent(convo);
    };
    try {
      if (!publicClient) throw new AppError('chain_unavailable', 'This app cannot reach the blockchain right now. Nothing was spent; try again.');
      let body: Record<string, unknown> = { ...request, messages };
      let sealed: Awaited<ReturnType<typeof sealRequest>> | undefined;
      if (e2ee) {
        // Verify the enclave (once per conversation) before anything is proven or sent.
        let c = channel.current;
        if (!channelFits(c, base.id, model)) {
          closeChannel();
          setChecking(true);
          const opened = await openChannel(prover(), base.id, model).finally(() => setChecking(false));
          if ('refused' in opened) {
            unsent = true;
            setRefusal({ conversationId: base.id, model, attestation: opened.refused.attestation });
            const { code, message, details } = opened.refused.error;
            throw new AppError(code, message, { details });
          }
          c = channel.current = opened.channel;
          setVerified(c);
          setRefusal(null);
        }
        sealed = await sealRequest(prover(), c, request, messages);
        body = sealed.body;
        convo = { ...convo, e2ee: true };
      }
      const result = await sendPaidChat({
        vault,
        prover: prover(),
        publicClient,
        chainId: config.chainId,
        pool: config.pool,
        body,
        e2ee: sealed?.e2ee,
        signal: controller.signal,
        onStage(stage, info) {
          setLive((l) => ({ stage, startedAt: l?.startedAt ?? Date.now(), proofMs: stage === 'waiting' ? info?.elapsedMs : l?.proofMs }));
          if (stage === 'streaming') refresh();
        },
        onDelta(delta) {
          answer += delta;
          finish({ model, e2ee });
        },
      });
      const cost = result.metered?.cost !== undefined && metered && money ? money(BigInt(result.metered.cost) * metered.priceUnit) : undefined;
      finish({ model, proofMs: result.proofMs, loadMs: result.loadMs, e2ee, ...(cost ? { cost } : {}) });
    } catch (error) {
      const stopped = isAppError(error, 'aborted');
      finish({ model, stopped, e2ee, error: stopped ? undefined : errorText(error), ...(unsent ? { unsent } : {}) });
      if (unsent) setInput(text); // nothing was sent: the question is back in the box
    } finally {
      abort.current = null;
      setLive(null);
      refresh();
      await save(convo);
    }
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    }
  }

  async function clearAll() {
    if (!window.confirm('Delete all conversations from this browser?')) return;
    await chatStore.clear();
    closeChannel();
    setConversations([]);
    setCurrent(null);
  }

  const elapsed = live ? ((now - live.startedAt) / 1000).toFixed(1) : '0.0';
  const noCredits = counts.unspent === 0 && calls === 0 && meteredCalls === 0;
  const left = [
    metered && money && `${money(metered.money)} (${meteredCalls} call${meteredCalls === 1 ? '' : 's'} at most cost)`,
    calls > 0 && `${calls} call${calls === 1 ? '' : 's'}`,
    (counts.unspent > 0 || (calls === 0 && !metered)) && `${counts.unspent} credit${counts.unspent === 1 ? '' : 's'}`,
  ]
    .filter(Boolean)
    .join(' · ');
  const convoId = current?.id;
  const e2eeState: E2eeState = !modelInfo || modelInfo.e2ee === null
    ? { kind: 'unknown' }
    : !modelInfo.e2ee
    ? { kind: 'off' }
    : checking
      ? { kind: 'checking' }
      : verified && verified.conversationId === convoId && verified.model === model
        ? { kind: 'verified', attestation: verified.attestation }
        : refusal && refusal.conversationId === convoId && refusal.model === model
          ? { kind: 'failed', attestation: refusal.attestation }
          : { kind: 'pending' };
  const report = e2eeState.kind === 'verified' || e2eeState.kind === 'failed' ? e2eeState.attestation : undefined;
  /** An end-to-end encrypted conversation never goes to a model the operator can read. */
  const downgrade = !!current?.e2ee && modelInfo?.e2ee === false;
  const readable = models.data?.find((m) => m.e2ee === false);

  return (
    <div className={`chat${drawer ? ' drawer-open' : ''}`}>
      <aside className="sidebar" id="conversations">
        <div className="sidebar-head">
          <button className="btn block" type="button" onClick={() => { setCurrent(null); setDrawer(false); }} disabled={!!live}>+ New chat</button>
        </div>
        <nav className="convs" aria-label="Conversations">
          {conversations.map((c) => (
            <button key={c.id} type="button" className="conv" aria-current={current?.id === c.id} onClick={() => { if (!live) { setCurrent(c); setDrawer(false); } }}>
              <span>{c.title || 'Untitled'}</span>
            </button>
          ))}
        </nav>
        <div className="sidebar-foot">
          <span>Stored only in this browser</span>
          {conversations.length > 0 && <button className="btn ghost small danger" type="button" onClick={clearAll}>Clear</button>}
        </div>
      </aside>
      {drawer && <div className="drawer-backdrop" onClick={() => setDrawer(false)} />}
      <section className="conversation">
        <div className="chat-phonebar">
          <button className="btn small" type="button" aria-expanded={drawer} aria-controls="conversations" onClick={() => setDrawer((d) => !d)}>
            ☰ Conversations
          </button>
          <button className="btn small" type="button" onClick={() => setCurrent(null)} disabled={!!live}>+ New chat</button>
        </div>
        <div className="messages">
          <div className="messages-inner" data-testid="messages">
            {!current || current.turns.length === 0 ? (
              <div className="empty">
                <h2>What can I help with?</h2>
                <p className="muted">
                  Each message uses one credit (or one call of an account), paid with a zero-knowledge proof made on this device. The server checks the proof, never who you are.
                </p>
                {noCredits && (
                  <button className="btn primary" type="button" onClick={onBuy} style={{ marginTop: 12 }}>Buy credits to start</button>
                )}
              </div>
            ) : (
              current.turns.map((t, i) =>
                t.role === 'user' ? (
                  <div key={i} className="turn-user prose" data-testid="user-turn"><Markdown text={t.content} /></div>
                ) : (
                  <div key={i} className="turn-assistant" data-testid="assistant-turn">
                    <div className={`prose${live && i === current.turns.length - 1 && t.content ? ' caret' : ''}`}>
                      {t.content ? <Markdown text={t.content} /> : null}
                    </div>
                    {t.meta?.error && <div className="notice bad turn-error" role="alert">{t.meta.error}</div>}
                    {!(live && i === current.turns.length - 1) && !t.meta?.error && (
                      <div className="turn-meta">
                        {t.meta?.proofMs !== undefined && <span className="lock">● Paid privately</span>}
                        {t.meta?.proofMs !== undefined && t.meta.e2ee && <span className="lock" data-testid="e2ee-turn">● End-to-end encrypted</span>}
                        {t.meta?.proofMs !== undefined && <span data-testid="proof-time">proof {(t.meta.proofMs / 1000).toFixed(1)} s</span>}
                        {t.meta?.cost !== undefined && <span data-testid="call-cost">cost {t.meta.cost}</span>}
                        {t.meta?.stopped && <span>Stopped</span>}
                        <span>{t.meta?.model}</span>
                      </div>
                    )}
                  </div>
                ),
              )
            )}
            <div ref={bottom} />
          </div>
        </div>
        <div className="composer-wrap">
          {details && report && <E2eeDetails attestation={report} />}
          {e2eeState.kind === 'failed' && !live && (
            <div className="notice bad e2ee-refused" role="status" data-testid="e2ee-refused">
              The model’s enclave did not verify, so nothing was sent and no credit was used. The app never switches models by itself.{' '}
              {readable && !current?.e2ee ? (
                <button className="btn small" type="button" onClick={() => setModel(readable.id)} data-testid="use-readable">
                  Use {readable.id} — the operator can read this
                </button>
              ) : (
                'Start a new chat to use a model the operator can read.'
              )}
            </div>
          )}
          {downgrade && (
            <div className="notice warn" role="status" data-testid="e2ee-downgrade">
              This conversation is end-to-end encrypted. {model} would let the operator read all of it: start a new chat to use that model.
            </div>
          )}
          <div className="composer">
            <textarea
              rows={1}
              placeholder={noCredits ? 'Buy credits to start chatting' : 'Message'}
              value={input}
              onChange={(e) => {
                setInput(e.target.value);
                e.target.style.height = 'auto';
                e.target.style.height = `${Math.min(200, e.target.scrollHeight)}px`;
              }}
              onKeyDown={onKey}
              aria-label="Message"
              disabled={noCredits && !live}
            />
            <div className="composer-bar">
              <select className="select" value={model} onChange={(e) => setModel(e.target.value)} aria-label="Model" disabled={!!live}>
                {models.data?.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.id} · {m.e2ee === null ? 'checking for end-to-end encryption…' : m.e2ee ? 'end-to-end encrypted' : 'the operator can read this'}
                  </option>
                ))}
                {models.data && !model && <option value="">Choose a model</option>}
                {!models.data && <option value="">{models.error ? 'Models unavailable' : 'Loading models…'}</option>}
              </select>
              {live ? (
                <span className="status" data-testid="status">
                  <span className="spinner" />
                  <b>{STAGE_TEXT[live.stage]}</b>
                  {live.stage === 'waiting' || live.stage === 'streaming'
                    ? live.proofMs !== undefined && <span>· proof {(live.proofMs / 1000).toFixed(1)} s</span>
                    : <span className="num">{elapsed} s</span>}
                </span>
              ) : (
                <span className="status num" data-testid="left">{left} left</span>
              )}
              {modelInfo && <E2eeBadge state={e2eeState} open={details} onToggle={() => setDetails((d) => !d)} />}
              <span style={{ marginLeft: 'auto' }} />
              {live ? (
                <button className="btn small" type="button" onClick={() => abort.current?.abort()} data-testid="stop">■ Stop</button>
              ) : (
                <button className="btn primary small" type="button" onClick={send} disabled={!input.trim() || !model || noCredits || downgrade || e2eeState.kind === 'unknown'} data-testid="send">Send</button>
              )}
            </div>
          </div>
          <div className="footnote">Conversations stay in this browser. Models can make mistakes.</div>
        </div>
      </section>
    </div>
  );
}
