// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {CreditPool} from "../src/CreditPool.sol";
import {TestToken} from "../src/TestToken.sol";
import {vm} from "../test/utils/Vm.sol";

/// @title Deploy
/// @notice Deploys CreditPool (and a TestToken when no TOKEN is given) and writes the addresses as JSON.
/// @dev Environment:
///   TOKEN             payment ERC-20; unset or zero: deploy a TestToken (local chains only)
///   PRICE_PER_CREDIT  price of one credit in token base units (default 10000 = 0.01 of a 6-decimal token)
///   OWNER             CreditPool owner (default: the broadcasting account)
///   TREASURY          receiver of withdrawals (default: OWNER)
///   DEPLOY_OUT        JSON output path (default: contracts/deployments/latest.json)
///   DEPLOYER_PRIVATE_KEY  broadcasting key; unset: the CLI wallet (--private-key, --account, ...).
///                     Passing it in the environment keeps it out of the process list.
/// Usage: forge script contracts/script/Deploy.s.sol:Deploy --rpc-url http://127.0.0.1:8545 --broadcast \
///          --private-key $KEY
/// The JSON holds {chainId, deployer, creditPool, token, tokenDeployed}. The deployment block is read from
/// the chain (`CreditPool.deploymentBlock()`): a script's simulated block number is not the mined one.
contract Deploy {
    function run() external returns (CreditPool pool, address token) {
        uint256 deployerKey = vm.envOr("DEPLOYER_PRIVATE_KEY", uint256(0));
        address deployer = deployerKey == 0 ? msg.sender : vm.addr(deployerKey);
        token = vm.envOr("TOKEN", address(0));
        uint256 price = vm.envOr("PRICE_PER_CREDIT", uint256(10_000));
        address owner = vm.envOr("OWNER", deployer);
        address treasury = vm.envOr("TREASURY", owner);
        string memory out = vm.envOr("DEPLOY_OUT", string.concat(vm.projectRoot(), "/contracts/deployments/latest.json"));

        bool deployToken = token == address(0);
        if (deployerKey == 0) vm.startBroadcast();
        else vm.startBroadcast(deployerKey);
        if (deployToken) token = address(new TestToken());
        pool = new CreditPool(IERC20(token), price, owner, treasury);
        vm.stopBroadcast();

        string memory k = "deployment";
        vm.serializeUint(k, "chainId", block.chainid);
        vm.serializeAddress(k, "deployer", deployer);
        vm.serializeAddress(k, "token", token);
        vm.serializeUint(k, "tokenDeployed", deployToken ? 1 : 0);
        string memory json = vm.serializeAddress(k, "creditPool", address(pool));
        vm.writeJson(json, out);
    }
}
