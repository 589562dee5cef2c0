"""chain.errors: decoding revert data into the contract's own error, and finding that data."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ContractCustomError, ContractLogicError

from chain import artifacts
from chain.errors import ContractRevert, RevertDecoder, revert_data
from chain.roles import code_to_bytes32

ACCOUNT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"

EXTRA_ABI = [
    {"type": "error", "name": "Frozen", "inputs": [
        {"name": "holder", "type": "address"}, {"name": "evidence", "type": "bytes32"},
        {"name": "amount", "type": "uint256"}]},
    {"type": "error", "name": "Unnamed", "inputs": [{"name": "", "type": "uint64"}, {"name": "", "type": "bool"}]},
    {"type": "error", "name": "BadPayout", "inputs": [
        {"name": "payout", "type": "tuple", "components": [
            {"name": "to", "type": "address"}, {"name": "cents", "type": "uint256"}]},
        {"name": "ids", "type": "uint256[]"}]},
    {"type": "function", "name": "notAnError", "inputs": [], "outputs": [], "stateMutability": "view"},
]


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


@pytest.fixture(scope="module")
def decoder() -> RevertDecoder:
    return RevertDecoder([*artifacts.all_abis().values(), EXTRA_ABI])


def test_error_string(decoder: RevertDecoder) -> None:
    data = selector("Error(string)") + encode(["string"], ["余额不足 / insufficient"])
    err = decoder.decode(data)
    assert isinstance(err, ContractRevert)
    assert err.error == "Error"
    assert err.args_ == {"message": "余额不足 / insufficient"}
    assert str(err) == "Error(message=余额不足 / insufficient)"


@pytest.mark.parametrize(("code", "shown"), [(0x11, "0x11"), (0x12, "0x12"), (0x32, "0x32"), (0x01, "0x1")])
def test_panic(decoder: RevertDecoder, code: int, shown: str) -> None:
    err = decoder.decode("0x" + (selector("Panic(uint256)") + encode(["uint256"], [code])).hex())
    assert (err.error, err.args_) == ("Panic", {"code": shown})


def test_custom_error_with_address_and_bytes32(decoder: RevertDecoder) -> None:
    evidence = keccak(text="bank return file")
    data = selector("Frozen(address,bytes32,uint256)") + encode(
        ["address", "bytes32", "uint256"], [ACCOUNT.lower(), evidence, 10**20])
    err = decoder.decode(data, tx_hash="0x" + "ab" * 32)
    assert err.error == "Frozen"
    assert err.args_ == {"holder": ACCOUNT, "evidence": evidence, "amount": 10**20}
    assert err.args_["holder"] == to_checksum_address(ACCOUNT)  # checksummed, not lower case
    assert err.tx_hash == "0x" + "ab" * 32
    assert err.to_dict() == {"error": "Frozen",
                             "args": {"holder": ACCOUNT, "evidence": "0x" + evidence.hex(), "amount": 10**20},
                             "tx_hash": "0x" + "ab" * 32}
    assert err.code == "contract_revert"


def test_registry_errors_from_the_committed_abi(decoder: RevertDecoder) -> None:
    market = code_to_bytes32("MARKET")
    err = decoder.decode(selector("UnknownDepartment(bytes32)") + encode(["bytes32"], [market]))
    assert err.error == "UnknownDepartment"
    assert err.args_ == {"code": market}
    assert str(err) == "UnknownDepartment(code=MARKET)"  # a short code is shown as text

    err = decoder.decode(selector("RolesNotHeldByDepartment(bytes32,uint256,uint256)")
                         + encode(["bytes32", "uint256", "uint256"], [market, 16, 1 | 2]))
    assert err.to_dict()["args"] == {"department": "MARKET", "roles": 16, "departmentRoles": 3}

    err = decoder.decode(selector("NotGovernor(address)") + encode(["address"], [ACCOUNT]))
    assert (err.error, err.args_) == ("NotGovernor", {"caller": ACCOUNT})

    # an enum argument is a uint8 in the ABI
    err = decoder.decode(selector("ProposalNotOpen(uint256,uint8)") + encode(["uint256", "uint8"], [7, 2]))
    assert (err.error, err.args_) == ("ProposalNotOpen", {"id": 7, "status": 2})

    err = decoder.decode(selector("BootstrapAlreadySealed()"))
    assert (err.error, err.args_, str(err)) == ("BootstrapAlreadySealed", {}, "BootstrapAlreadySealed()")


def test_unnamed_and_tuple_arguments(decoder: RevertDecoder) -> None:
    err = decoder.decode(selector("Unnamed(uint64,bool)") + encode(["uint64", "bool"], [5, True]))
    assert (err.error, err.args_) == ("Unnamed", {"arg0": 5, "arg1": True})

    err = decoder.decode(selector("BadPayout((address,uint256),uint256[])")
                         + encode(["(address,uint256)", "uint256[]"], [(ACCOUNT, 150), [1, 2]]))
    assert err.error == "BadPayout"
    assert err.args_["ids"] == (1, 2)
    to, cents = err.args_["payout"]
    assert (to.lower(), cents) == (ACCOUNT.lower(), 150)


def test_unknown_selector(decoder: RevertDecoder) -> None:
    data = bytes.fromhex("deadbeef") + encode(["uint256"], [1])
    err = decoder.decode(data)
    assert err.error == "UnknownError"
    assert err.args_ == {"data": "0x" + data.hex()}


def test_malformed_body_of_a_known_error(decoder: RevertDecoder) -> None:
    data = selector("Frozen(address,bytes32,uint256)") + b"\x01\x02"
    err = decoder.decode(data)
    assert err.error == "UnknownError"
    assert err.args_ == {"data": "0x" + data.hex()}


@pytest.mark.parametrize("data", [None, b"", "0x", "", b"\x08\xc3", "not hex"])
def test_empty_or_short_data(decoder: RevertDecoder, data) -> None:
    err = decoder.decode(data)
    assert err.error == "Reverted"
    assert err.args_ == {"reason": "no revert data"}


def test_decoder_without_abis_still_knows_error_and_panic() -> None:
    bare = RevertDecoder([])
    assert bare.decode(selector("Error(string)") + encode(["string"], ["x"])).error == "Error"
    assert bare.decode(selector("NotGovernor(address)") + encode(["address"], [ACCOUNT])).error == "UnknownError"


# ---------------------------------------------------------------- finding the revert data


def custom_error_data() -> bytes:
    # chosen so that the bytes repr needs escapes: quotes, backslash, NUL, high bytes
    return selector("NotGovernor(address)") + encode(["address"], ["0x27225c005c27ff0000000000000000000000005c"])


def test_revert_data_from_eth_tester_message(decoder: RevertDecoder) -> None:
    data = custom_error_data()
    exc = TransactionFailed(f"execution reverted: {data!r}")
    assert revert_data(exc) == data
    err = decoder.decode(revert_data(exc))
    assert err.error == "NotGovernor"
    assert err.args_["caller"] == to_checksum_address("0x27225c005c27ff0000000000000000000000005c")


def test_revert_data_from_eth_tester_double_quoted_repr() -> None:
    # a single quote and no double quote makes repr() use double quotes
    data = selector("NotGovernor(address)") + encode(["address"], ["0x2727000000000000000000000000000000005c5c"])
    assert repr(data).startswith('b"')
    assert revert_data(TransactionFailed(f"execution reverted: {data!r}")) == data


def test_revert_data_from_web3_exception_data() -> None:
    data = custom_error_data()
    assert revert_data(ContractCustomError("0x" + data.hex(), data="0x" + data.hex())) == data
    assert revert_data(ContractLogicError("execution reverted", data="0x" + data.hex())) == data


@pytest.mark.parametrize("exc", [
    TransactionFailed("execution reverted"),
    TransactionFailed("execution reverted: out of gas"),
    TransactionFailed("execution reverted: b'\\x00"),  # truncated literal
    TransactionFailed(),
    ContractLogicError("execution reverted"),
    RuntimeError("boom"),
])
def test_revert_data_absent(exc: BaseException) -> None:
    assert not revert_data(exc)
