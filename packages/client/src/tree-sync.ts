/**
 * The client's mirror of the credit tree, synced incrementally from the server's
 * `GET /v1/zkcredits/leaves` (keep the leaves, ask for `from = <count>`, check the rebuilt root
 * against the page's `root`) and checked against the chain before any proof uses it.
 */
import { MerkleTree, isZkCreditsError } from '@zkcredits/core';
import { ClientError } from './errors.js';
import type { ServerApi } from './server-api.js';
import type { TreeCheck, TreeState } from './tree-check.js';

/** Pages fetched by one sync at most (16,384 leaves each: the whole depth-20 tree is 64 pages). */
const MAX_PAGES = 128;

export class TreeSync {
  #tree = new MerkleTree();
  #syncing: Promise<TreeState> | undefined;
  #midSync = false;
  readonly #checking = new Map<string, Promise<void>>();

  constructor(
    private readonly api: ServerApi,
    private readonly check: TreeCheck,
  ) {}

  /** The mirror as it is now (read synchronously: a snapshot for building one witness). */
  get tree(): MerkleTree {
    return this.#tree;
  }

  /**
   * True while a sync has appended some pages but not all: the mirror's root is then not one the
   * chain knows. Build a witness only when this is false (`await sync()` first).
   */
  get midSync(): boolean {
    return this.#midSync;
  }

  /** Forgets every leaf: the next sync starts from scratch. */
  reset(): void {
    this.#tree = new MerkleTree();
  }

  /** Fetches the leaves the mirror lacks; concurrent calls share one sync. */
  sync(signal?: AbortSignal): Promise<TreeState> {
    this.#syncing ??= this.#sync(signal).finally(() => {
      this.#midSync = false;
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #sync(signal?: AbortSignal): Promise<TreeState> {
    const before = { tree: this.#tree, size: this.#tree.size };
    try {
      return await this.#pages(signal);
    } catch (error) {
      // A sync that failed after some pages leaves the mirror as it found it.
      if (this.#tree === before.tree && this.#tree.size > before.size) this.#tree.truncate(before.size);
      throw error;
    }
  }

  async #pages(signal?: AbortSignal): Promise<TreeState> {
    let shrunk = false;
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const tree = this.#tree;
      const page = await this.api.leaves(tree.size, signal);
      if (page.total < tree.size) {
        // The server's tree is smaller than ours (a reorg dropped purchases): rebuild it once.
        if (shrunk) throw mismatch(`the server's tree shrank twice during one sync (${page.total} leaves)`);
        shrunk = true;
        this.reset();
        continue;
      }
      if (tree.size + page.leaves.length > page.total || (page.leaves.length === 0 && tree.size < page.total)) {
        throw new ClientError('server_unavailable', 'The zkcredits server sent an inconsistent page of leaves.', {
          details: `${page.leaves.length} leaves from ${page.from} of ${page.total}`,
        });
      }
      this.#midSync = true;
      tree.insertMany(page.leaves);
      if (tree.size === page.total) {
        this.#midSync = false;
        if (tree.root !== page.root) {
          this.reset();
          throw mismatch("the leaves do not hash to the root the server states (the mirror is reset; the next sync starts over)");
        }
        return { size: tree.size, root: tree.root };
      }
    }
    throw new ClientError('server_unavailable', 'The credit tree did not finish syncing.', { details: `more than ${MAX_PAGES} pages` });
  }

  /**
   * Checks `state` against the chain (concurrent checks of one state share the chain reads; a
   * finished check is not reused). A mismatch resets the mirror, so the next sync starts over.
   */
  async verify(state: TreeState): Promise<void> {
    const key = `${state.size}:${state.root}`;
    let running = this.#checking.get(key);
    if (!running) {
      running = this.check(state).finally(() => this.#checking.delete(key));
      this.#checking.set(key, running);
    }
    try {
      await running;
    } catch (error) {
      if (isZkCreditsError(error, 'tree_mismatch')) this.reset();
      throw error;
    }
  }
}

function mismatch(details: string): ClientError {
  return new ClientError('tree_mismatch', "The server's credit tree is inconsistent; nothing was spent.", { details });
}
