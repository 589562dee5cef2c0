#!/usr/bin/env node
"use strict";
// Wrap OpenAttestation v2 documents with the JS reference implementation.
//
//   node scripts/oa/wrap.cjs < raw.json          stdin: JSON array of raw documents; stdout: wrapped array
//   node scripts/oa/wrap.cjs --generate N        stdout: the N benchmark documents (so other tools can wrap the same)
//   node scripts/oa/wrap.cjs --bench N           wrap N generated 10-field documents in one wrapDocuments batch;
//                                                stdout: {"docs": N, "seconds": s, "docs_per_s": x}
const { need, readStdinJson, option } = require("./common.cjs");
const { wrapDocuments } = need("@govtechsg/open-attestation");

/** The i-th benchmark document: one document-store issuer and 10 data fields. */
function benchDocument(i) {
  const n = String(i).padStart(8, "0");
  return {
    issuers: [
      {
        name: "市场监督管理局",
        documentStore: "0x9178F546D3FF57D7A6352bD61B80cCCD46199C2d",
        identityProof: { type: "DNS-TXT", location: "ledger.example.gov.cn" },
      },
    ],
    id: `LIC-${n}`,
    licenceType: "营业执照",
    holderName: `示例企业${n}有限公司`,
    uscc: `91440300MA${n}`,
    legalRepresentative: "张三",
    registeredCapital: 1000000 + i,
    address: `深圳市南山区科技园${i % 100}号`,
    issueDate: "2024-01-15",
    expiryDate: "2034-01-14",
    active: i % 7 !== 0,
  };
}

function generate(count) {
  const docs = new Array(count);
  for (let i = 0; i < count; i += 1) docs[i] = benchDocument(i);
  return docs;
}

function positiveInt(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`${flag} needs a positive integer, got ${text}\n`);
    process.exit(2);
  }
  return n;
}

function main(argv) {
  const bench = option(argv, "--bench");
  const gen = option(argv, "--generate");
  if (gen !== undefined) {
    process.stdout.write(JSON.stringify(generate(positiveInt(gen, "--generate"))) + "\n");
    return;
  }
  if (bench !== undefined) {
    const count = positiveInt(bench, "--bench");
    const docs = generate(count);
    const start = process.hrtime.bigint();
    const wrapped = wrapDocuments(docs);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (wrapped.length !== count) throw new Error("wrapDocuments returned the wrong number of documents");
    process.stdout.write(JSON.stringify({ docs: count, seconds, docs_per_s: count / seconds }) + "\n");
    return;
  }
  const raw = readStdinJson();
  if (!Array.isArray(raw)) {
    process.stderr.write("stdin must be a JSON array of raw documents\n");
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(wrapDocuments(raw)) + "\n");
}

main(process.argv.slice(2));
