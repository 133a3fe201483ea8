#!/usr/bin/env node
// Recomputes the hash of every record in a Portcullis audit export (NDJSON, from
// GET /audit/export?format=ndjson) and checks that each record follows the one before it in its
// chain. Plain Node.js 20, nothing to install:
//
//   curl -sf -H "authorization: Bearer $TOKEN" "$URL/audit/export?orgId=$ORG" | node audit-recompute.mjs
//   node audit-recompute.mjs audit-export.ndjson
//
// The recipe, for anyone writing this in another language:
//   1. Parse one line of the export as JSON.
//   2. Drop the fields "seq", "chainSeq" and "hash", and "eventId" and "subjectUserId" where they are null
//      (records written before those fields existed were hashed without them); keep the other
//      fourteen exactly as exported, nulls included: id, orgId, actorId, actorKind, apiKeyId,
//      action, targetType, targetId, ipAddress, userAgent, requestId, changes, createdAt, prevHash.
//   3. Serialise that object with RFC 8785 (JSON Canonicalization Scheme): members sorted by the
//      UTF-16 code units of their names at every depth, no whitespace, strings and numbers as
//      ECMAScript's JSON.stringify writes them.
//   4. SHA-256 of the UTF-8 bytes, as lowercase hex, equals "hash".
//   5. Within one chain (one orgId; null is the account-level chain), each record's "prevHash"
//      equals the "hash" of the record before it. The export lists records in chain order
//      ("chainSeq", oldest first).
//   6. A record whose "hash" and "chainSeq" are null committed but was not yet linked into its
//      chain when exported (the gateway links records within about a second): it is listed last,
//      counted as not yet chained, and checked by the next export.
//
// Prints a summary; exits 0 when every record matches, 1 when one does not, 2 when the input is
// not an NDJSON export.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** RFC 8785: what JSON.stringify writes, with object members sorted by UTF-16 code units. */
function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const names = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${names.map((name) => `${JSON.stringify(name)}:${canonicalJson(value[name])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function recomputedHash(record) {
  const { seq: _seq, chainSeq: _chainSeq, hash: _hash, eventId, subjectUserId, ...hashed } = record;
  if (eventId != null) hashed.eventId = eventId;
  if (subjectUserId != null) hashed.subjectUserId = subjectUserId;
  return createHash('sha256').update(canonicalJson(hashed), 'utf8').digest('hex');
}

const chainName = (orgId) => (orgId === null ? 'account-level chain' : `org ${orgId}`);

async function main() {
  const file = process.argv[2];
  const input = file ? createReadStream(file) : process.stdin;
  /** Per chain: the last hash seen, how many records, and whether its first record starts the chain. */
  const chains = new Map();
  const problems = [];
  let records = 0;
  let notYetChained = 0;
  let hashesMatching = 0;
  let links = 0;
  let linksHolding = 0;
  let lineNumber = 0;

  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      process.stderr.write(`line ${lineNumber}: not JSON; expected an NDJSON export (format=ndjson)\n`);
      process.exit(2);
    }
    if (record === null || typeof record !== 'object' || !['hash', 'prevHash', 'orgId'].every((f) => f in record)) {
      process.stderr.write(`line ${lineNumber}: not an audit record (no hash, prevHash or orgId)\n`);
      process.exit(2);
    }
    if (record.hash === null && record.chainSeq == null) {
      notYetChained += 1;
      continue;
    }
    records += 1;
    const where = `line ${lineNumber} (seq ${record.seq}, id ${record.id})`;

    if (recomputedHash(record) === record.hash) hashesMatching += 1;
    else problems.push(`${where}: the hash does not match its content: the record was altered`);

    const chain = chains.get(record.orgId);
    if (chain) {
      links += 1;
      if (record.prevHash === chain.lastHash) linksHolding += 1;
      else
        problems.push(`${where}: prevHash is not the hash of the record before it in the ${chainName(record.orgId)}`);
      chain.lastHash = record.hash;
      chain.records += 1;
    } else {
      chains.set(record.orgId, { lastHash: record.hash, records: 1, fromStart: record.prevHash === null });
    }
  }

  const out = (text) => process.stdout.write(`${text}\n`);
  out(`${records} records: ${hashesMatching} hashes match, ${records - hashesMatching} do not`);
  out(`${links} links: ${linksHolding} follow the record before them, ${links - linksHolding} do not`);
  for (const [orgId, chain] of chains) {
    const start = chain.fromStart
      ? 'starts at the first record of the chain'
      : 'starts after a record not in this file (a since filter, or pruned by retention)';
    out(`${chainName(orgId)}: ${chain.records} records, ${start}`);
  }
  if (notYetChained > 0) out(`${notYetChained} records not yet chained (not checked; export again to check them)`);
  for (const problem of problems) out(problem);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
