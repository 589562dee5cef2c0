"""Column-wise wrapping: documents of one shape are salted and hashed a field at a time across the batch.

Whichever way a batch is wrapped (column-wise, or document by document where the shapes differ or a
value needs the walk's special cases), the documents must be ones the JS library accepts, unsalt to
their input, keep their input order and share one Merkle root. Each test pins the path it means to
exercise by making the other one fail, so that a broken path cannot hide behind the other.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.documents import openattestation as oa
from gateway.documents.openattestation import (
    COLUMNS_MIN_DOCUMENTS,
    InvalidKeyError,
    unsalt,
    verify_signature,
    wrap_documents,
)
from tests.documents.test_openattestation import ISSUER

N = COLUMNS_MIN_DOCUMENTS + 4


def permit(n: int) -> dict[str, Any]:
    """One shape, every leaf kind: strings that need JSON escapes, non-ASCII and astral characters,
    safe and unsafe integers, floats, -0.0, booleans, null, a column mixing kinds, and Object.keys
    ordering (numeric keys first)."""
    return {
        "issuers": [dict(ISSUER)],
        "id": f"FBP-{n:06d}",
        "licenceType": "食品经营许可证",
        "holder": {"name": f"示例餐饮{n}有限公司", "address": f"科技园\t南区 \"{n}号\"\\路\n\u2028 😀"},
        "scope": ["热食类食品制售", f"冷食 {n}", "预包装食品销售"],
        "capital": 500000 + n,
        "big": 2**53 + 2 * n + 1,
        "ratio": n / 7,
        "zero": -0.0,
        "active": n % 2 == 0,
        "closedOn": None,
        "mixed": [n, str(n), n % 3 == 0, None, n + 0.5][n % 5],
        "10": "ten",
        "2": "two",
    }


def _walk_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(documents):  # pragma: no cover - fails the test if reached
        raise AssertionError("the batch was wrapped document by document, not column-wise")

    monkeypatch.setattr(oa, "_wrap_walk", refuse)


def _columns_refused(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the column-wise path unusable and count the documents the walk wrapped instead."""
    walked: list[int] = []
    walk = oa._wrap_walk

    def counting(documents):
        walked.append(len(documents))
        return walk(documents)

    monkeypatch.setattr(oa, "_wrap_walk", counting)
    return walked


def _stripped(value: Any) -> Any:
    """Salted data without the salts: ``"<type>:<value>"`` at every leaf."""
    if isinstance(value, dict):
        return {k: _stripped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stripped(v) for v in value]
    return value[37:]


