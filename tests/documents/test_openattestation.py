"""OpenAttestation v2 in Python, checked against the JS reference (@govtechsg/open-attestation)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from gateway.documents.openattestation import (
    SCHEMA_V2,
    InvalidHexError,
    InvalidKeyError,
    MalformedDocumentError,
    MissingSignatureError,
    ObfuscationError,
    OpenAttestationError,
    SchemaValidationError,
    UnknownFieldPathError,
    UnsupportedValueError,
    digest,
    js_json_stringify,
    js_number_to_string,
    obfuscate,
    salt_data,
    unsalt,
    verify_signature,
    verify_signature_and_unsalt,
    wrap_document,
    wrap_documents,
)
from gateway.documents.openattestation import _leaf_hash
from tests.documents.oa_bridge import run_node

ISSUER = {
    "name": "深圳市市场监督管理局",
    "documentStore": "0x9178F546D3FF57D7A6352bD61B80cCCD46199C2d",
    "identityProof": {"type": "DNS-TXT", "location": "ledger.example.gov.cn"},
}
SALTED = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
                    r":(string|number|boolean|null):")


def licence(n: int = 0) -> dict[str, Any]:
    """A raw document exercising every value kind the JSON serialisation must get right."""
    return {
        "issuers": [ISSUER],
        "$template": {"name": "LICENCE", "type": "EMBEDDED_RENDERER", "url": "https://renderer.example"},
        "id": f"LIC-{n:06d}",
        "licenceType": "营业执照",
        "holder": {
            "name": f"示例科技有限公司{n}",
            "uscc": "91440300MA5FXXXX0X",
            "address": {"city": "深圳", "street": "科技园\t南区 \"一号\" 路\\2栋"},
            "contact": None,
        },
        "scope": ["软件开发", "信息技术咨询", "emoji 😀"],
        "shareholders": [{"name": "张三", "share": 0.6}, {"name": "李四", "share": 0.4, "tags": []}],
        "capital": 1000000 + n,
        "numbers": [0, -1, 1.5, 1e21, 1e-7, 123456789.125, 2**53, -0.0, 5.0],
        "active": True,
        "suspended": False,
        "notes": "line1\nline2\r\u0001\u001f\u007f\u2028 end",
        "extra": {},
        "10": "numeric key ten",
        "2": "numeric key two",
        "7": ["七", {"b": None}],
        "": "empty key",
    }


@pytest.fixture(scope="module")
def js_wrapped(js) -> list[dict[str, Any]]:
    return js("wrapDocuments", documents=[licence(i) for i in range(3)])


# --------------------------------------------------------------------------- (a) cross-implementation wrap/verify
def test_python_wrapped_batch_is_accepted_by_js(js) -> None:
    wrapped = wrap_documents([licence(i) for i in range(5)])
    assert js("verifySignature", documents=wrapped) == [True] * 5
    assert len({w["signature"]["merkleRoot"] for w in wrapped}) == 1
    assert all(verify_signature(w) for w in wrapped)


def test_js_wrapped_batch_is_accepted_by_python(js_wrapped) -> None:
    assert all(verify_signature(w) for w in js_wrapped)
    for w in js_wrapped:
        assert digest(w) == w["signature"]["targetHash"]


def test_python_output_has_js_shape(js_wrapped) -> None:
    ours = wrap_document(licence(0))
    theirs = js_wrapped[0]
    assert list(ours) == list(theirs) == ["version", "data", "signature"]
    assert ours["version"] == SCHEMA_V2
    assert list(ours["signature"]) == list(theirs["signature"]) == ["type", "targetHash", "proof", "merkleRoot"]
    assert ours["signature"]["type"] == "SHA3MerkleProof"
    assert ours["signature"]["proof"] == [] and ours["signature"]["merkleRoot"] == ours["signature"]["targetHash"]
    assert re.fullmatch("[0-9a-f]{64}", ours["signature"]["targetHash"])
    assert list(ours["data"]) == list(theirs["data"])  # JS Object.keys order: "2", "10" first

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strip(v) for v in value]
        assert SALTED.match(value), value
        return value[37:]

    theirs_data = copy.deepcopy(theirs["data"])
    theirs_data["id"] = ours["data"]["id"]  # same raw input: licence(0)
    assert json.dumps(strip(ours["data"])) == json.dumps(strip(theirs_data))


def test_js_wrap_script_round_trip() -> None:
    wrapped = run_node("wrap.cjs", [licence(7), licence(8)])
    assert [verify_signature(w) for w in wrapped] == [True, True]
    assert unsalt(wrapped[0])["holder"]["name"] == "示例科技有限公司7"


def test_wrap_script_bench_mode_reports_throughput() -> None:
    report = run_node("wrap.cjs", None, "--bench", "20")
    assert report["docs"] == 20 and report["seconds"] > 0 and report["docs_per_s"] > 0
    docs = run_node("wrap.cjs", None, "--generate", "3")
    assert len(docs) == 3 and all(verify_signature(w) for w in wrap_documents(docs))


def test_unsalt_matches_js_get_data(js, js_wrapped) -> None:
    ours_wrapped = wrap_document(licence(1))
    js_view, js_view_of_ours = js.batch([
        {"op": "getData", "document": js_wrapped[1]},
        {"op": "getData", "document": ours_wrapped},
    ])
    assert unsalt(js_wrapped[1]) == js_view
    assert unsalt(ours_wrapped) == js_view_of_ours
    raw = licence(1)
    assert js_view["holder"] == raw["holder"] and js_view["scope"] == raw["scope"]
    assert js_view["numbers"][3] == 1e21 and js_view["capital"] == 1000001


def test_unsalt_trims_like_js(js) -> None:
    raw = {"issuers": [ISSUER], "padded": "  both sides  ", "nbsp": "x\u00a0", "num": " 12 "}
    wrapped = wrap_document(raw)
    assert unsalt(wrapped) == js("getData", document=wrapped)
    assert unsalt(wrapped)["padded"] == "  both sides"  # JS trims the end of "string:  both sides  "


def test_salt_data_format() -> None:
    salted = salt_data({"a": "x:y", "b": 1.5, "c": [True, None], "d": {"e": -0.0}, "f": 10**22})
    assert salted["a"].endswith(":string:x:y") and salted["b"].endswith(":number:1.5")
    assert salted["c"][0].endswith(":boolean:true") and salted["c"][1].endswith(":null:null")
    assert salted["d"]["e"].endswith(":number:0") and salted["f"].endswith(":number:1e+22")
    assert len({salted["a"][:36], salted["b"][:36], salted["c"][0][:36]}) == 3
    assert all(SALTED.match(v) for v in (salted["a"], salted["b"], salted["c"][1], salted["f"]))


# --------------------------------------------------------------------------- JSON.stringify compatibility
TRICKY_STRINGS = [
    "中文字符 电子证照", 'quote " and \\ backslash', "\b\f\n\r\t", "\u0000\u0001\u001e\u001f\u007f\u0080",
    "\u2028\u2029", "😀 astral", "\ud83d\ude00", "lone \ud800 high", "lone \udfff low", "</script>", "",
]
TRICKY_NUMBERS = [0, 1, -1, 0.1, 0.5, 1 / 3, 1e21, 1e20, 123456789012345678901, 1e-6, 1e-7, 1.5e-10, 2**53,
                  2**53 + 1, 2**64, -2.5e300, 5e-324, 1.7976931348623157e308, 100.0, 123.456]


def test_stringify_and_number_formatting_match_js(js) -> None:
    values: list[Any] = [*TRICKY_STRINGS, {"10": 1, "a": [None, True, {}, []], "2": "x", "": -0.0}]
    objects = [{f"k{i}": s} for i, s in enumerate(TRICKY_STRINGS)] + [{"a.b": "中"}]
    js_strings, js_hashes, js_numbers = js.batch([
        {"op": "stringify", "values": values},
        {"op": "leafHash", "objects": objects},
        {"op": "numberToString", "numbers": TRICKY_NUMBERS},
    ])
    assert [js_json_stringify(v) for v in values] == js_strings
    assert [_leaf_hash(*next(iter(o.items()))) for o in objects] == js_hashes
    assert [js_number_to_string(n) for n in TRICKY_NUMBERS] == js_numbers


# --------------------------------------------------------------------------- (c) obfuscation
def _salted_values(data: Any, path: str) -> list[str]:
    node = data
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, dict):
        return [v for k in node for v in _salted_values(node, k)]
    if isinstance(node, list):
        return [v for i in range(len(node)) for v in _salted_values(node, str(i))]
    return [node]


@pytest.mark.parametrize("fields", [
    ["holder.uscc"],
    ["holder.address.street", "notes"],
    ["shareholders.1.share", "scope"],
    ["holder"],
    ["numbers", "extra", "10"],
    ["shareholders[0].name"],
    ["7", "10"],  # flattened "10" precedes "7.0": JS Object.keys puts index-like keys first
])
def test_obfuscation_matches_js_and_stays_valid(js, fields: list[str]) -> None:
    wrapped = wrap_document(licence(3))
    ours = obfuscate(wrapped, fields)
    theirs, valid = js.batch([
        {"op": "obfuscate", "document": wrapped, "fields": fields},
        {"op": "verifySignature", "documents": [ours]},
    ])
    assert ours == theirs  # same data, same obfuscatedData in the same order
    assert valid == [True] and verify_signature(ours)
    text = json.dumps(ours, ensure_ascii=False)
    for field in fields:
        for salted in _salted_values(wrapped["data"], field.replace("[", ".").replace("]", "")):
            assert salted not in text
    assert wrapped["data"]["holder"]["uscc"] in json.dumps(wrapped, ensure_ascii=False)  # input untouched


def test_obfuscating_js_wrapped_document_and_repeated_obfuscation(js, js_wrapped) -> None:
    once = obfuscate(js_wrapped[2], "holder.name")
    twice = obfuscate(once, ["capital", "scope"])
    assert len(twice["privacy"]["obfuscatedData"]) == 1 + 1 + 3
    assert verify_signature(once) and verify_signature(twice)
    assert js("verifySignature", documents=[once, twice]) == [True, True]
    assert "capital" not in unsalt(twice) and "name" not in unsalt(twice)["holder"]
    js_twice = js("obfuscate", document=js("obfuscate", document=js_wrapped[2], fields=["holder.name"]),
                  fields=["capital", "scope"])
    assert js_twice == twice and verify_signature(js_twice)


def test_emptied_parent_objects_are_removed_where_js_breaks_the_document(js) -> None:
    raw = {"issuers": [ISSUER], "secret": {"inner": {"only": "机密"}}, "keep": 1}
    wrapped = wrap_document(raw)
    ours = obfuscate(wrapped, "secret.inner.only")
    theirs = js("obfuscate", document=wrapped, fields=["secret.inner.only"])
    # JS leaves {"secret": {"inner": {}}}: the new {} leaf changes the digest, so JS's own output fails.
    assert theirs["data"]["secret"] == {"inner": {}}
    assert ours["privacy"] == theirs["privacy"]
    assert "secret" not in ours["data"]
    assert js("verifySignature", documents=[theirs, ours]) == [False, True]
    assert verify_signature(ours) and not verify_signature(theirs)


def test_obfuscating_an_originally_empty_object_keeps_validity(js) -> None:
    wrapped = wrap_document({"issuers": [ISSUER], "meta": {"empty": {}}})
    ours = obfuscate(wrapped, ["meta.empty"])
    assert "meta" not in ours["data"]
    assert verify_signature(ours) and js("verifySignature", documents=[ours]) == [True]


def test_obfuscating_array_elements_is_refused() -> None:
    wrapped = wrap_document(licence(4))
    with pytest.raises(ObfuscationError, match="array element 'scope.1'"):
        obfuscate(wrapped, ["scope.1"])
    with pytest.raises(ObfuscationError, match=r"array element 'shareholders\[0\]'"):
        obfuscate(wrapped, "shareholders[0]")
    small = wrap_document({"issuers": [ISSUER], "items": [{"only": 1}, {"only": 2}]})
    with pytest.raises(ObfuscationError, match="empty object inside an array"):
        obfuscate(small, "items.0.only")


# --------------------------------------------------------------------------- (d) tampering
def _tampered(wrapped: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def variant(change) -> dict[str, Any]:
        doc = copy.deepcopy(wrapped)
        change(doc)
        return doc

    def flip(h: str) -> str:
        return ("0" if h[0] != "0" else "1") + h[1:]

    salt, _, value = wrapped["data"]["licenceType"].partition(":string:")
    return {
        "value": variant(lambda d: d["data"].__setitem__("licenceType", f"{salt}:string:{value}X")),
        "nested value": variant(lambda d: d["data"]["holder"]["address"].__setitem__("city", d["data"]["id"])),
        "added field": variant(lambda d: d["data"].__setitem__("new", wrapped["data"]["id"])),
        "removed field": variant(lambda d: d["data"].pop("active")),
        "proof element": variant(lambda d: d["signature"]["proof"].__setitem__(0, flip(d["signature"]["proof"][0]))),
        "dropped proof element": variant(lambda d: d["signature"]["proof"].pop()),
        "root": variant(lambda d: d["signature"].__setitem__("merkleRoot", flip(d["signature"]["merkleRoot"]))),
        "target hash": variant(lambda d: d["signature"].__setitem__("targetHash", flip(d["signature"]["targetHash"]))),
        "uppercase target hash": variant(
            lambda d: d["signature"].__setitem__("targetHash", d["signature"]["targetHash"].upper())),
        "fake obfuscated hash": variant(lambda d: d.__setitem__("privacy", {"obfuscatedData": ["ab" * 32]})),
    }


def test_tampering_fails_in_both_implementations(js) -> None:
    batch = wrap_documents([licence(i) for i in range(3)])
    variants = _tampered(batch[1])
    obfuscated = obfuscate(batch[0], ["holder.uscc"])
    variants["dropped obfuscated hash"] = {**obfuscated, "privacy": {"obfuscatedData": []}}
    assert verify_signature(batch[1]) and verify_signature(obfuscated)
    assert {name: verify_signature(doc) for name, doc in variants.items()} == dict.fromkeys(variants, False)
    js_verdicts = js("verifySignature", documents=list(variants.values()))
    assert dict(zip(variants, js_verdicts)) == dict.fromkeys(variants, False)


# --------------------------------------------------------------------------- (e) malformed input
def test_malformed_documents_raise_named_errors() -> None:
    good = wrap_documents([licence(0), licence(1)])[0]
    no_signature = {k: v for k, v in good.items() if k != "signature"}
    with pytest.raises(MissingSignatureError, match="no 'signature'"):
        verify_signature(no_signature)
    cases = {
        "signature.targetHash": {"targetHash": "0x" + good["signature"]["targetHash"][2:]},
        "signature.merkleRoot": {"merkleRoot": good["signature"]["merkleRoot"][:-2]},
        r"signature.proof\[0\]": {"proof": ["zz" * 32]},
    }
    for where, change in cases.items():
        with pytest.raises(InvalidHexError, match=f"{where} must be 64 hex characters"):
            verify_signature({**good, "signature": {**good["signature"], **change}})
    with pytest.raises(InvalidHexError, match=r"privacy.obfuscatedData\[0\]"):
        verify_signature({**good, "privacy": {"obfuscatedData": ["nothex"]}})
    with pytest.raises(MalformedDocumentError, match="no 'data' object"):
        verify_signature({"signature": good["signature"]})
    with pytest.raises(MalformedDocumentError, match="JSON object"):
        verify_signature([good])  # type: ignore[arg-type]
    with pytest.raises(MalformedDocumentError, match="type annotation not found"):
        unsalt({"data": {"x": "8f2b8d4e-5a4b-4c1d-9e3f-0a1b2c3d4e5f:date:2024"}})
    for error in (MissingSignatureError, InvalidHexError, MalformedDocumentError, UnknownFieldPathError,
                  ObfuscationError, SchemaValidationError, InvalidKeyError, UnsupportedValueError):
        assert issubclass(error, OpenAttestationError) and issubclass(error, ValueError)


def test_unknown_obfuscation_paths_raise() -> None:
    wrapped = wrap_document(licence(0))
    for path in ("nope", "holder.nope", "holder.name.0", "scope.9", "scope.01", "holder..name"):
        with pytest.raises(UnknownFieldPathError, match="no field"):
            obfuscate(wrapped, [path])
    with pytest.raises(UnknownFieldPathError, match="must be strings"):
        obfuscate(wrapped, [3])  # type: ignore[list-item]


def test_invalid_raw_documents_raise() -> None:
    with pytest.raises(SchemaValidationError, match="'issuers' must be a non-empty array"):
        wrap_document({"name": "no issuers"})
    bad_issuer = {**ISSUER, "documentStore": "0x1234"}
    with pytest.raises(SchemaValidationError, match="documentStore"):
        wrap_document({"issuers": [bad_issuer]})
    no_proof = {k: v for k, v in ISSUER.items() if k != "identityProof"}
    with pytest.raises(SchemaValidationError, match="identityProof") as info:
        wrap_document({"issuers": [no_proof]})
    assert info.value.errors
    with pytest.raises(InvalidKeyError, match=r"must not have \. in them"):
        wrap_document({"issuers": [ISSUER], "a.b": 1})
    with pytest.raises(InvalidKeyError, match="must be strings"):
        wrap_document({"issuers": [ISSUER], 1: "x"})  # type: ignore[dict-item]
    with pytest.raises(UnsupportedValueError, match="bytes"):
        wrap_document({"issuers": [ISSUER], "blob": b"\x00"})
    with pytest.raises(OpenAttestationError, match="at least one document"):
        wrap_documents([])
    assert verify_signature(wrap_document({"anything": ["goes"]}, validate=False))


def test_schema_validation_agrees_with_js(js) -> None:
    plain = {"name": "DID issuer", "identityProof": {"type": "DID", "key": "did:ethr:0xabc#controller"}}
    cert = {"name": "legacy", "certificateStore": "0x9178F546D3FF57D7A6352bD61B80cCCD46199C2d"}
    both = {**ISSUER, "tokenRegistry": ISSUER["documentStore"]}
    docs = {
        "plain issuer": {"issuers": [plain]},
        "certificate store": {"issuers": [cert]},
        "two stores": {"issuers": [both]},
        "bad template": {"issuers": [ISSUER], "$template": {"name": "x", "type": "OTHER"}},
        "bad network": {"issuers": [ISSUER], "network": {"chainId": "1"}},
        "attachment extra key": {"issuers": [ISSUER],
                                 "attachments": [{"filename": "a", "type": "b", "data": "c", "x": "y"}]},
        "fine extras": {"issuers": [ISSUER], "network": {"chain": "ETH", "chainId": "31337"},
                        "recipient": {"name": "企业"}, "documentUrl": "https://x"},
    }
    js_ok = js("wrapOk", documents=list(docs.values()))
    ours_ok = []
    for doc in docs.values():
        try:
            wrap_document(doc)
            ours_ok.append(True)
        except SchemaValidationError:
            ours_ok.append(False)
    assert dict(zip(docs, ours_ok)) == dict(zip(docs, js_ok))


# --------------------------------------------------------------------------- (f) verify and unsalt in one walk
def _separately(doc: Any) -> tuple[Any, Any]:
    """What verify_signature, then unsalt of an intact document, give (or the error each raises)."""
    try:
        intact = verify_signature(doc)
    except OpenAttestationError as exc:
        return "raises", (type(exc), str(exc))
    if not intact:
        return False, None
    try:
        return True, unsalt(doc)
    except OpenAttestationError:
        return True, None  # the one-walk form leaves the error to unsalt


def _together(doc: Any) -> tuple[Any, Any]:
    try:
        return verify_signature_and_unsalt(doc)
    except OpenAttestationError as exc:
        return "raises", (type(exc), str(exc))


def test_verify_and_unsalt_in_one_walk_agrees_with_the_two_steps() -> None:
    """A verifier hashes and unsalts the fields in one walk: same verdict, same data, same errors,
    for every value kind, obfuscated fields, tampering and malformed documents."""
    batch = wrap_documents([licence(i) for i in range(3)])
    salt = "8f2b8d4e-5a4b-4c1d-9e3f-0a1b2c3d4e5f"
    odd_values = {"undefined": f"{salt}:undefined:", "padded number": f"{salt}:number:  42 ", "big": f"{salt}:number:"
                  + "9" * 16, "hex number": f"{salt}:number:0x1f", "UPPER salt": f"{salt.upper()}:string:X  ",
                  "not salted": "plain", "list": [f"{salt}:undefined:", f"{salt}:boolean:true", f"{salt}:null:null"]}
    odd = wrap_document({**licence(9), "odd": odd_values}, validate=False)  # re-salted: the values are salted twice
    odd["data"]["odd"] = odd_values  # the raw values themselves, re-signed below
    target = digest(odd)
    odd_signed = {**odd, "signature": {**odd["signature"], "targetHash": target, "merkleRoot": target, "proof": []}}
    bad_annotation = {**odd_signed, "data": {**odd_signed["data"], "odd": f"{salt}:date:2024"}}
    bad_target = digest(bad_annotation)
    bad_annotation["signature"] = {**odd_signed["signature"], "targetHash": bad_target, "merkleRoot": bad_target}
    dotted = copy.deepcopy(batch[0])
    dotted["data"]["a.b"] = dotted["data"]["id"]
    docs = {"plain": batch[1], "obfuscated": obfuscate(batch[0], ["holder.uscc", "scope"]), "odd values": odd_signed,
            "unsalt refuses": bad_annotation, "dotted key": dotted, **_tampered(batch[2]),
            "no data": {"signature": batch[0]["signature"]}, "bad proof": {**batch[0], "signature": {
                **batch[0]["signature"], "proof": ["zz" * 32]}}, "not a dict": [batch[0]]}
    together = {name: _together(doc) for name, doc in docs.items()}
    assert together == {name: _separately(doc) for name, doc in docs.items()}
    assert together["plain"][0] is True and together["obfuscated"][0] is True and together["odd values"][0] is True
    assert together["odd values"][1]["odd"] == unsalt(odd_signed)["odd"]
    assert together["unsalt refuses"] == (True, None)
    assert together["dotted key"][0] == "raises" and together["target hash"] == (False, None)
