#!/usr/bin/env node
"use strict";
// Verify wrapped OpenAttestation v2 documents with @govtechsg/oa-verify against any JSON-RPC node.
//
//   node scripts/oa/verify.cjs --rpc http://127.0.0.1:8545 [--timeout-ms 20000] < wrapped.json
//
// Runs verificationBuilder([openAttestationHash, openAttestationEthereumDocumentStoreStatus],
// { provider: new ethers.providers.JsonRpcProvider(URL) }) and prints
//   {"valid": bool, "fragments": [{"name", "type", "status", "reason"?}]}
// where valid = isValid(fragments, ["DOCUMENT_INTEGRITY", "DOCUMENT_STATUS"]).
// stdin may also be a JSON array of wrapped documents: then one such object per document, as an array.
//
// A custom chain needs no network name: oa-verify uses options.provider as given (it only falls back
// to a named network / Infura when no provider is passed), and ethers' JsonRpcProvider learns the
// chain id from the node (eth_chainId). The status fragment reads, for each issuer,
// documentStore (or certificateStore): isIssued(bytes32 merkleRoot), and isRevoked(bytes32) of the
// targetHash, of every intermediate node of its proof and of the merkleRoot (INVALID if any is revoked).
// If the contract answers supportsInterface(0xdcfd0745) with true, it calls the 3-argument
// isIssued/isRevoked(bytes32 root, bytes32 targetHash, bytes32[] proof) instead.
//
// Exit status: 0 when a verdict was printed (valid or not), 2 for bad input, 3 for missing packages.
const { need, readStdinJson, option } = require("./common.cjs");
const { ethers } = need("ethers");
const {
  verificationBuilder,
  openAttestationHash,
  openAttestationEthereumDocumentStoreStatus,
  isValid,
} = need("@govtechsg/oa-verify");

function summarise(fragment) {
  const out = { name: fragment.name, type: fragment.type, status: fragment.status };
  if (fragment.reason) out.reason = fragment.reason;
  return out;
}

async function main(argv) {
  const rpc = option(argv, "--rpc");
  if (!rpc) {
    process.stderr.write("usage: verify.cjs --rpc URL [--timeout-ms MS] < wrapped.json\n");
    process.exit(2);
  }
  const timeout = Number(option(argv, "--timeout-ms") || 20000);
  const input = readStdinJson();
  const provider = new ethers.providers.JsonRpcProvider({ url: rpc, timeout });
  const verify = verificationBuilder([openAttestationHash, openAttestationEthereumDocumentStoreStatus], {
    provider,
  });
  const one = async (document) => {
    const fragments = await verify(document);
    return {
      valid: isValid(fragments, ["DOCUMENT_INTEGRITY", "DOCUMENT_STATUS"]),
      fragments: fragments.map(summarise),
    };
  };
  const result = Array.isArray(input) ? await Promise.all(input.map(one)) : await one(input);
  process.stdout.write(JSON.stringify(result) + "\n");
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`verify.cjs: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
