"""Synthetix v3 ABI fragments: selectors as deployed, and the devnet contracts expose the same ones."""

from __future__ import annotations

from defi_perps.rpc.abi import contract_abi

# selectors of the deployed router, as a public generated PerpsMarketProxy ABI lists them (SOURCES.md)
DEPLOYED = {"getMarkets": "ec2c9016", "getMarketSummary": "41c2e8bd", "getOpenPosition": "22a73967",
            "getRequiredMargins": "3c0f0753", "getAvailableMargin": "0a7dad2d", "liquidationCapacity": "bb36f896",
            "getAccountTokenAddress": "a148bf10", "canLiquidate": "9b922bba", "flaggedAccounts": "a788d01f",
            "metadata": "e3bc36bf", "getFundingParameters": "1b68d8fa", "getLiquidationParameters": "f94363a6",
            "getCollateralAmount": "5dbd5c9b", "debt": "cafdefbc", "totalCollateralValue": "b568ae42"}


def test_selectors_match_the_deployed_router() -> None:
    pa = contract_abi("synthetix_v3", "PerpsMarketProxy")
    assert {n: pa[n].selector.hex() for n in DEPLOYED} == DEPLOYED
    nft = contract_abi("synthetix_v3", "AccountNft")
    assert nft["totalSupply"].selector.hex() == "18160ddd" and nft["tokenByIndex"].selector.hex() == "4f6ccce7"


def test_devnet_contracts_expose_every_called_selector() -> None:
    from eth_utils import function_signature_to_4byte_selector as sel

    from defi_perps.devnet.artifacts import artifact

    def selectors(name: str) -> set[str]:
        return {sel(f"{e['name']}({','.join(_t(i) for i in e['inputs'])})").hex()
                for e in artifact(name)["abi"] if e.get("type") == "function"}

    def _t(p: dict) -> str:  # type: ignore[type-arg]
        if p["type"].startswith("tuple"):
            return "(" + ",".join(_t(c) for c in p["components"]) + ")" + p["type"][5:]
        return str(p["type"])

    for abi_name, contract in (("PerpsMarketProxy", "DevPerpsMarketProxy"), ("AccountNft", "DevPerpsAccountNft")):
        called = {f.selector.hex() for k, f in contract_abi("synthetix_v3", abi_name)._fns.items() if "/" not in k}
        assert called <= selectors(contract), abi_name
