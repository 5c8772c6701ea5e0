// nftables layer: one atomic nf_tables transaction (NFNL_MSG_BATCH_BEGIN ... NFNL_MSG_BATCH_END of
// linux/netfilter/nfnetlink.h), built with a typed API and committed over a NetlinkTransport on a
// NETLINK_NETFILTER socket. Either every message applies or none does.

import { NLM_F } from '../codec/netlink.js';
import { NlWriter } from '../codec/writer.js';
import { NetlinkError } from '../codec/errors.js';
import type { NetlinkTransport } from '../transport.js';
import { NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES, NFNETLINK_V0, NFT_MSG } from './consts.js';
import type { NftFamily } from './consts.js';
import { encodeChain, encodeRule, encodeSet, encodeSetElems, encodeTable } from './objects.js';
import type { NftBaseChain, NftSetElem, SetFieldTypes } from './objects.js';
import { resolveRuleItems } from './helpers.js';
import type { RuleItem } from './helpers.js';
import type { NftExpr } from './expr.js';

export interface TableSpec {
  readonly family?: NftFamily;
  readonly name: string;
  readonly comment?: string;
  readonly flags?: number;
}

export interface ChainSpec {
  readonly family?: NftFamily;
  readonly table: string;
  readonly name: string;
  /** Present for base chains (type, hook, priority, policy). */
  readonly base?: NftBaseChain;
  readonly comment?: string;
}

export interface RuleSpec {
  readonly family?: NftFamily;
  readonly table: string;
  readonly chain: string;
  /** Expressions and helper groups, in order; protocol dependencies are added as nft adds them. */
  readonly exprs: readonly RuleItem[];
  /** Stored as NFTNL_UDATA_RULE_COMMENT so that `nft list` shows `comment "..."`. */
  readonly comment?: string;
  /** Place relative to an existing rule handle instead of at the end of the chain. */
  readonly position?: bigint;
  /** Insert (at the start, or before `position`) instead of appending. */
  readonly insert?: boolean;
}

export interface SetSpec {
  readonly family?: NftFamily;
  readonly table: string;
  readonly name: string;
  readonly key: SetFieldTypes;
  /** Map value type(s); 'verdict' makes a verdict map. Absent for plain sets. */
  readonly data?: SetFieldTypes | 'verdict';
  /** Extra NFT_SET_F_* bits (INTERVAL, TIMEOUT, CONSTANT...). */
  readonly flags?: number;
  readonly comment?: string;
}

export interface ElementsSpec {
  readonly family?: NftFamily;
  readonly table: string;
  readonly set: string;
  readonly elements: readonly NftSetElem[];
}

interface Op {
  readonly what: string;
  readonly encode: (w: NlWriter, ack: number) => void;
}

/** One message of a batch the kernel reported an error for. */
export interface NftBatchFailure {
  /** Index among the batch's operations; undefined for BATCH_BEGIN (the batch as a whole). */
  readonly index: number | undefined;
  /** Describes the operation, e.g. `add rule ip cni_hostport hostports`. */
  readonly operation: string | undefined;
  readonly error: NetlinkError;
}

/** A batch message the kernel rejected: which one (index and description), with errno and extack. */
export class NftBatchError extends NetlinkError {
  /** Index of the failing message among the batch's operations (BEGIN/END not counted). */
  readonly index: number | undefined;
  /** Describes the failing operation, e.g. `add rule ip cni_hostport hostports`. */
  readonly operation: string | undefined;
  /** Every error the kernel reported for the batch, in message order (the first is this one). */
  readonly failures: readonly NftBatchFailure[];

  constructor(cause: NetlinkError, index: number | undefined, operation: string | undefined, failures?: readonly NftBatchFailure[]) {
    super(cause.errno, {
      extAck: cause.extAck,
      requestType: cause.requestType,
      request: cause.request,
      operation: operation === undefined ? 'nftables batch' : `nftables batch message ${index}: ${operation}`,
      cause,
    });
    this.index = index;
    this.operation = operation;
    this.failures = failures ?? [{ index, operation, error: cause }];
  }
}

