import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export type ChatTurn = {
  role: 'user' | 'assistant';
  content: string;
  /**
   * Assistant turns: how the answer was paid and produced. `e2ee`: the request was end-to-end
   * encrypted to a verified enclave. `unsent`: nothing left this browser (the attestation did
   * not verify); that turn and its question are not sent again as history. `cost`: what a metered
   * call was charged, in money (kept in this browser only, like the conversation).
   */
  meta?: { model: string; proofMs?: number; loadMs?: number; error?: string; stopped?: boolean; e2ee?: boolean; unsent?: boolean; cost?: string };
};

/** `e2ee`: a message of it was sent end-to-end encrypted; it is never sent to a model the operator can read. */
export type Conversation = { id: string; title: string; model: string; turns: ChatTurn[]; updatedAt: number; e2ee?: boolean };

interface ChatDB extends DBSchema {
  conversations: { key: string; value: Conversation; indexes: { updatedAt: number } };
}

let dbPromise: Promise<IDBPDatabase<ChatDB>> | undefined;

function db(): Promise<IDBPDatabase<ChatDB>> {
  dbPromise ??= openDB<ChatDB>('zkcredits-chats', 1, {
    upgrade(database) {
      database.createObjectStore('conversations', { keyPath: 'id' }).createIndex('updatedAt', 'updatedAt');
    },
  });
  return dbPromise;
}

/** Conversations live only in this browser. */
export const chatStore = {
  async list(): Promise<Conversation[]> {
    return (await (await db()).getAllFromIndex('conversations', 'updatedAt')).reverse();
  },
  async put(conversation: Conversation): Promise<void> {
    await (await db()).put('conversations', conversation);
  },
  async remove(id: string): Promise<void> {
    await (await db()).delete('conversations', id);
  },
  async clear(): Promise<void> {
    await (await db()).clear('conversations');
  },
};