def test_one_shape_is_wrapped_column_wise_and_js_accepts_it(js, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = [permit(n) for n in range(N)]
    given = copy.deepcopy(raw)
    _walk_only(monkeypatch)
    wrapped = wrap_documents(raw)
    assert raw == given  # the input is not touched
    assert js("verifySignature", documents=wrapped) == [True] * N
    assert all(verify_signature(w) for w in wrapped)
    assert len({w["signature"]["merkleRoot"] for w in wrapped}) == 1
    assert js.batch([{"op": "getData", "document": w} for w in wrapped]) == [unsalt(w) for w in wrapped]
    for n, w in enumerate(wrapped):
        assert list(w["data"])[:2] == ["2", "10"]  # Object.keys order, as the JS library salts it
        assert unsalt(w)["holder"] == raw[n]["holder"] and unsalt(w)["mixed"] == raw[n]["mixed"]
    salts = [w["data"]["id"][:36] for w in wrapped] + [w["data"]["holder"]["name"][:36] for w in wrapped]
    assert len(set(salts)) == len(salts)  # every leaf its own salt


def test_column_wise_output_equals_the_walk_but_for_the_salts(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = [permit(n) for n in range(N)]
    by_columns = wrap_documents(raw)
    walked = _columns_refused(monkeypatch)
    monkeypatch.setattr(oa, "COLUMNS_MIN_DOCUMENTS", N + 1)
    by_walk = wrap_documents(raw)
    assert walked == [N]
    for a, b in zip(by_columns, by_walk):
        assert list(a) == list(b) == ["version", "data", "signature"]
        assert _stripped(a["data"]) == _stripped(b["data"])
        assert list(a["data"]) == list(b["data"])


@pytest.mark.parametrize("odd_one", [
    pytest.param({"scope": []}, id="empty-array"),
    pytest.param({"holder": {}}, id="empty-object"),
    pytest.param({"scope": ["只有一项"]}, id="shorter-array"),
    pytest.param({"holder": {"address": "地址", "name": "名称"}}, id="other-key-order"),
    pytest.param({"holder": "不是对象"}, id="object-or-string"),
    pytest.param({"holder": {"name": "lone \ud800 surrogate", "address": "x"}}, id="lone-surrogate"),
    pytest.param({"holder": {"name": "\ud83d\ude00 pair", "address": "x"}}, id="surrogate-pair"),
])
def test_ragged_groups_are_wrapped_one_by_one_and_still_verify(js, monkeypatch: pytest.MonkeyPatch,
                                                               odd_one: dict[str, Any]) -> None:
    raw = [permit(n) for n in range(N)]
    raw[5].update(odd_one)
    walked = _columns_refused(monkeypatch)
    wrapped = wrap_documents(raw)
    assert walked == [N]  # the group could not go column-wise
    assert js("verifySignature", documents=wrapped) == [True] * N
    assert {key: unsalt(wrapped[5])[key] for key in odd_one} == odd_one


def test_groups_of_different_shapes_keep_their_input_order(js) -> None:
    permits = [permit(n) for n in range(N)]
    licences = [{"issuers": [dict(ISSUER)], "id": f"LIC-{n}", "licenceType": "营业执照", "capital": n}
                for n in range(N)]
    oddities = [{"issuers": [dict(ISSUER)], "note": "only one like me"}]
    raw = [d for pair in zip(permits, licences) for d in pair] + oddities
    wrapped = wrap_documents(raw, external_schema_id="urn:schema:test")
    assert [unsalt(w)["capital"] for w in wrapped[1:2 * N:2]] == list(range(N))
    assert [unsalt(w)["id"] for w in wrapped[:2 * N]] == [d["id"] for d in raw[:2 * N]]
    assert unsalt(wrapped[-1])["note"] == "only one like me"
    assert {w["schema"] for w in wrapped} == {"urn:schema:test"}
    assert len({w["signature"]["merkleRoot"] for w in wrapped}) == 1
    assert js("verifySignature", documents=wrapped) == [True] * len(raw)


def test_a_dotted_key_is_refused_in_a_column_wise_batch() -> None:
    raw = [permit(n) for n in range(N)]
    for d in raw:
        d["holder"] = {"name": "x", "a.b": "y"}
    with pytest.raises(InvalidKeyError, match="a.b"):
        wrap_documents(raw)


def test_small_batches_are_wrapped_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    walked = _columns_refused(monkeypatch)
    wrapped = wrap_documents([permit(n) for n in range(COLUMNS_MIN_DOCUMENTS - 1)])
    assert walked == [COLUMNS_MIN_DOCUMENTS - 1]
    assert all(verify_signature(w) for w in wrapped)


def test_each_documents_issuer_is_checked_even_when_the_previous_ones_were_the_same() -> None:
    raw = [permit(n) for n in range(N)]
    raw[6]["issuers"][0]["documentStore"] = "0x1234"
    raw[9]["issuers"][0] = {**ISSUER, "identityProof": {"type": "DNS-TXT"}}
    with pytest.raises(oa.SchemaValidationError) as info:
        wrap_documents(raw)
    assert info.value.errors == ["document 6: issuers[0]: 'documentStore' must be a 0x-prefixed 40-hex address"]
    raw[6]["issuers"][0] = dict(ISSUER)
    with pytest.raises(oa.SchemaValidationError) as info:
        wrap_documents(raw)
    assert info.value.errors == ["document 9: issuers[0]: identityProof.location must be a string"]
