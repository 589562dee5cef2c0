#!/usr/bin/env node
"use strict";
// Test oracle: runs operations of the JS reference library so the Python implementation can be
// compared with it. stdin: JSON array of {"op": NAME, ...args}; stdout: JSON array of results.
//
//   wrapDocuments {documents}            -> wrapped documents
//   wrapOk {documents}                   -> [bool] whether wrapDocument accepts each (schema validation)
//   verifySignature {documents}          -> [bool]
//   obfuscate {document, fields}         -> obfuscated document
//   getData {document}                   -> unsalted data
//   digest {document}                    -> digestDocument hex
//   merkle {leaves: [hex]}               -> {root, proofs: [[hex]] in the given order}
//   checkProof {leaf, proof, root}       -> bool
//   leafHash {objects}                   -> [keccak256(JSON.stringify(obj))]
//   stringify {values}                   -> [JSON.stringify(value)]
//   numberToString {numbers}             -> [String(n)]
const { need, readStdinJson } = require("./common.cjs");
const oa = need("@govtechsg/open-attestation");
const { keccak256 } = need("js-sha3");

const ops = {
  wrapDocuments: ({ documents }) => oa.wrapDocuments(documents),
  wrapOk: ({ documents }) =>
    documents.map((d) => {
      try {
        oa.wrapDocument(d);
        return true;
      } catch (err) {
        if (oa.isSchemaValidationError(err)) return false;
        throw err;
      }
    }),
  verifySignature: ({ documents }) => documents.map((d) => oa.verifySignature(d)),
  obfuscate: ({ document, fields }) => oa.obfuscateDocument(document, fields),
  getData: ({ document }) => oa.getData(document),
  digest: ({ document }) => oa.digestDocument(document),
  merkle: ({ leaves }) => {
    const buffers = leaves.map((h) => Buffer.from(h, "hex"));
    const tree = new oa.MerkleTree(buffers);
    return {
      root: tree.getRoot().toString("hex"),
      proofs: buffers.map((b) => tree.getProof(b).map((p) => p.toString("hex"))),
    };
  },
  checkProof: ({ leaf, proof, root }) => oa.checkProof(proof, root, leaf),
  leafHash: ({ objects }) => objects.map((o) => keccak256(JSON.stringify(o))),
  stringify: ({ values }) => values.map((v) => JSON.stringify(v)),
  numberToString: ({ numbers }) => numbers.map((n) => String(n)),
};

const requests = readStdinJson();
const results = requests.map(({ op, ...args }) => {
  if (!ops[op]) throw new Error(`unknown op ${op}`);
  return ops[op](args);
});
process.stdout.write(JSON.stringify(results) + "\n");