export interface CommitOptions {
  /**
   * Ask for an ACK of BATCH_BEGIN (Linux 6.10+ gives one; older kernels ignore the flag). Not
   * needed to see a failed commit: that error is addressed to BATCH_BEGIN either way. Default false.
   */
  readonly ackBegin?: boolean;
}

/**
 * Builder for one nf_tables transaction. Methods append operations and return `this`; nothing is
 * sent until commit(). Families default to the table's family when the batch adds that table,
 * else to the batch's own default.
 */
export class NftBatch {
  readonly #ops: Op[] = [];
  readonly #defaultFamily: NftFamily | undefined;
  readonly #tableFamily = new Map<string, NftFamily>();
  /** Sets created in this batch: "family table name" -> NFTA_SET_ID. */
  readonly #setIds = new Map<string, number>();
  #nextSetId = 1;

  constructor(opts: { family?: NftFamily } = {}) {
    this.#defaultFamily = opts.family;
  }

  get length(): number {
    return this.#ops.length;
  }

  /** Descriptions of the queued operations, in order. */
  get operations(): string[] {
    return this.#ops.map((o) => o.what);
  }

  #family(f: NftFamily | undefined, table: string): NftFamily {
    const fam = f ?? this.#tableFamily.get(table) ?? this.#defaultFamily;
    if (fam === undefined) throw new TypeError(`no family given for table "${table}" and the batch has no default`);
    return fam;
  }

  #push(what: string, encode: (w: NlWriter, ack: number) => void): this {
    this.#ops.push({ what, encode });
    return this;
  }

  /** `add table` (idempotent); `exclusive` makes it `create table` (EEXIST if present). */
  addTable(t: TableSpec, opts: { exclusive?: boolean } = {}): this {
    const family = this.#family(t.family, t.name);
    this.#tableFamily.set(t.name, family);
    const flags = NLM_F.REQUEST | (opts.exclusive ? NLM_F.CREATE | NLM_F.EXCL : 0);
    return this.#push(`add table ${family} ${t.name}`, (w, ack) =>
      encodeTable(w, NFT_MSG.NEWTABLE, flags | ack, {
        family,
        name: t.name,
        flags: t.flags ?? 0,
        ...(t.comment === undefined ? {} : { comment: t.comment }),
      }),
    );
  }

  /** `delete table` (ENOENT if absent); `ifExists` uses NFT_MSG_DESTROYTABLE (Linux 6.3+). */
  deleteTable(t: { family?: NftFamily; name: string }, opts: { ifExists?: boolean } = {}): this {
    const family = this.#family(t.family, t.name);
    const msg = opts.ifExists ? NFT_MSG.DESTROYTABLE : NFT_MSG.DELTABLE;
    return this.#push(`${opts.ifExists ? 'destroy' : 'delete'} table ${family} ${t.name}`, (w, ack) =>
      encodeTable(w, msg, NLM_F.REQUEST | ack, { family, name: t.name }),
    );
  }

  /** `add chain` (idempotent): a base chain when `base` is given, else a regular chain. */
  addChain(c: ChainSpec, opts: { exclusive?: boolean } = {}): this {
    const family = this.#family(c.family, c.table);
    const flags = NLM_F.REQUEST | NLM_F.CREATE | (opts.exclusive ? NLM_F.EXCL : 0);
    return this.#push(`add chain ${family} ${c.table} ${c.name}`, (w, ack) =>
      encodeChain(w, NFT_MSG.NEWCHAIN, flags | ack, {
        family,
        table: c.table,
        name: c.name,
        ...(c.base === undefined ? {} : { base: c.base }),
        ...(c.comment === undefined ? {} : { comment: c.comment }),
      }),
    );
  }

  deleteChain(c: { family?: NftFamily; table: string; name: string }, opts: { ifExists?: boolean } = {}): this {
    const family = this.#family(c.family, c.table);
    const msg = opts.ifExists ? NFT_MSG.DESTROYCHAIN : NFT_MSG.DELCHAIN;
    return this.#push(`${opts.ifExists ? 'destroy' : 'delete'} chain ${family} ${c.table} ${c.name}`, (w, ack) =>
      encodeChain(w, msg, NLM_F.REQUEST | ack, { family, table: c.table, name: c.name }),
    );
  }

  /** `flush chain`: delete every rule of the chain (NFT_MSG_DELRULE without a handle). */
  flushChain(c: { family?: NftFamily; table: string; name: string }): this {
    const family = this.#family(c.family, c.table);
    return this.#push(`flush chain ${family} ${c.table} ${c.name}`, (w, ack) =>
      encodeRule(w, NFT_MSG.DELRULE, NLM_F.REQUEST | ack, { family, table: c.table, chain: c.name }),
    );
  }

  /** Append (or insert) a rule. Lookups of sets created earlier in this batch get their set id. */
  addRule(r: RuleSpec): this {
    const family = this.#family(r.family, r.table);
    const exprs = resolveRuleItems(family, r.exprs).map((e) => this.#withSetId(family, r.table, e));
    const flags = NLM_F.REQUEST | NLM_F.CREATE | (r.insert ? 0 : NLM_F.APPEND);
    return this.#push(`${r.insert ? 'insert' : 'add'} rule ${family} ${r.table} ${r.chain}`, (w, ack) =>
      encodeRule(w, NFT_MSG.NEWRULE, flags | ack, {
        family,
        table: r.table,
        chain: r.chain,
        exprs,
        ...(r.comment === undefined ? {} : { comment: r.comment }),
        ...(r.position === undefined ? {} : { position: r.position }),
      }),
    );
  }

  deleteRule(r: { family?: NftFamily; table: string; chain: string; handle: bigint }, opts: { ifExists?: boolean } = {}): this {
    const family = this.#family(r.family, r.table);
    const msg = opts.ifExists ? NFT_MSG.DESTROYRULE : NFT_MSG.DELRULE;
    return this.#push(`${opts.ifExists ? 'destroy' : 'delete'} rule ${family} ${r.table} ${r.chain} handle ${r.handle}`, (w, ack) =>
      encodeRule(w, msg, NLM_F.REQUEST | ack, { family, table: r.table, chain: r.chain, handle: r.handle }),
    );
  }

  /** `add set` / `add map` (idempotent). */
  addSet(s: SetSpec, opts: { exclusive?: boolean } = {}): this {
    const family = this.#family(s.family, s.table);
    const id = this.#nextSetId++;
    this.#setIds.set(`${family} ${s.table} ${s.name}`, id);
    const flags = NLM_F.REQUEST | NLM_F.CREATE | (opts.exclusive ? NLM_F.EXCL : 0);
    const kind = s.data === undefined ? 'set' : 'map';
    return this.#push(`add ${kind} ${family} ${s.table} ${s.name}`, (w, ack) =>
      encodeSet(w, NFT_MSG.NEWSET, flags | ack, {
        family,
        table: s.table,
        name: s.name,
        key: s.key,
        id,
        ...(s.data === undefined ? {} : { data: s.data }),
        ...(s.flags === undefined ? {} : { flags: s.flags }),
        ...(s.comment === undefined ? {} : { comment: s.comment }),
      }),
    );
  }

  deleteSet(s: { family?: NftFamily; table: string; name: string }, opts: { ifExists?: boolean } = {}): this {
    const family = this.#family(s.family, s.table);
    const msg = opts.ifExists ? NFT_MSG.DESTROYSET : NFT_MSG.DELSET;
    return this.#push(`${opts.ifExists ? 'destroy' : 'delete'} set ${family} ${s.table} ${s.name}`, (w, ack) =>
      encodeSet(w, msg, NLM_F.REQUEST | ack, { family, table: s.table, name: s.name }),
    );
  }

  /** `add element` (idempotent for identical elements). */
  addElements(e: ElementsSpec, opts: { exclusive?: boolean } = {}): this {
    const family = this.#family(e.family, e.table);
    const setId = this.#setIds.get(`${family} ${e.table} ${e.set}`);
    const flags = NLM_F.REQUEST | NLM_F.CREATE | (opts.exclusive ? NLM_F.EXCL : 0);
    return this.#push(`add element ${family} ${e.table} ${e.set}`, (w, ack) =>
      encodeSetElems(w, NFT_MSG.NEWSETELEM, flags | ack, {
        family,
        table: e.table,
        set: e.set,
        elements: e.elements,
        ...(setId === undefined ? {} : { setId }),
      }),
    );
  }

  /** `delete element` (ENOENT if absent); `ifExists` uses NFT_MSG_DESTROYSETELEM (Linux 6.3+). */
  deleteElements(e: ElementsSpec, opts: { ifExists?: boolean } = {}): this {
    const family = this.#family(e.family, e.table);
    const msg = opts.ifExists ? NFT_MSG.DESTROYSETELEM : NFT_MSG.DELSETELEM;
    return this.#push(`${opts.ifExists ? 'destroy' : 'delete'} element ${family} ${e.table} ${e.set}`, (w, ack) =>
      encodeSetElems(w, msg, NLM_F.REQUEST | ack, { family, table: e.table, set: e.set, elements: e.elements }),
    );
  }

  #withSetId(family: NftFamily, table: string, e: NftExpr): NftExpr {
    if (e.kind !== 'lookup' || e.setId !== undefined) return e;
    const id = this.#setIds.get(`${family} ${table} ${e.set}`);
    return id === undefined ? e : { ...e, setId: id };
  }

  /**
   * The batch as one datagram. With `ack` (the default) every operation asks for an ACK, so that
   * a plain request() can tell when the kernel is done; commit() and nft send them without.
   * `upTo` keeps only operations [0, upTo] and leaves out BATCH_END: the kernel then validates
   * those messages and aborts without applying anything.
   */
  encode(opts: { ack?: boolean; ackBegin?: boolean; upTo?: number } = {}): Uint8Array {
    const w = new NlWriter(1024);
    const ack = opts.ack === false ? 0 : NLM_F.ACK;
    batchMarker(w, NFNL_MSG_BATCH_BEGIN, opts.ackBegin ? NLM_F.ACK : 0);
    const last = opts.upTo ?? this.#ops.length - 1;
    for (let i = 0; i <= last; i++) this.#ops[i]?.encode(w, ack);
    if (opts.upTo === undefined) batchMarker(w, NFNL_MSG_BATCH_END);
    return w.finish();
  }

  /**
   * Send the transaction in one exchange. On failure nothing was applied, and the error names the
   * first message the kernel rejected (all of them in `failures`), or has no index when the kernel
   * refused the batch as a whole or its commit failed (an error addressed to BATCH_BEGIN).
   * The operations ask for no ACK, as nft sends them: the transport's batch mode knows when the
   * kernel is done without them, and thousands of ACKs would overflow the socket's receive buffer.
   */
  async commit(transport: NetlinkTransport, opts: CommitOptions = {}): Promise<void> {
    if (this.#ops.length === 0) return;
    if (transport.requestBatch === undefined) {
      throw new TypeError('NftBatch.commit needs a transport with requestBatch (SocketTransport or FakeTransport)');
    }
    const reply = await transport.requestBatch(this.encode({ ack: false, ackBegin: opts.ackBegin === true }), {
      operation: 'nftables batch',
    });
    // results: BATCH_BEGIN, the operations, BATCH_END.
    const failures = reply.errors.flatMap((r): NftBatchFailure[] => {
      if (r.error === undefined) return [];
      const index = r.index >= 1 && r.index <= this.#ops.length ? r.index - 1 : undefined;
      return [{ index, operation: index === undefined ? undefined : this.#ops[index]?.what, error: r.error }];
    });
    // A message's own error is the precise one; BATCH_BEGIN's alone means the batch as a whole.
    const first = failures.find((f) => f.index !== undefined) ?? failures[0];
    if (first !== undefined) throw new NftBatchError(first.error, first.index, first.operation, failures);
  }
}

function batchMarker(w: NlWriter, type: number, extraFlags = 0): void {
  // res_id carries the subsystem, big endian, as in nft since the kernel's host-order workaround.
  const at = w.beginMessage(type, NLM_F.REQUEST | extraFlags);
  w.writeU8(0).writeU8(NFNETLINK_V0).writeBe16(NFNL_SUBSYS_NFTABLES);
  w.endMessage(at);
}
