"""Keccak-256 of many messages per call (gateway/documents/_keccak.c): the compiled module is built,
and every width it hashes at gives safe-pysha3's digest for every length, including the block edges."""

from __future__ import annotations

import random

import pytest
from sha3 import keccak_256 as reference

from gateway.documents import keccak

native = keccak._native  # None where the module is not built: test_the_compiled_module_is_built fails then

# 136 bytes is one block of Keccak-256: the lengths around each block edge take another pad path.
EDGES = (0, 1, 7, 8, 9, 63, 64, 65, 127, 128, 134, 135, 136, 137, 200, 271, 272, 273, 407, 408, 409, 1000)
WIDTHS = [pytest.param(w, id=f"{w}-lanes", marks=pytest.mark.skipif(
    w > keccak.LANES, reason=f"this CPU hashes {keccak.LANES} messages at a time, not {w}")) for w in (1, 4, 8)]


def messages(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.choice(EDGES)) for _ in range(count)]


def test_the_compiled_module_is_built() -> None:
    """`make setup` builds it; without it every batch wrap silently hashes one message per call."""
    assert native is not None, "gateway.documents._keccak is not built: run make setup"
    assert keccak.LANES == native.best_lanes() in (1, 4, 8)


def test_known_digests() -> None:
    empty = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"  # Ethereum's keccak256("")
    abc = "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    assert keccak.keccak256_many_hex([b"", b"abc"]) == [empty, abc]
    assert keccak.keccak256_many([b"abc"]) == [bytes.fromhex(abc)]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("count", [1, 3, 8, 9, 63, 64, 65, 1001])
def test_every_width_gives_the_reference_digest(width: int, count: int) -> None:
    """Counts that are not a multiple of the width leave lanes idle at the end; from 64 messages the
    GIL is released; lengths differ from lane to lane, so lanes finish at different blocks."""
    items = messages(count, seed=count * 31 + width)
    want = [reference(m).digest() for m in items]
    assert native.keccak256_many(items, lanes=width) == want
    assert native.keccak256_many(items, lanes=width, hex=True) == [w.hex() for w in want]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_length_up_to_three_blocks(width: int) -> None:
    items = [bytes(range(256))[: n % 256] * (1 + n // 256) for n in range(0, 3 * 136 + 2)]
    assert native.keccak256_many(items, lanes=width) == [reference(m).digest() for m in items]


NATIVE = pytest.mark.skipif(native is None, reason="the compiled module is not built")
# Both implementations: the compiled module's and the one-call-per-message fallback keccak.py uses
# where the module is not built. Each case below is asked of both and must get the same answer.
MANY = [pytest.param(keccak._fallback_many, id="fallback"),
        pytest.param(getattr(native, "keccak256_many", None), id="compiled", marks=NATIVE)]
PARENTS = [pytest.param(keccak._fallback_parents, id="fallback"),
           pytest.param(getattr(native, "merkle_parents", None), id="compiled", marks=NATIVE)]


@pytest.mark.parametrize("many", MANY)
def test_str_items_are_hashed_as_utf8(many) -> None:
    texts = ['{"holderName":"示例企业00000001有限公司"}', "", "ascii only", "é" * 200, "😀\U0010ffff" * 50]
    assert many(texts) == [reference(t.encode()).digest() for t in texts]


@pytest.mark.parametrize("many", MANY)
def test_subclasses_of_bytes_and_str_are_hashed_as_their_value(many) -> None:
    class Text(str):
        def encode(self, *args, **kwargs):  # never used: the value is hashed, not what a method makes of it
            return b"other"

    assert many([Text("abc"), type("Raw", (bytes,), {})(b"abc")]) == [reference(b"abc").digest()] * 2


@pytest.mark.parametrize("many", MANY)
def test_long_messages(many) -> None:
    items = [bytes([n % 251]) * n for n in (5_000, 136 * 40, 136 * 40 + 135, 1 << 20)]
    assert many(items) == [reference(m).digest() for m in items]


@pytest.mark.parametrize("many", MANY)
def test_empty_list(many) -> None:
    assert many([]) == []


@pytest.mark.parametrize("many", MANY)
def test_bad_items_are_refused_with_their_position(many) -> None:
    with pytest.raises(TypeError, match="^keccak256_many: item 1 must be bytes or str, got int$"):
        many([b"a", 5])
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate has no UTF-8, as str.encode() says
        many(["ok", "\ud800"])
    for not_a_list in (5, "abc", b"abc", bytearray(b"abc")):
        with pytest.raises(TypeError, match="^keccak256_many: items must be a sequence of bytes or str$"):
            many(not_a_list)


@pytest.mark.parametrize("many", MANY)
def test_any_sequence_of_items(many) -> None:
    assert many((b"a", "b")) == many([b"a", b"b"]) == [reference(b"a").digest(), reference(b"b").digest()]
    assert many(("a",), hex=True) == [reference(b"a").hexdigest()]


@NATIVE
def test_bad_lane_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="lanes must be 0 .best., 1, 4 or 8, got 3"):
        native.keccak256_many([b""], lanes=3)
    if keccak.LANES < 8:
        with pytest.raises(ValueError, match="cannot hash 8 messages at a time .no AVX-512F."):
            native.keccak256_many([b""], lanes=8)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("size", [1, 2, 3, 16, 17, 1001])
def test_merkle_parents_sort_each_pair_and_carry_the_odd_node(width: int, size: int) -> None:
    rng = random.Random(size)
    layer = [rng.randbytes(32) for _ in range(size)]
    want = [reference(min(a, b) + max(a, b)).digest() for a, b in zip(layer[0::2], layer[1::2])]
    got = native.merkle_parents(layer, lanes=width)
    assert got[: size // 2] == want
    assert len(got) == (size + 1) // 2
    if size % 2:
        assert got[-1] is layer[-1]


@pytest.mark.parametrize("parents", PARENTS)
def test_merkle_parents_refuse_what_is_not_a_layer_of_32_byte_nodes(parents) -> None:
    with pytest.raises(ValueError, match="^merkle_parents: node 2 must be 32 bytes$"):
        parents([b"\0" * 32, b"\1" * 32, b"\2" * 31])
    with pytest.raises(ValueError, match="^merkle_parents: node 0 must be 32 bytes$"):
        parents(["0" * 32])
    for not_a_list in (b"\0" * 64, "ab", 7):
        with pytest.raises(TypeError, match="^merkle_parents: layer must be a sequence of 32-byte bytes$"):
            parents(not_a_list)
    assert parents([]) == []
    assert parents((b"\0" * 32,)) == [b"\0" * 32]


def test_the_fallback_gives_the_same_results() -> None:
    """Where the module is not built, the same functions hash one message per call."""
    items = messages(100, seed=5) + ["示例", ""]
    assert keccak._fallback_many(items) == keccak.keccak256_many(items)
    assert keccak._fallback_many(items, hex=True) == keccak.keccak256_many_hex(items)
    layer = [bytes([i]) * 32 for i in range(7)]
    assert keccak._fallback_parents(layer) == keccak.merkle_parents(layer)
    with pytest.raises(TypeError, match="must be bytes or str, got int"):
        keccak._fallback_many([1])
